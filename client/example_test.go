package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/parleyhq/parley/client"
)

// A first conversation: register, start a direct conversation, send, read
// the history.
func Example() {
	ctx := context.Background()
	anon := client.New("http://127.0.0.1:8080", "")
	auth, err := anon.Register(ctx, client.RegisterRequest{Handle: "alice", Password: "correct horse battery"})
	if err != nil {
		log.Fatal(err)
	}
	alice := anon.WithToken(auth.Token)

	conv, err := alice.StartDirect(ctx, "bob")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := alice.Send(ctx, conv.ID, client.SendRequest{Text: "Hi Bob!"}); err != nil {
		log.Fatal(err)
	}
	page, err := alice.Messages(ctx, conv.ID, client.HistoryQuery{Limit: 50})
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range page.Items {
		fmt.Printf("%d %s: %s\n", m.Seq, m.Sender.Handle, m.Text)
	}
}

// Sends are idempotent: keep the ClientID of a message the user wrote and
// reuse it if the program restarts before the answer; the client retries
// network errors, 5xx and 429 with the same one by itself.
func ExampleClient_Send() {
	ctx := context.Background()
	c := client.New("http://127.0.0.1:8080", os.Getenv("PARLEY_TOKEN"))
	c.MaxRetries = 6                  // the default is 4
	c.MaxRetryWait = 10 * time.Second // longer Retry-Afters fail at once

	id := client.NewClientID() // store it with the draft
	m, err := c.Send(ctx, "CONVERSATION-ID", client.SendRequest{ClientID: id, Text: "On my way"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("sent as", m.Seq)
}

// Follow every change from a saved position, across disconnects and
// restarts of the server.
func ExampleClient_Stream() {
	ctx := context.Background()
	c := client.New("http://127.0.0.1:8080", os.Getenv("PARLEY_TOKEN"))
	var saved int64 // 0 on a new device
	s, err := c.Stream(ctx, saved, nil)
	if err != nil {
		log.Fatal(err) // the token does not work
	}
	defer s.Close()
	for e := range s.Events() {
		switch e.Type {
		case client.EventLimited:
			// New device or too far behind: load the conversation list and
			// history, then carry on from here.
		case client.EventMessageCreated:
			fmt.Printf("%s: %s\n", e.Message.Sender.Handle, e.Message.Text)
		}
		saved = s.Position() // persist it to resume after a restart
	}
	log.Fatal(s.Err()) // the session ended (or ctx did)
}

// Switch on the server's stable error codes.
func ExampleIsCode() {
	ctx := context.Background()
	c := client.New("http://127.0.0.1:8080", os.Getenv("PARLEY_TOKEN"))
	_, err := c.StartDirect(ctx, "someone")
	switch {
	case err == nil:
	case client.IsCode(err, client.CodeDMNotAllowed):
		fmt.Println("they do not take messages from you")
	case errors.Is(err, client.ErrNotFound):
		fmt.Println("no such user")
	case client.IsRateLimited(err):
		fmt.Println("try again in", client.AsError(err).RetryAfter)
	default:
		log.Fatal(err)
	}
}

// A business's bot answers a customer with quick replies and a button,
// and hands the conversation to people when it cannot help.
func ExampleBusiness_Handover() {
	ctx := context.Background()
	bot := client.New("http://127.0.0.1:8080", os.Getenv("PARLEY_TOKEN")) // scopes read + business:write
	shop := bot.Business("shop")
	conv := "CONVERSATION-ID"

	_, err := shop.Send(ctx, conv, client.BusinessSendRequest{
		Text:         "I can help with orders and returns.",
		QuickReplies: []client.QuickReply{{Title: "Orders"}, {Title: "Returns"}},
		Buttons:      []client.Button{client.PostbackButton("Talk to a person", "HUMAN")},
	})
	if errors.Is(err, client.ErrHumanControl) {
		return // a person took the conversation over; stay quiet
	} else if err != nil {
		log.Fatal(err)
	}
	if _, err := shop.Handover(ctx, conv, client.ControlHuman, "asked about a refund over the limit"); err != nil {
		log.Fatal(err)
	}
}

// Call a route the package has no method for, with the same
// authentication and errors.
func ExampleClient_Do() {
	ctx := context.Background()
	c := client.New("http://127.0.0.1:8080", os.Getenv("PARLEY_TOKEN"))
	var teams struct {
		Items []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"items"`
	}
	if err := c.Do(ctx, "GET", "/business/shop/teams", nil, &teams); err != nil {
		log.Fatal(err)
	}
	for _, t := range teams.Items {
		fmt.Println(t.ID, t.Name)
	}
}
