package app

import (
	"context"
	"strings"
	"time"

	"github.com/parleyhq/parley"
)

// Bots are accounts of kind bot that a person or a business creates and
// controls. They have no password: they act only through API tokens their
// owner makes. A business's bots also join its team (role bot) and answer
// its customers while they hold control of a conversation (handover).

// Bot events.
const (
	// EventPostback goes to a message's sender when someone taps one of
	// its postback buttons.
	EventPostback = "postback"
	// EventHandover tells the business's team (and its bots) who now
	// controls a conversation.
	EventHandover = "handover"
)

// maxBotsPerOwner caps the bots of one account.
const maxBotsPerOwner = 20

// BotView is a bot as its owner sees it.
type BotView struct {
	User      *UserSummary `json:"user"`
	Owner     *UserSummary `json:"owner"`
	Bio       string       `json:"bio"`
	CreatedAt time.Time    `json:"created_at"`
	Tokens    int          `json:"tokens"`
}

// BotInput creates a bot or changes its profile.
type BotInput struct {
	Handle      string `json:"handle"`
	DisplayName string `json:"display_name"`
	Bio         string `json:"bio"`
}

// botLimit applies the bot send limits: per conversation and per bot.
func (a *App) botLimit(ctx context.Context, actor *Actor, convID string) error {
	bot := ""
	switch {
	case actor.Agent != nil && actor.Agent.Kind == parley.KindBot:
		bot = actor.Agent.ID
	case actor.Agent == nil && actor.User.Kind == parley.KindBot:
		bot = actor.User.ID
	default:
		return nil
	}
	if ok, wait := a.botPerBot.Allow(ctx, bot); !ok {
		return &parley.Error{Code: parley.ERateLimited, Message: "this bot is sending too fast", RetryAfter: wait}
	}
	if ok, wait := a.botPerConv.Allow(ctx, bot+"/"+convID); !ok {
		return &parley.Error{Code: parley.ERateLimited, Message: "this bot is sending too fast in this conversation", RetryAfter: wait}
	}
	return nil
}

func (a *App) ownedBot(tx parley.Tx, actor *Actor, handle string) (*parley.User, error) {
	u, err := userByHandle(tx, handle)
	if parley.IsNotFound(err) || (err == nil && (u.Kind != parley.KindBot || u.OwnerID != actor.User.ID)) {
		return nil, parley.Errorf(parley.ENotFound, "no bot @%s of yours", strings.TrimPrefix(handle, "@"))
	}
	return u, err
}

func botView(tx parley.Tx, bot, owner *parley.User) (*BotView, error) {
	ss, err := tx.Sessions(bot.ID)
	if err != nil {
		return nil, err
	}
	return &BotView{User: summarize(bot), Owner: summarize(owner), Bio: bot.Bio, CreatedAt: bot.CreatedAt, Tokens: len(ss)}, nil
}

// CreateBot creates a bot owned by the actor (a person or a business,
// from a signed-in device). A business's bot joins its team at once.
func (a *App) CreateBot(ctx context.Context, actor *Actor, in BotInput) (*BotView, error) {
	if err := actor.RequireScope(ScopeAccount); err != nil {
		return nil, err
	}
	if actor.User.Kind == parley.KindBot {
		return nil, parley.Errorf(parley.EForbidden, "bots cannot create bots")
	}
	handle, err := normalizeHandle(in.Handle)
	if err != nil {
		return nil, err
	}
	if reservedHandles[handle] {
		return nil, parley.Errorf(parley.EHandleTaken, "handle is taken")
	}
	name, err := cleanText("display_name", in.DisplayName, 64, false)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(name) == "" {
		name = handle
	}
	bio, err := cleanText("bio", in.Bio, 500, true)
	if err != nil {
		return nil, err
	}
	var view *BotView
	err = a.update(ctx, func(w *writer) error {
		bots, err := w.UsersByOwner(actor.User.ID)
		if err != nil {
			return err
		}
		if len(bots) >= maxBotsPerOwner {
			return parley.Errorf(parley.EConflict, "an account has at most %d bots", maxBotsPerOwner)
		}
		// No password: "!" is not an argon2id hash, so no login matches it.
		bot := &parley.User{ID: newID(), Handle: handle, DisplayName: name, Bio: bio, Kind: parley.KindBot, DMPolicy: parley.PolicyOpen,
			PasswordHash: "!", ShowPresence: true, OwnerID: actor.User.ID, CreatedAt: w.now, UpdatedAt: w.now}
		if err := a.releaseHandle(w, bot.Handle); err != nil {
			return err
		}
		if err := w.CreateUser(bot); err != nil {
			return err
		}
		if actor.User.Kind == parley.KindBusiness {
			if err := w.PutAgent(&parley.Agent{BusinessID: actor.User.ID, UserID: bot.ID, Role: parley.AgentRoleBot, Active: true,
				CreatedAt: w.now, UpdatedAt: w.now}); err != nil {
				return err
			}
			if err := agentsChanged(w, actor.User.ID, actor.User.ID); err != nil {
				return err
			}
		}
		view, err = botView(w, bot, actor.User)
		return err
	})
	return view, err
}

// Bots lists the actor's bots.
func (a *App) Bots(ctx context.Context, actor *Actor) ([]*BotView, error) {
	out := []*BotView{}
	err := a.view(ctx, func(tx parley.Tx) error {
		bots, err := tx.UsersByOwner(actor.User.ID)
		if err != nil {
			return err
		}
		for _, b := range bots {
			v, err := botView(tx, b, actor.User)
			if err != nil {
				return err
			}
			out = append(out, v)
		}
		return nil
	})
	return out, err
}

// UpdateBot changes a bot's display name or bio.
func (a *App) UpdateBot(ctx context.Context, actor *Actor, handle string, in BotInput) (*BotView, error) {
	if err := actor.RequireScope(ScopeAccount); err != nil {
		return nil, err
	}
	var view *BotView
	err := a.update(ctx, func(w *writer) error {
		bot, err := a.ownedBot(w, actor, handle)
		if err != nil {
			return err
		}
		if in.DisplayName != "" {
			if bot.DisplayName, err = cleanText("display_name", in.DisplayName, 64, false); err != nil {
				return err
			}
		}
		if in.Bio != "" {
			if bot.Bio, err = cleanText("bio", in.Bio, 500, true); err != nil {
				return err
			}
		}
		bot.UpdatedAt = w.now
		if err := w.UpdateUser(bot); err != nil {
			return err
		}
		view, err = botView(w, bot, actor.User)
		return err
	})
	return view, err
}

// RetireBot ends a bot: its tokens are revoked (their streams close) and
// it leaves its business's team. Its profile and messages stay, so
// history keeps its sender.
func (a *App) RetireBot(ctx context.Context, actor *Actor, handle string) error {
	if err := actor.RequireScope(ScopeAccount); err != nil {
		return err
	}
	var botID string
	var ended []string
	err := a.update(ctx, func(w *writer) error {
		ended = nil // the store may run this more than once
		bot, err := a.ownedBot(w, actor, handle)
		if err != nil {
			return err
		}
		botID = bot.ID
		ended, err = retireBot(w, actor.User.ID, bot)
		return err
	})
	if err == nil {
		a.revoke(botID, ended)
	}
	return err
}

// retireBot ends a bot's tokens and takes it out of its owner's team; it
// returns the sessions whose streams must close.
func retireBot(w *writer, ownerID string, bot *parley.User) ([]string, error) {
	ended, err := deleteAllSessions(w, bot.ID)
	if err != nil {
		return nil, err
	}
	ag, err := w.Agent(ownerID, bot.ID)
	if err == nil && ag.Active {
		ag.Active, ag.UpdatedAt = false, w.now
		if err := w.PutAgent(ag); err != nil {
			return nil, err
		}
		return ended, agentsChanged(w, ownerID, ownerID)
	} else if err != nil && !parley.IsNotFound(err) {
		return nil, err
	}
	return ended, nil
}

// CreateBotToken makes an API token for one of the actor's bots.
func (a *App) CreateBotToken(ctx context.Context, actor *Actor, handle string, in TokenInput) (*TokenView, error) {
	if err := actor.RequireScope(ScopeAccount); err != nil {
		return nil, err
	}
	var bot *parley.User
	if err := a.view(ctx, func(tx parley.Tx) error {
		var err error
		bot, err = a.ownedBot(tx, actor, handle)
		return err
	}); err != nil {
		return nil, err
	}
	return a.createToken(ctx, actor.User.ID, bot, in)
}

// BotTokens lists a bot's tokens.
func (a *App) BotTokens(ctx context.Context, actor *Actor, handle string) ([]*TokenView, error) {
	if err := actor.RequireScope(ScopeAccount); err != nil {
		return nil, err
	}
	out := []*TokenView{}
	err := a.view(ctx, func(tx parley.Tx) error {
		bot, err := a.ownedBot(tx, actor, handle)
		if err != nil {
			return err
		}
		ss, err := tx.Sessions(bot.ID)
		for _, s := range ss {
			out = append(out, tokenView(s))
		}
		return err
	})
	return out, err
}

// RevokeBotToken revokes one of a bot's tokens at once.
func (a *App) RevokeBotToken(ctx context.Context, actor *Actor, handle, id string) error {
	if err := actor.RequireScope(ScopeAccount); err != nil {
		return err
	}
	var botID string
	err := a.update(ctx, func(w *writer) error {
		bot, err := a.ownedBot(w, actor, handle)
		if err != nil {
			return err
		}
		botID = bot.ID
		if err := w.DeleteSession(bot.ID, id); parley.IsNotFound(err) {
			return parley.Errorf(parley.ENotFound, "token not found")
		} else if err != nil {
			return err
		}
		return a.audit(w, AuditEntry{ActorID: actor.User.ID, Action: AuditTokenRevoke, TargetType: "token", TargetID: id,
			Details: map[string]string{"user_id": bot.ID, "bot": bot.Handle}})
	})
	if err == nil {
		a.revoke(botID, []string{id})
	}
	return err
}

// RotateBotToken replaces a bot token by a new one with the same name,
// scopes and lifetime; the old one stops working at once.
func (a *App) RotateBotToken(ctx context.Context, actor *Actor, handle, id string) (*TokenView, error) {
	if err := actor.RequireScope(ScopeAccount); err != nil {
		return nil, err
	}
	var bot *parley.User
	var old *parley.Session
	if err := a.view(ctx, func(tx parley.Tx) error {
		var err error
		if bot, err = a.ownedBot(tx, actor, handle); err != nil {
			return err
		}
		ss, err := tx.Sessions(bot.ID)
		for _, s := range ss {
			if s.ID == id {
				old = s
			}
		}
		if err == nil && old == nil {
			return parley.Errorf(parley.ENotFound, "token not found")
		}
		return err
	}); err != nil {
		return nil, err
	}
	in := TokenInput{Name: old.Name, Scopes: old.Scopes}
	if old.ExpiresAt != nil {
		in.ExpiresInDays = max(1, int(old.ExpiresAt.Sub(old.CreatedAt).Hours()/24))
	}
	fresh, err := a.createToken(ctx, actor.User.ID, bot, in)
	if err != nil {
		return nil, err
	}
	if err := a.RevokeBotToken(ctx, actor, handle, id); err != nil {
		return nil, err
	}
	return fresh, nil
}

// Postback records that the actor tapped a postback button of a message:
// the message's sender (a bot, or a business and its team and bots)
// receives a "postback" event with the payload. Only members who may read
// the message, and not its sender, may tap.
func (a *App) Postback(ctx context.Context, actor *Actor, convID, msgID, payload string) error {
	if payload == "" || len(payload) > maxPayload {
		return parley.Invalid("payload", "payload is the button's payload")
	}
	return a.update(ctx, func(w *writer) error {
		c, me, err := activeMembership(w, convID, actor.User.ID)
		if err != nil {
			return err
		}
		m, err := w.MessageByID(msgID)
		if parley.IsNotFound(err) || (err == nil && (m.ConversationID != c.ID || !me.CanRead(m.Seq) || m.DeletedAt != nil)) {
			return parley.Errorf(parley.ENotFound, "message not found")
		} else if err != nil {
			return err
		}
		if m.SenderID == actor.User.ID {
			return parley.Invalid("payload", "you cannot tap your own message's buttons")
		}
		title, ok := postbackOf(parseData(m.Data), payload)
		if !ok {
			return parley.Invalid("payload", "the message has no postback button with this payload")
		}
		e := &parley.Event{Type: EventPostback, ConversationID: c.ID, ActorID: actor.User.ID, MessageID: m.ID, Seq: m.Seq,
			Data: mustJSON(map[string]string{"payload": payload, "title": title, "message_id": m.ID})}
		if it, err := w.InboxItem(c.ID); err == nil && it.BusinessID == m.SenderID {
			if err := postbackConsent(w, it, m.ID, actor.User.ID, payload); err != nil {
				return err
			}
			return businessEvent(w, e, m.SenderID)
		} else if err != nil && !parley.IsNotFound(err) {
			return err
		}
		e.UserID = m.SenderID
		return w.event(e)
	})
}
