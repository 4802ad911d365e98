package wsgateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/internal/jsonshape"
)

// MaxFrame is the largest frame a client may send, except a send frame.
const MaxFrame = 4096

// MaxSendFrame is the largest send frame: the HTTP API's largest body
// (64 KiB, httpapi.MaxBodyBytes) and the frame's envelope. It is also the
// stream's read limit; a bigger frame closes the stream with 1009.
const MaxSendFrame = 64<<10 + 512

// Frame is what a client sends on the stream.
//
//	{"type":"typing","conversation_id":"…","typing":true}
//	{"type":"delivered","conversation_id":"…","seq":42}
//	{"type":"read","conversation_id":"…","seq":42}
//	{"type":"ping","id":"anything"}
//	{"type":"send","id":"s1","conversation_id":"…","message":{"client_id":"…","text":"hi"}}
type Frame struct {
	Type           string `json:"type"`
	ConversationID string `json:"conversation_id,omitempty"`
	Typing         *bool  `json:"typing,omitempty"`
	Seq            int64  `json:"seq,omitempty"`
	ID             string `json:"id,omitempty"`
	// Message is a send frame's message: the body of
	// POST /api/v1/conversations/{id}/messages.
	Message json.RawMessage `json:"message,omitempty"`
	// Send is Message decoded.
	Send *app.SendBody `json:"-"`
}

// DecodeFrame parses and checks one client frame. Errors are safe to send
// back to the client.
func DecodeFrame(b []byte) (Frame, error) {
	var f Frame
	if len(b) > MaxSendFrame {
		return f, fmt.Errorf("a send frame has at most %d bytes", MaxSendFrame)
	}
	if !utf8.Valid(b) {
		return f, errors.New("a frame is UTF-8 JSON")
	}
	if err := jsonshape.Check(b); err != nil {
		return Frame{}, errors.New(parley.ErrorMessage(err))
	}
	if err := decodeStrict(b, &f); err != nil {
		return Frame{}, errors.New("a frame is one JSON object with known fields")
	}
	if f.Type != "send" && len(b) > MaxFrame {
		return Frame{}, fmt.Errorf("a frame has at most %d bytes (a send frame %d)", MaxFrame, MaxSendFrame)
	}
	if len(f.ConversationID) > 64 || len(f.ID) > 64 {
		return Frame{}, errors.New("an id has at most 64 bytes")
	}
	if f.Type != "send" && f.Message != nil {
		return Frame{}, errors.New("only a send frame has a message")
	}
	switch f.Type {
	case "typing":
		if f.ConversationID == "" || f.Typing == nil {
			return Frame{}, errors.New("typing needs conversation_id and typing")
		}
	case "delivered", "read":
		if f.ConversationID == "" || f.Seq <= 0 {
			return Frame{}, fmt.Errorf("%s needs conversation_id and a positive seq", f.Type)
		}
	case "send":
		if f.ConversationID == "" || f.ID == "" || len(f.Message) == 0 || f.Typing != nil || f.Seq != 0 {
			return Frame{}, errors.New("send needs id, conversation_id and message (and nothing else)")
		}
		var m app.SendBody
		if err := decodeStrict(f.Message, &m); err != nil {
			return Frame{}, errors.New("message is one JSON object with the fields of a send's body")
		}
		f.Send, f.Message = &m, nil // a queued send keeps one copy
	case "ping":
	default:
		return Frame{}, errors.New("type is typing, delivered, read, send or ping")
	}
	return f, nil
}

// decodeStrict decodes exactly one JSON object with no unknown fields.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one value")
	}
	if b = bytes.TrimSpace(b); len(b) == 0 || b[0] != '{' {
		return errors.New("not an object")
	}
	return nil
}

// FrameID is the id of a frame DecodeFrame refused, when one can be read
// from it, so that the error answer names the frame it answers.
func FrameID(b []byte) string {
	var f struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(b, &f) != nil || len(f.ID) > 64 || !utf8.ValidString(f.ID) {
		return ""
	}
	return f.ID
}
