package app

import "github.com/parleyhq/parley"

// SendBody is what a client sends to send a message: the JSON body of
// POST /api/v1/conversations/{id}/messages, and the "message" of the
// stream's send frame (wsgateway), so that both take the same fields.
type SendBody struct {
	ClientID    string   `json:"client_id"`
	Kind        string   `json:"kind"`
	Text        string   `json:"text"`
	ReplyTo     string   `json:"reply_to"`
	Attachments []string `json:"attachments"`
	StickerID   string   `json:"sticker_id"`
	StructuredBody
}

// Input is the SendInput the body asks for.
func (b SendBody) Input() SendInput {
	return b.Apply(SendInput{ClientID: b.ClientID, Kind: parley.MessageKind(b.Kind), Text: b.Text, ReplyTo: b.ReplyTo,
		Attachments: b.Attachments, StickerID: b.StickerID})
}

// StructuredBody is the structured part of a send body (a person's or a
// business's).
type StructuredBody struct {
	QuickReplies []QuickReply `json:"quick_replies"`
	Buttons      []Button     `json:"buttons"`
	Cards        []Card       `json:"cards"`
	QuickReply   string       `json:"quick_reply"`
	// ConfirmSensitive sends text the sensitive-data guard warned about.
	ConfirmSensitive bool `json:"confirm_sensitive"`
	// ViewOnce makes a media message each recipient may open once.
	ViewOnce bool `json:"view_once"`
}

// Apply sets in's structured fields from the body.
func (si StructuredBody) Apply(in SendInput) SendInput {
	in.QuickReplies, in.Buttons, in.Cards, in.QuickReply = si.QuickReplies, si.Buttons, si.Cards, si.QuickReply
	in.ConfirmSensitive, in.ViewOnce = si.ConfirmSensitive, si.ViewOnce
	return in
}
