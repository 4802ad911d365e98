// Package jsonshape checks the shape of a JSON object sent by a client
// before encoding/json decodes it: the HTTP API's bodies (httpapi) and
// the stream's frames (wsgateway) go through the same check.
package jsonshape

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/parleyhq/parley"
)

// MaxDepth caps how deeply a client's JSON may nest objects and arrays.
const MaxDepth = 32

// Check refuses what encoding/json would take without a word: a key
// given twice in one object (the last one would win, so two readers of the
// same body could disagree; keys match without regard to case, as
// encoding/json matches fields), nesting deeper than MaxDepth, and a
// body that is not an object (null would decode as an empty one).
// Syntax errors are left to the decoder, which words them.
func Check(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	type level struct {
		object bool
		keys   map[string]bool
		key    bool // the next string token of an object is a key
	}
	var stack []*level
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // io.EOF, or a syntax error the decoder reports
		}
		top := (*level)(nil)
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		} else if d, ok := tok.(json.Delim); !ok || d != '{' {
			// encoding/json would decode null into an untouched struct.
			return parley.Errorf(parley.EMalformed, "the body is not a JSON object")
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				if len(stack) >= MaxDepth {
					return parley.Errorf(parley.EMalformed, "the body nests deeper than %d levels", MaxDepth)
				}
				if top != nil && top.object {
					top.key = true
				}
				stack = append(stack, &level{object: v == '{', key: v == '{'})
			default:
				stack = stack[:len(stack)-1]
				if len(stack) == 0 {
					return nil // trailing data is the decoder's to refuse
				}
			}
			continue
		case string:
			if top != nil && top.object && top.key {
				k := strings.ToLower(strings.ToUpper(v))
				if top.keys == nil {
					top.keys = map[string]bool{}
				}
				if top.keys[k] {
					return &parley.Error{Code: parley.EMalformed, Field: v, Message: "key " + strconv.Quote(v) + " appears more than once"}
				}
				top.keys[k] = true
				top.key = false
				continue
			}
		}
		if top != nil && top.object {
			top.key = true
		}
	}
}
