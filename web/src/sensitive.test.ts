import { describe, expect, it } from "vitest";
import { ApiError } from "./api";
import { isSensitive, sensitiveKinds, sensitiveQuestion } from "./sensitive";

const detail = (kinds: string) => `this message contains what looks like a ${kinds}; send it again with confirm_sensitive if you mean to share it`;

describe("sensitive data", () => {
  it("detects the code", () => {
    expect(isSensitive(new ApiError(422, "sensitive_data", detail("card number"), "text", ["card_number"]))).toBe(true);
    expect(isSensitive(new ApiError(422, "invalid", "a message needs text", "text"))).toBe(false);
    expect(isSensitive(new Error("offline"))).toBe(false);
    expect(isSensitive(null)).toBe(false);
    expect(sensitiveQuestion(new ApiError(429, "rate_limited", "slow down"))).toBe("");
  });
  it("names the kinds the server lists", () => {
    expect(sensitiveKinds(["card_number"])).toBe("a card number");
    expect(sensitiveKinds(["iban"])).toBe("an IBAN");
    expect(sensitiveKinds(["card_number", "iban", "password"])).toBe("a card number, an IBAN and a password");
    expect(sensitiveKinds(["national_id"])).toBe("a national ID number");
    expect(sensitiveKinds(["phone"])).toBe("a phone number");
    expect(sensitiveKinds(["card_number", "phone"])).toBe("a card number and a phone number");
    expect(sensitiveKinds(["api_key"])).toBe("an api key");
    // The list wins over the wording.
    expect(sensitiveKinds(["secret"], detail("card number"))).toBe("a secret");
  });
  it("reads the detail of a server without kinds", () => {
    expect(sensitiveKinds([], detail("card number"))).toBe("a card number");
    expect(sensitiveKinds(undefined, detail("card number, iban, password"))).toBe("a card number, an IBAN and a password");
    expect(sensitiveKinds([], detail("national id"))).toBe("a national ID number");
    expect(sensitiveKinds([], "something else")).toBe("sensitive data");
  });
  it("builds the confirmation", () => {
    expect(sensitiveQuestion(new ApiError(422, "sensitive_data", detail("card number"), "text", ["card_number"])))
      .toBe("This message looks like it contains a card number. Anyone in this conversation will see it. Send anyway?");
    expect(sensitiveQuestion(new ApiError(422, "sensitive_data", detail("secret"))))
      .toBe("This message looks like it contains a secret. Anyone in this conversation will see it. Send anyway?");
    expect(sensitiveQuestion(new ApiError(422, "sensitive_data", "unexpected wording", "text", ["iban", "phone"])))
      .toBe("This message looks like it contains an IBAN and a phone number. Anyone in this conversation will see it. Send anyway?");
  });
});
