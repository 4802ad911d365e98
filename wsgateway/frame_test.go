package wsgateway

import (
	"strings"
	"testing"
)

func TestDecodeFrame(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{`{"type":"ping"}`, true},
		{`{"type":"ping","id":"7"}`, true},
		{`{"type":"typing","conversation_id":"c","typing":true}`, true},
		{`{"type":"typing","conversation_id":"c"}`, false},
		{`{"type":"read","conversation_id":"c","seq":3}`, true},
		{`{"type":"delivered","conversation_id":"c","seq":0}`, false},
		{`{"type":"read","seq":3}`, false},
		{`{"type":"shout"}`, false},
		{`{"type":"ping","extra":1}`, false},
		{`{"type":"ping"}{"type":"ping"}`, false},
		{`[1,2]`, false},
		{``, false},
		{"{\"type\":\"ping\",\"id\":\"\xff\"}", false},
		{`{"type":"ping","id":"` + strings.Repeat("x", 65) + `"}`, false},
		{`{"type":"ping","id":"` + strings.Repeat("x", MaxFrame) + `"}`, false},
		{`{"type":"send","id":"s","conversation_id":"c","message":{"client_id":"k","text":"hi"}}`, true},
		{`{"type":"send","id":"s","conversation_id":"c","message":{"text":"` + strings.Repeat("x", 60000) + `"}}`, true},
		{`{"type":"send","id":"s","conversation_id":"c","message":{"text":"` + strings.Repeat("x", MaxSendFrame) + `"}}`, false},
		{`{"type":"send","conversation_id":"c","message":{"text":"no id"}}`, false},
		{`{"type":"send","id":"s","message":{"text":"nowhere"}}`, false},
		{`{"type":"send","id":"s","conversation_id":"c"}`, false},
		{`{"type":"send","id":"s","conversation_id":"c","message":null}`, false},
		{`{"type":"send","id":"s","conversation_id":"c","message":"hi"}`, false},
		{`{"type":"send","id":"s","conversation_id":"c","message":{"text":"x","colour":"red"}}`, false},
		{`{"type":"send","id":"s","conversation_id":"c","seq":3,"message":{"text":"x"}}`, false},
		{`{"type":"ping","message":{"text":"x"}}`, false},
		{`{"type":"send","id":"s","conversation_id":"c","message":{"text":"a","TEXT":"b"}}`, false},
		{`{"type":"ping","type":"ping"}`, false},
	}
	for _, tt := range tests {
		_, err := DecodeFrame([]byte(tt.in))
		if (err == nil) != tt.ok {
			t.Errorf("DecodeFrame(%.40q): err = %v, want ok=%v", tt.in, err, tt.ok)
		}
	}
}

func TestFrameID(t *testing.T) {
	for in, want := range map[string]string{
		`{"type":"send","id":"s9","message":{"colour":1}}`: "s9",
		`{"id":7}`: "",
		`{"id":"` + strings.Repeat("x", 65) + `"}`: "",
		`not json`: "",
	} {
		if got := FrameID([]byte(in)); got != want {
			t.Errorf("FrameID(%.30q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzDecodeFrame checks that no input panics the decoder and that whatever
// it accepts is a valid frame.
func FuzzDecodeFrame(f *testing.F) {
	for _, s := range []string{
		`{"type":"ping","id":"1"}`,
		`{"type":"typing","conversation_id":"abc","typing":false}`,
		`{"type":"read","conversation_id":"abc","seq":9223372036854775807}`,
		`{"type":"delivered","conversation_id":"abc","seq":-1}`,
		`{"type":"ping"} `,
		`{"type":"typing","conversation_id":"\u0000","typing":true}`,
		`{"type":"send","id":"s","conversation_id":"c","message":{"text":"hi","attachments":["m"]}}`,
		`{`, `null`, `"ping"`, `{"type":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := DecodeFrame(b)
		if err != nil {
			return
		}
		switch fr.Type {
		case "ping":
		case "typing":
			if fr.ConversationID == "" || fr.Typing == nil {
				t.Fatalf("accepted typing without fields: %q", b)
			}
		case "read", "delivered":
			if fr.ConversationID == "" || fr.Seq <= 0 {
				t.Fatalf("accepted marker without fields: %q", b)
			}
		case "send":
			if fr.ConversationID == "" || fr.ID == "" || fr.Send == nil {
				t.Fatalf("accepted send without fields: %q", b)
			}
			if len(b) > MaxSendFrame {
				t.Fatalf("accepted a send of %d bytes", len(b))
			}
			return
		default:
			t.Fatalf("accepted type %q", fr.Type)
		}
		if len(b) > MaxFrame {
			t.Fatalf("accepted %d bytes", len(b))
		}
	})
}
