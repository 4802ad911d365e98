package wsgateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// MaxFrame is the largest frame a client may send.
const MaxFrame = 4096

// Frame is what a client sends on the stream.
//
//	{"type":"typing","conversation_id":"…","typing":true}
//	{"type":"delivered","conversation_id":"…","seq":42}
//	{"type":"read","conversation_id":"…","seq":42}
//	{"type":"ping","id":"anything"}
type Frame struct {
	Type           string `json:"type"`
	ConversationID string `json:"conversation_id,omitempty"`
	Typing         *bool  `json:"typing,omitempty"`
	Seq            int64  `json:"seq,omitempty"`
	ID             string `json:"id,omitempty"`
}

// DecodeFrame parses and checks one client frame. Errors are safe to send
// back to the client.
func DecodeFrame(b []byte) (Frame, error) {
	var f Frame
	if len(b) > MaxFrame {
		return f, fmt.Errorf("a frame has at most %d bytes", MaxFrame)
	}
	if !utf8.Valid(b) {
		return f, errors.New("a frame is UTF-8 JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return Frame{}, errors.New("a frame is one JSON object with known fields")
	}
	if dec.More() {
		return Frame{}, errors.New("a frame holds one JSON object")
	}
	if len(f.ConversationID) > 64 || len(f.ID) > 64 {
		return Frame{}, errors.New("an id has at most 64 bytes")
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
	case "ping":
	default:
		return Frame{}, errors.New("type is typing, delivered, read or ping")
	}
	return f, nil
}
