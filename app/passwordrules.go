package app

import (
	_ "embed"
	"strings"
	"unicode/utf8"

	"github.com/parleyhq/parley"
)

// Password length, in characters.
const (
	minPasswordLen = 8
	maxPasswordLen = 128
)

// commonPasswordList holds the 5,000 most common passwords of 8 characters
// or more, lower-case, one a line, most common first.
//
// Provenance: the ranked "passwords" dictionary of the npm package
// @zxcvbn-ts/language-common 4.1.3 (src/passwords.json, 49,233 entries
// ranked by frequency in leaked password sets, from Dropbox's zxcvbn),
// licence MIT (Copyright (c) 2012-2016 Dan Wheeler and Dropbox, Inc.;
// Copyright (c) 2021 @zxcvbn-ts). Made with:
//
//	npm pack @zxcvbn-ts/language-common@4.1.3 && tar xzf zxcvbn-ts-language-common-4.1.3.tgz
//	python3 -c '
//	import json
//	out = []
//	for p in json.load(open("package/src/passwords.json")):
//	    p = p.lower()
//	    if 8 <= len(p) <= 128 and p not in out and len(out) < 5000:
//	        out.append(p)
//	print("\n".join(out))' > app/commonpasswords.txt
//
// Shorter passwords are refused by length before the list is consulted.
//
//go:embed commonpasswords.txt
var commonPasswordList string

// commonPasswords is commonPasswordList as a set.
var commonPasswords = func() map[string]struct{} {
	m := make(map[string]struct{}, 5000)
	for _, p := range strings.Split(commonPasswordList, "\n") {
		if p != "" {
			m[p] = struct{}{}
		}
	}
	return m
}()

// checkPasswordRules enforces the password rules: 8 to 128 characters,
// not one of the most common passwords (weak_password).
func checkPasswordRules(pw string) error {
	if !utf8.ValidString(pw) {
		return parley.Invalid("password", "a password is UTF-8 text")
	}
	n := utf8.RuneCountInString(pw)
	if n < minPasswordLen {
		return parley.Invalid("password", "a password has at least %d characters", minPasswordLen)
	}
	if n > maxPasswordLen {
		return parley.Invalid("password", "a password has at most %d characters", maxPasswordLen)
	}
	if _, common := commonPasswords[strings.ToLower(pw)]; common {
		return &parley.Error{Code: parley.EWeakPassword, Field: "password",
			Message: "this password is one of the most common ones and is guessed first; choose another (a few unrelated words work well)"}
	}
	return nil
}
