import { describe, expect, it } from "vitest";
import { ApiError } from "./api";
import { isSensitive, sensitiveKinds, sensitiveQuestion } from "./sensitive";

const detail = (kinds: string) => `this message contains what looks like a ${kinds}; send it again with confirm_sensitive if you mean to share it`;

describe("sensitive data", () => {
  it("detects the code", () => {
    expect(isSensitive(new ApiError(422, "sensitive_data", detail("card number"), "text"))).toBe(true);
    expect(isSensitive(new ApiError(422, "invalid", "a message needs text", "text"))).toBe(false);
    expect(isSensitive(new Error("offline"))).toBe(false);
    expect(isSensitive(null)).toBe(false);
    expect(sensitiveQuestion(new ApiError(429, "rate_limited", "slow down"))).toBe("");
  });
  it("names the kinds", () => {
    expect(sensitiveKinds(detail("card number"))).toBe("a card number");
    expect(sensitiveKinds(detail("iban"))).toBe("an IBAN");
    expect(sensitiveKinds(detail("card number, iban, password"))).toBe("a card number, an IBAN and a password");
    expect(sensitiveKinds(detail("national id"))).toBe("a national ID number");
    expect(sensitiveKinds(detail("phone"))).toBe("a phone number");
    expect(sensitiveKinds(detail("card number, phone"))).toBe("a card number and a phone number");
    expect(sensitiveKinds(detail("api key"))).toBe("an api key");
    expect(sensitiveKinds("something else")).toBe("sensitive data");
  });
  it("builds the confirmation", () => {
    expect(sensitiveQuestion(new ApiError(422, "sensitive_data", detail("card number"), "text")))
      .toBe("This message looks like it contains a card number. Anyone in this conversation will see it. Send anyway?");
    expect(sensitiveQuestion(new ApiError(422, "sensitive_data", detail("secret"))))
      .toBe("This message looks like it contains a secret. Anyone in this conversation will see it. Send anyway?");
  });
});
