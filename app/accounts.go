package app

import (
	"context"
	"crypto/subtle"
	"strconv"
	"time"

	"github.com/parleyhq/parley"
)

// Registration is what a new account gives.
type Registration struct {
	Handle      string
	Password    string
	DisplayName string
	Kind        parley.UserKind
	Device      string
	// Address is the client's IP address, for the sign-up limit.
	Address string
}

// Auth is a signed-in user with a fresh token.
type Auth struct {
	User  *Me    `json:"user"`
	Token string `json:"token"`
	// SessionID names the session the token belongs to.
	SessionID string `json:"session_id"`
	// SecondFactor, when set, is all there is: the password was right and
	// the account wants a code (CompleteLogin); User and Token are empty.
	SecondFactor *SecondFactorChallenge `json:"second_factor,omitempty"`
}

// Actor is an authenticated caller: the user and the session they use.
type Actor struct {
	User      *parley.User
	SessionID string
	// Agent, when set, is the person acting on behalf of User, a business
	// (see ActAs); the business's rules then apply to what they do.
	Agent *parley.User
	// Scopes limit an API token (nil for a signed-in device: everything).
	Scopes []string
	// ExpiresAt is when the session ends by itself (an API token's
	// expiry; nil: never). Expiry is fixed when the token is made: use
	// does not extend it. A stream opened as the actor ends then too.
	ExpiresAt *time.Time
}

// Expired reports whether the actor's session is past its expiry at now.
func (a *Actor) Expired(now time.Time) bool {
	return a.ExpiresAt != nil && !now.Before(*a.ExpiresAt)
}

// newAccount checks a registration and returns the user to store, its
// password already hashed — outside any transaction: argon2 takes tens of
// milliseconds and must not hold up the committer.
func (a *App) newAccount(r Registration) (*parley.User, error) {
	handle, err := normalizeHandle(r.Handle)
	if err != nil {
		return nil, err
	}
	if reservedHandles[handle] {
		return nil, parley.Errorf(parley.EHandleTaken, "handle is taken")
	}
	if err := checkPasswordRules(r.Password); err != nil {
		return nil, err
	}
	if r.Kind == "" {
		r.Kind = parley.KindPerson
	}
	if !r.Kind.Valid() {
		return nil, parley.Invalid("kind", "kind is person, business or bot")
	}
	name, err := cleanText("display_name", r.DisplayName, 64, false)
	if err != nil {
		return nil, err
	}
	if name == "" {
		name = handle
	}
	now := a.clock()
	return &parley.User{ID: newID(), Handle: handle, DisplayName: name, Kind: r.Kind, DMPolicy: parley.PolicyOpen,
		PasswordHash: hashPassword(r.Password, a.cfg.Password), ShowPresence: true, CreatedAt: now, UpdatedAt: now}, nil
}

// Register creates an account and signs it in.
func (a *App) Register(ctx context.Context, r Registration) (*Auth, error) {
	if err := a.registrationAllowed(ctx, r.Address); err != nil {
		return nil, err
	}
	device, err := cleanText("device", r.Device, 100, false)
	if err != nil {
		return nil, err
	}
	u, err := a.newAccount(r)
	if err != nil {
		return nil, err
	}
	now := u.CreatedAt
	token, tokenHash := newToken()
	s := &parley.Session{ID: newID(), UserID: u.ID, TokenHash: tokenHash, Device: device, CreatedAt: now, LastUsedAt: now}
	err = a.update(ctx, func(w *writer) error {
		if err := a.releaseHandle(w, u.Handle); err != nil {
			return err
		}
		if err := w.CreateUser(u); err != nil {
			return err
		}
		return w.CreateSession(s)
	})
	if err != nil {
		return nil, err
	}
	return &Auth{User: meView(u), Token: token, SessionID: s.ID}, nil
}

// Login checks a handle and password and opens a new session. Attempts are
// limited per handle and per client address. An account with a second
// factor gets a challenge instead (Auth.SecondFactor), for CompleteLogin.
func (a *App) Login(ctx context.Context, handle, password, device, address string) (*Auth, error) {
	h, herr := normalizeHandle(handle)
	if herr != nil {
		h = handle
	}
	if ok, wait := a.loginByAddress.Allow(ctx, "addr:"+address); !ok {
		return nil, &parley.Error{Code: parley.ERateLimited, Message: "too many login attempts; try again later", RetryAfter: wait}
	}
	if ok, wait := a.loginByHandle.Allow(ctx, "handle:"+h); !ok {
		return nil, &parley.Error{Code: parley.ERateLimited, Message: "too many login attempts; try again later", RetryAfter: wait}
	}
	device, err := cleanText("device", device, 100, false)
	if err != nil {
		return nil, err
	}
	var u *parley.User
	var secondFactor bool
	if herr == nil {
		err = a.view(ctx, func(tx parley.Tx) error {
			var err error
			if u, err = tx.UserByHandle(h); err != nil {
				return err
			}
			secondFactor, err = twoFactorOn(tx, u.ID)
			return err
		})
		if err != nil && !parley.IsNotFound(err) {
			return nil, err
		}
	}
	// Check a dummy hash for unknown handles so that timing does not tell
	// which handles exist.
	hash := a.dummyHash
	if u != nil {
		hash = u.PasswordHash
	}
	ok := checkPassword(password, hash)
	if u == nil || !ok || accountGone(u) {
		a.obs.LoginFailed()
		a.loginFailed(ctx, u, h, "password")
		return nil, parley.Errorf(parley.EBadCredentials, "wrong handle or password")
	}
	if u.Suspended {
		a.loginFailed(ctx, u, h, "suspended")
		return nil, errSuspended
	}
	if secondFactor {
		ch, err := a.loginChallenge(ctx, u, device)
		if err != nil {
			return nil, err
		}
		return &Auth{SecondFactor: ch}, nil
	}
	token, tokenHash := newToken()
	now := a.clock()
	s := &parley.Session{ID: newID(), UserID: u.ID, TokenHash: tokenHash, Device: device, CreatedAt: now, LastUsedAt: now}
	err = a.update(ctx, func(w *writer) error {
		if err := w.CreateSession(s); err != nil {
			return err
		}
		return a.audit(w, AuditEntry{ActorID: u.ID, Action: AuditLoginSuccess, TargetType: "session", TargetID: s.ID,
			Details: map[string]string{"device": device}})
	})
	if err != nil {
		return nil, err
	}
	return &Auth{User: meView(u), Token: token, SessionID: s.ID}, nil
}

// loginFailed records a refused login in the audit log; u is nil for an
// unknown handle. The attempt is refused whether or not the row is written.
func (a *App) loginFailed(ctx context.Context, u *parley.User, handle, reason string) {
	e := AuditEntry{Action: AuditLoginFailure, Details: map[string]string{"handle": handle, "reason": reason}}
	if u != nil {
		e.ActorID, e.TargetType, e.TargetID = u.ID, "user", u.ID
	}
	if err := a.update(ctx, func(w *writer) error { return a.audit(w, e) }); err != nil {
		a.log.Warn("audit a failed login", "err", err)
	}
}

// touchEvery is how stale a session's last-used time may get before a
// request writes it again; it keeps reads from turning into writes.
const touchEvery = time.Minute

// Authenticate resolves a bearer token to its user and session. A token
// verified a moment ago comes from the cache (authcache.go).
func (a *App) Authenticate(ctx context.Context, token string) (*Actor, error) {
	if len(token) < len(tokenPrefix)+16 || len(token) > 200 {
		return nil, errBadToken
	}
	hash := hashToken(token)
	now := a.clock()
	if e := a.auth.get(hash, now); e != nil {
		if exp := e.session.ExpiresAt; exp != nil && !now.Before(*exp) {
			return nil, errBadToken
		}
		if last := e.lastUsed.Load(); (now.UnixNano()-last > int64(touchEvery) || last == e.createdNs) &&
			e.lastUsed.CompareAndSwap(last, now.UnixNano()) {
			a.touchSession(ctx, e.session.ID, now)
		}
		return e.actor(), nil
	}
	mark := a.auth.mark()
	var s *parley.Session
	var u *parley.User
	err := a.urgentView(ctx, func(tx parley.Tx) error {
		var err error
		if s, err = tx.SessionByTokenHash(hash); err != nil {
			return err
		}
		u, err = tx.UserByID(s.UserID)
		return err
	})
	if parley.IsNotFound(err) || (err == nil && subtle.ConstantTimeCompare(s.TokenHash, hash) != 1) ||
		(err == nil && s.ExpiresAt != nil && !now.Before(*s.ExpiresAt)) {
		return nil, errBadToken
	} else if err != nil {
		return nil, err
	} else if accountGone(u) {
		return nil, errBadToken
	} else if u.Suspended {
		return nil, errSuspended
	}
	// The first use is always recorded, so that "never used" can be told
	// from "used in its first minute".
	touched := s.LastUsedAt
	if now.Sub(s.LastUsedAt) > touchEvery || s.LastUsedAt.Equal(s.CreatedAt) {
		a.touchSession(ctx, s.ID, now)
		touched = now
	}
	s.LastUsedAt = touched
	a.auth.fill(mark, hash, s, u, now)
	actor := &Actor{User: u, SessionID: s.ID}
	if s.Kind == parley.SessionToken {
		actor.Scopes = append([]string{}, s.Scopes...)
	}
	if s.ExpiresAt != nil {
		exp := *s.ExpiresAt
		actor.ExpiresAt = &exp
	}
	return actor, nil
}

var errBadToken = parley.Errorf(parley.EUnauthorized, "invalid or expired token")

// touchSession records that a session was used at now.
func (a *App) touchSession(ctx context.Context, id string, now time.Time) {
	if err := a.update(ctx, func(w *writer) error { return w.TouchSession(id, now) }); err != nil {
		a.log.Warn("touch session", "err", err)
	}
}

// SessionAlive reports whether the actor's session still exists and is
// not past its expiry by the app's clock: a stream registered just as its
// session ended must not outlive it.
func (a *App) SessionAlive(ctx context.Context, actor *Actor) bool {
	alive := false
	err := a.view(ctx, func(tx parley.Tx) error {
		ss, err := tx.Sessions(actor.User.ID)
		now := a.clock()
		for _, s := range ss {
			if s.ID == actor.SessionID {
				alive = s.ExpiresAt == nil || now.Before(*s.ExpiresAt)
			}
		}
		return err
	})
	return err == nil && alive
}

// Logout ends the actor's current session; other devices stay signed in.
func (a *App) Logout(ctx context.Context, actor *Actor) error {
	if err := a.update(ctx, func(w *writer) error { return w.DeleteSession(actor.User.ID, actor.SessionID) }); err != nil {
		return err
	}
	a.revoke(actor.User.ID, []string{actor.SessionID})
	return nil
}

// endSessions deletes every session of a user but keep and returns the ids
// that went, for revocation.
// API tokens stay: they are revoked one by one, in settings.
func endSessions(w *writer, userID, keep string) ([]string, error) {
	ss, err := w.Sessions(userID)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, s := range ss {
		if s.ID != keep && s.Kind != parley.SessionToken {
			if err := w.DeleteSession(userID, s.ID); err != nil {
				return nil, err
			}
			ids = append(ids, s.ID)
		}
	}
	return ids, nil
}

// LogoutEverywhere ends every session of the actor, the current one included.
func (a *App) LogoutEverywhere(ctx context.Context, actor *Actor) (int, error) {
	if err := actor.RequireScope(ScopeAccount); err != nil {
		return 0, err
	}
	var ended []string
	err := a.update(ctx, func(w *writer) error {
		var err error
		if ended, err = endSessions(w, actor.User.ID, ""); err != nil {
			return err
		}
		return a.audit(w, AuditEntry{ActorID: actor.User.ID, Action: AuditLogoutEverywhere, TargetType: "user", TargetID: actor.User.ID,
			Details: map[string]string{"sessions_ended": strconv.Itoa(len(ended))}})
	})
	if err != nil {
		return 0, err
	}
	a.revoke(actor.User.ID, ended)
	return len(ended), nil
}

// Sessions lists the actor's sessions.
func (a *App) Sessions(ctx context.Context, actor *Actor) ([]SessionView, error) {
	if err := actor.RequireScope(ScopeAccount); err != nil {
		return nil, err
	}
	var out []SessionView
	err := a.view(ctx, func(tx parley.Tx) error {
		ss, err := tx.Sessions(actor.User.ID)
		if err != nil {
			return err
		}
		out = make([]SessionView, 0, len(ss))
		for _, s := range ss {
			if s.Kind == parley.SessionToken {
				continue // listed under tokens
			}
			out = append(out, SessionView{ID: s.ID, Device: s.Device, CreatedAt: s.CreatedAt, LastUsedAt: s.LastUsedAt, Current: s.ID == actor.SessionID})
		}
		return nil
	})
	return out, err
}

// RevokeSession ends one of the actor's sessions.
func (a *App) RevokeSession(ctx context.Context, actor *Actor, sessionID string) error {
	if err := actor.RequireScope(ScopeAccount); err != nil {
		return err
	}
	err := a.update(ctx, func(w *writer) error {
		if err := w.DeleteSession(actor.User.ID, sessionID); err != nil {
			return err
		}
		return a.audit(w, AuditEntry{ActorID: actor.User.ID, Action: AuditSessionRevoke, TargetType: "session", TargetID: sessionID})
	})
	if err != nil {
		return err
	}
	a.revoke(actor.User.ID, []string{sessionID})
	return nil
}

// ChangePassword replaces the actor's password after checking the current
// one, and ends every other session.
func (a *App) ChangePassword(ctx context.Context, actor *Actor, current, next string) error {
	if err := actor.RequireScope(ScopeAccount); err != nil {
		return err
	}
	// Guessing the current password through a stolen session is limited
	// like logins are.
	if ok, wait := a.loginByHandle.Allow(ctx, "handle:"+actor.User.Handle); !ok {
		return &parley.Error{Code: parley.ERateLimited, Message: "too many attempts; try again later", RetryAfter: wait}
	}
	if !checkPassword(current, actor.User.PasswordHash) {
		// Not 401: the session is fine, the password is not.
		return &parley.Error{Code: parley.EForbidden, Field: "current_password", Message: "the current password is wrong"}
	}
	if err := checkPasswordRules(next); err != nil {
		return err
	}
	hash := hashPassword(next, a.cfg.Password)
	var ended []string
	err := a.update(ctx, func(w *writer) error {
		u, err := w.UserByID(actor.User.ID)
		if err != nil {
			return err
		}
		u.PasswordHash, u.UpdatedAt = hash, w.now
		if err := w.UpdateUser(u); err != nil {
			return err
		}
		if ended, err = endSessions(w, u.ID, actor.SessionID); err != nil {
			return err
		}
		return a.audit(w, AuditEntry{ActorID: u.ID, Action: AuditPasswordChange, TargetType: "user", TargetID: u.ID,
			Details: map[string]string{"sessions_ended": strconv.Itoa(len(ended))}})
	})
	if err != nil {
		return err
	}
	a.revoke(actor.User.ID, ended)
	return nil
}

// ProfileUpdate holds the fields to change; nil leaves a field as it is.
type ProfileUpdate struct {
	DisplayName  *string
	Bio          *string
	DMPolicy     *parley.DMPolicy
	ShowPresence *bool
	// ReadReceipts on (true) or off.
	ReadReceipts *bool
	// WarnPhone makes the sensitive-data guard warn before sending a
	// phone number (off by default).
	WarnPhone *bool
}

// UpdateProfile changes the actor's own profile and privacy settings.
func (a *App) UpdateProfile(ctx context.Context, actor *Actor, p ProfileUpdate) (*Me, error) {
	var name, bio string
	var err error
	if p.DisplayName != nil {
		if name, err = cleanText("display_name", *p.DisplayName, 64, false); err != nil {
			return nil, err
		} else if name == "" {
			return nil, parley.Invalid("display_name", "display_name cannot be empty")
		}
	}
	if p.Bio != nil {
		if bio, err = cleanText("bio", *p.Bio, 500, true); err != nil {
			return nil, err
		}
	}
	if p.DMPolicy != nil && !p.DMPolicy.Valid() {
		return nil, parley.Invalid("dm_policy", "dm_policy is open, following or closed")
	}
	var out *parley.User
	presenceChanged := false
	err = a.update(ctx, func(w *writer) error {
		presenceChanged = false
		u, err := w.UserByID(actor.User.ID)
		if err != nil {
			return err
		}
		if p.DisplayName != nil {
			u.DisplayName = name
		}
		if p.Bio != nil {
			u.Bio = bio
		}
		if p.DMPolicy != nil {
			u.DMPolicy = *p.DMPolicy
		}
		if p.ReadReceipts != nil {
			u.HideReadReceipts = !*p.ReadReceipts
		}
		if p.ShowPresence != nil {
			presenceChanged = u.ShowPresence != *p.ShowPresence
			u.ShowPresence = *p.ShowPresence
		}
		if p.WarnPhone != nil {
			u.WarnPhone = *p.WarnPhone
		}
		u.UpdatedAt = w.now
		out = u
		return w.UpdateUser(u)
	})
	if err != nil {
		return nil, err
	}
	if presenceChanged && (!out.ShowPresence || a.isOnline(actor.User.ID)) {
		// Peers see the change at once: hiding presence reads as going
		// offline (the later real offline is not sent, and the device may
		// be on another node: sent whatever this node knows), showing it
		// while online as coming online.
		if err := a.announcePresence(ctx, actor.User.ID, out.ShowPresence, true); err != nil {
			a.log.Warn("presence", "user", actor.User.ID, "err", err)
		}
	}
	return meView(out), nil
}

// Me returns the actor's own account.
func (a *App) Me(actor *Actor) *Me { return meView(actor.User) }
