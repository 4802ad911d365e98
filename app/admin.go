package app

import (
	"context"
	"crypto/rand"
	"strconv"
	"time"

	"github.com/parleyhq/parley"
)

// The functions below are for the server's operators, through the admin
// CLI (parley user, business, token, stats). They take handles, not an
// Actor: whoever can reach them already holds the data directory. The
// rules still apply: a handle, a password or a token's scopes are checked
// as they are for users.

// errSuspended refuses a suspended account's logins and requests.
var errSuspended = parley.Errorf(parley.EAccountSuspended, "this account is suspended; contact the server's administrator")

// Account is an account as an operator sees it.
type Account struct {
	ID          string    `json:"id"`
	Handle      string    `json:"handle"`
	DisplayName string    `json:"display_name"`
	Kind        string    `json:"kind"`
	Suspended   bool      `json:"suspended"`
	Banned      bool      `json:"banned,omitempty"`
	ServerAdmin bool      `json:"server_admin,omitempty"`
	OwnerID     string    `json:"owner_id,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

func accountView(u *parley.User) *Account {
	return &Account{ID: u.ID, Handle: u.Handle, DisplayName: u.DisplayName, Kind: string(u.Kind),
		Suspended: u.Suspended, Banned: u.Banned, ServerAdmin: u.ServerAdmin, OwnerID: u.OwnerID, CreatedAt: u.CreatedAt}
}

// GeneratePassword returns a random password of 20 characters (100 bits),
// for accounts an operator creates without choosing one.
func GeneratePassword() string {
	var b [13]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return idEncoding.EncodeToString(b[:])[:20]
}

// CreateAccount creates an account with the rules of Register, without
// signing it in.
func (a *App) CreateAccount(ctx context.Context, r Registration) (*Account, error) {
	u, err := a.newAccount(r)
	if err != nil {
		return nil, err
	}
	err = a.update(ctx, func(w *writer) error {
		if err := a.releaseHandle(w, u.Handle); err != nil {
			return err
		}
		if err := w.CreateUser(u); err != nil {
			return err
		}
		return a.audit(w, AuditEntry{Action: AuditUserCreate, TargetType: "user", TargetID: u.ID,
			Details: map[string]string{"handle": u.Handle, "kind": string(u.Kind)}})
	})
	if err != nil {
		return nil, err
	}
	return accountView(u), nil
}

// Accounts lists accounts in handle order (see parley.UserFilter).
func (a *App) Accounts(ctx context.Context, f parley.UserFilter) ([]*Account, error) {
	if f.Kind != "" && !f.Kind.Valid() {
		return nil, parley.Invalid("kind", "kind is person, business or bot")
	}
	if f.Limit < 0 {
		return nil, parley.Invalid("limit", "limit is 0 (all) or more")
	}
	out := []*Account{}
	err := a.view(ctx, func(tx parley.Tx) error {
		us, err := tx.Users(f)
		for _, u := range us {
			out = append(out, accountView(u))
		}
		return err
	})
	return out, err
}

// Suspend suspends (on) or restores an account. Suspending ends its
// signed-in devices and closes every live connection of its devices and
// API tokens; from then on Login and Authenticate refuse it with
// account_suspended. Its tokens are kept, refused until it is restored.
// A banned account cannot be restored.
func (a *App) Suspend(ctx context.Context, handle string, on bool) (*Account, error) {
	var u *parley.User
	var ended []string
	err := a.update(ctx, func(w *writer) error {
		var err error
		if u, err = userByHandle(w, handle); err != nil {
			return err
		}
		if ended, err = suspendUser(w, u, on); err != nil {
			return err
		}
		action := AuditUserSuspend
		if !on {
			action = AuditUserUnsuspend
		}
		return a.audit(w, AuditEntry{Action: action, TargetType: "user", TargetID: u.ID,
			Details: map[string]string{"handle": u.Handle}})
	})
	if err != nil {
		return nil, err
	}
	if len(ended) > 0 {
		a.revoke(u.ID, ended)
	}
	return accountView(u), nil
}

// suspendUser suspends (on) or restores u and returns the sessions whose
// connections must close.
func suspendUser(w *writer, u *parley.User, on bool) ([]string, error) {
	if !on && u.Banned {
		return nil, parley.Errorf(parley.EConflict, "@%s is banned; a ban is permanent", u.Handle)
	}
	u.Suspended, u.UpdatedAt = on, w.now
	if err := w.UpdateUser(u); err != nil {
		return nil, err
	}
	if !on {
		return nil, nil
	}
	ended, err := endSessions(w, u.ID, "")
	if err != nil {
		return nil, err
	}
	ss, err := w.Sessions(u.ID)
	for _, s := range ss {
		ended = append(ended, s.ID) // tokens: kept, but their streams end
	}
	return ended, err
}

// ResetPassword sets an account's password and ends its signed-in devices
// (API tokens stay, as with a password change), returning how many ended.
func (a *App) ResetPassword(ctx context.Context, handle, password string) (*Account, int, error) {
	if err := checkPasswordRules(password); err != nil {
		return nil, 0, err
	}
	hash := hashPassword(password, a.cfg.Password)
	var u *parley.User
	var ended []string
	err := a.update(ctx, func(w *writer) error {
		var err error
		if u, err = userByHandle(w, handle); err != nil {
			return err
		}
		u.PasswordHash, u.UpdatedAt = hash, w.now
		if err := w.UpdateUser(u); err != nil {
			return err
		}
		if ended, err = endSessions(w, u.ID, ""); err != nil {
			return err
		}
		return a.audit(w, AuditEntry{Action: AuditUserResetPassword, TargetType: "user", TargetID: u.ID,
			Details: map[string]string{"handle": u.Handle, "sessions_ended": strconv.Itoa(len(ended))}})
	})
	if err != nil {
		return nil, 0, err
	}
	if len(ended) > 0 {
		a.revoke(u.ID, ended)
	}
	return accountView(u), len(ended), nil
}

// CreateTokenFor makes an API token for the account with handle, with the
// rules of CreateToken. The token is shown once.
func (a *App) CreateTokenFor(ctx context.Context, handle string, in TokenInput) (*TokenView, error) {
	var u *parley.User
	err := a.view(ctx, func(tx parley.Tx) error {
		var err error
		u, err = userByHandle(tx, handle)
		return err
	})
	if err != nil {
		return nil, err
	}
	if u.Suspended {
		return nil, errSuspended
	}
	return a.createToken(ctx, "", u, in)
}

// AsBusiness returns the business account with handle acting for itself,
// with an admin's rights in its inbox (for PutAgent and the like).
func (a *App) AsBusiness(ctx context.Context, handle string) (*BusinessActor, error) {
	var b *parley.User
	err := a.view(ctx, func(tx parley.Tx) error {
		var err error
		b, err = userByHandle(tx, handle)
		return err
	})
	if parley.IsNotFound(err) || (err == nil && b.Kind != parley.KindBusiness) {
		return nil, parley.Errorf(parley.ENotFound, "no business account %q", handle)
	} else if err != nil {
		return nil, err
	}
	return a.ActAs(ctx, &Actor{User: b}, b.Handle)
}

// Stats counts what the store holds.
func (a *App) Stats(ctx context.Context) (*parley.Stats, error) {
	var st *parley.Stats
	err := a.view(ctx, func(tx parley.Tx) error {
		var err error
		st, err = tx.Stats()
		return err
	})
	return st, err
}
