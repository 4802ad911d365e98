package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/server"
)

// The admin commands work on a data directory. When no server runs there,
// they open the store themselves, like parley migrate. When parley serve
// runs there, it holds the data directory's lock and the command is sent
// over its admin socket and carried out by the server: the SQLite store
// keeps its next position and a write cache in memory and must have one
// writer, and only the server can close a suspended user's streams.

// adminCmd is one admin command.
type adminCmd struct {
	group, verb string
	args        []string // the positional arguments' names
	summary     string
	// setup registers the command's own flags and returns what runs it.
	setup func(fs *flag.FlagSet) adminRun
}

// adminRun carries out a command. It returns what --json prints and what
// is printed otherwise.
type adminRun func(ctx context.Context, a *app.App, args []string, stdin io.Reader) (result any, text string, err error)

// adminCmds are every admin command: the accounts', the audit log's and
// the encryption keys'.
var adminCmds = slices.Concat(accountCmds, auditCmds, keyCmds)

var accountCmds = []adminCmd{
	{group: "user", verb: "create", args: []string{"handle"}, summary: "create an account; prints a generated password unless --password-stdin",
		setup: func(fs *flag.FlagSet) adminRun {
			kind := fs.String("kind", "person", "person, business or bot")
			admin := fs.Bool("admin", false, "make the account a server administrator (moderation: reports, bans, server filters)")
			return createAccount(fs, kind, admin)
		}},
	{group: "user", verb: "list", summary: "list accounts in handle order",
		setup: func(fs *flag.FlagSet) adminRun {
			kind := fs.String("kind", "", "only accounts of this kind: person, business or bot")
			limit := fs.Int("limit", 100, "at most this many (0 for all)")
			after := fs.String("after", "", "start after this handle (the next_cursor of the previous page)")
			return func(ctx context.Context, a *app.App, _ []string, _ io.Reader) (any, string, error) {
				if *limit < 0 {
					return nil, "", usagef("-limit: %d is negative; write 0 for all, or e.g. 100", *limit)
				}
				n := *limit
				if n > 0 {
					n++ // one more tells whether there is a next page
				}
				accs, err := a.Accounts(ctx, parley.UserFilter{Kind: parley.UserKind(*kind), AfterHandle: *after, Limit: n})
				if err != nil {
					return nil, "", err
				}
				page := struct {
					Items      []*app.Account `json:"items"`
					NextCursor string         `json:"next_cursor,omitempty"`
				}{Items: accs}
				if *limit > 0 && len(accs) > *limit {
					page.Items = accs[:*limit]
					page.NextCursor = page.Items[*limit-1].Handle
				}
				var b strings.Builder
				tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "HANDLE\tKIND\tSTATUS\tNAME\tCREATED")
				for _, u := range page.Items {
					status := "active"
					if u.Suspended {
						status = "suspended"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Handle, u.Kind, status, u.DisplayName, u.CreatedAt.Format(time.DateOnly))
				}
				tw.Flush()
				if page.NextCursor != "" {
					fmt.Fprintf(&b, "more: parley user list -after %s\n", page.NextCursor)
				}
				return page, b.String(), nil
			}
		}},
	{group: "user", verb: "suspend", args: []string{"handle"}, summary: "suspend an account: it is signed out and cannot sign in or use its tokens",
		setup: func(fs *flag.FlagSet) adminRun { return suspend(true) }},
	{group: "user", verb: "unsuspend", args: []string{"handle"}, summary: "restore a suspended account",
		setup: func(fs *flag.FlagSet) adminRun { return suspend(false) }},
	{group: "user", verb: "promote", args: []string{"handle"}, summary: "make a person's account a server administrator (reports queue, bans, server filters)",
		setup: func(fs *flag.FlagSet) adminRun { return promote(true) }},
	{group: "user", verb: "demote", args: []string{"handle"}, summary: "take server administration away from an account",
		setup: func(fs *flag.FlagSet) adminRun { return promote(false) }},
	{group: "user", verb: "ban", args: []string{"handle"}, summary: "ban an account for good: suspended, signed out, never restored",
		setup: func(fs *flag.FlagSet) adminRun {
			hide := fs.Bool("hide-messages", false, "also hide the account's messages from everyone else")
			return func(ctx context.Context, a *app.App, args []string, _ io.Reader) (any, string, error) {
				acc, err := a.Ban(ctx, args[0], *hide)
				if err != nil {
					return nil, "", accountErr(err, args[0])
				}
				return acc, fmt.Sprintf("%s is banned and signed out\n", acc.Handle), nil
			}
		}},
	{group: "user", verb: "reset-password", args: []string{"handle"}, summary: "set a new password (generated unless --password-stdin) and sign the account out",
		setup: func(fs *flag.FlagSet) adminRun {
			fromStdin := fs.Bool("password-stdin", false, "read the new password from the first line of standard input")
			return func(ctx context.Context, a *app.App, args []string, stdin io.Reader) (any, string, error) {
				pw, generated, err := password(*fromStdin, stdin)
				if err != nil {
					return nil, "", err
				}
				acc, ended, err := a.ResetPassword(ctx, args[0], pw)
				if err != nil {
					return nil, "", accountErr(err, args[0])
				}
				res := struct {
					User          *app.Account `json:"user"`
					Password      string       `json:"password,omitempty"`
					SessionsEnded int          `json:"sessions_ended"`
				}{User: acc, SessionsEnded: ended}
				text := fmt.Sprintf("password of %s reset; %d signed-in devices signed out\n", acc.Handle, ended)
				if generated {
					res.Password = pw
					text += "password: " + pw + "\n"
				}
				return res, text, nil
			}
		}},
	{group: "user", verb: "delete", args: []string{"handle"}, summary: "delete an account: signed out, profile wiped, content erased or anonymised per accounts.deletion, handle reserved",
		setup: func(fs *flag.FlagSet) adminRun {
			return func(ctx context.Context, a *app.App, args []string, _ io.Reader) (any, string, error) {
				res, err := a.DeleteAccountByHandle(ctx, args[0])
				if err != nil {
					return nil, "", accountErr(err, args[0])
				}
				text := fmt.Sprintf("%s is deleted (%s): %d messages erased, %d kept, %d signed-in devices and tokens ended, %d conversations left, %d bots retired; handle reserved until %s\n",
					res.Handle, res.Policy, res.Erased, res.Kept, res.SessionsEnded, res.ConversationsLeft, res.BotsRetired, res.HandleReservedUntil.Format(time.RFC3339))
				if res.Note != "" {
					text += "note: " + res.Note + "\n"
				}
				return res, text, nil
			}
		}},
	{group: "records", verb: "backfill-chain", summary: "append hash chain entries for history older than the chain (idempotent; run again if it stops)",
		setup: func(fs *flag.FlagSet) adminRun {
			return func(ctx context.Context, a *app.App, _ []string, _ io.Reader) (any, string, error) {
				st, err := a.BackfillChain(ctx, nil)
				if err != nil {
					return nil, "", err
				}
				return st, fmt.Sprintf("chain backfill: %d conversations looked at, %d backfilled, %d messages, %d entries appended\n",
					st.Conversations, st.Backfilled, st.Messages, st.Entries), nil
			}
		}},
	{group: "business", verb: "create", args: []string{"handle"}, summary: "create a business account; prints a generated password unless --password-stdin",
		setup: func(fs *flag.FlagSet) adminRun {
			kind := string(parley.KindBusiness)
			return createAccount(fs, &kind, nil)
		}},
	{group: "business", verb: "add-member", args: []string{"business", "handle"}, summary: "add a person to a business's team, or change their role",
		setup: func(fs *flag.FlagSet) adminRun {
			role := fs.String("role", "agent", "agent or admin")
			return func(ctx context.Context, a *app.App, args []string, _ io.Reader) (any, string, error) {
				if !parley.AgentRole(*role).Valid() {
					return nil, "", usagef("-role: %q is not a role; write agent or admin", *role)
				}
				ba, err := a.AsBusiness(ctx, args[0])
				if err != nil {
					return nil, "", err
				}
				ag, err := a.PutAgent(ctx, ba, args[1], app.AgentChange{Role: role})
				if err != nil {
					return nil, "", accountErr(err, args[1])
				}
				return ag, fmt.Sprintf("%s is %s of %s\n", ag.User.Handle, article(ag.Role), ba.Business.Handle), nil
			}
		}},
	{group: "token", verb: "create", args: []string{"handle"}, summary: "make an API token for an account; the secret is printed once",
		setup: func(fs *flag.FlagSet) adminRun {
			scopes := fs.String("scopes", "", "comma-separated scopes: "+strings.Join(app.TokenScopes, ", ")+" (required)")
			name := fs.String("name", "made by parley token create", "what the token is for")
			days := fs.Int("expires-in-days", 0, "days until it expires; 0 for never")
			return func(ctx context.Context, a *app.App, args []string, _ io.Reader) (any, string, error) {
				if *scopes == "" {
					return nil, "", usagef("-scopes is required; write e.g. -scopes read,messages:write (scopes: %s)", strings.Join(app.TokenScopes, ", "))
				}
				tok, err := a.CreateTokenFor(ctx, args[0], app.TokenInput{Name: *name, Scopes: splitList(*scopes), ExpiresInDays: *days})
				if err != nil {
					return nil, "", accountErr(err, args[0])
				}
				text := fmt.Sprintf("token %q for %s, scopes %s", tok.Name, args[0], strings.Join(tok.Scopes, ","))
				if tok.ExpiresAt != nil {
					text += ", expires " + tok.ExpiresAt.Format(time.RFC3339)
				}
				text += "\n" + tok.Token + "\n(shown once: only its hash is kept)\n"
				return tok, text, nil
			}
		}},
	{group: "hold", verb: "place", args: []string{"scope", "target"}, summary: "place a legal hold: scope conversation (target: its id), account (a handle) or contact (business-handle/contact-id)",
		setup: placeHold},
	{group: "hold", verb: "release", args: []string{"id"}, summary: "release a legal hold",
		setup: releaseHold},
	{group: "hold", verb: "list", summary: "list legal holds, newest first",
		setup: listHolds},
	{group: "retention", verb: "run", summary: "apply the retention policies now, and wait for the run to end",
		setup: runRetention},
	{group: "stats", summary: "count users, conversations, messages, media, sessions and business inboxes",
		setup: func(fs *flag.FlagSet) adminRun {
			return func(ctx context.Context, a *app.App, _ []string, _ io.Reader) (any, string, error) {
				st, err := a.Stats(ctx)
				if err != nil {
					return nil, "", err
				}
				var b strings.Builder
				tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
				fmt.Fprintf(tw, "users\t%d\t(%d people, %d businesses, %d bots; %d suspended)\n",
					st.Users[parley.KindPerson]+st.Users[parley.KindBusiness]+st.Users[parley.KindBot],
					st.Users[parley.KindPerson], st.Users[parley.KindBusiness], st.Users[parley.KindBot], st.SuspendedUsers)
				fmt.Fprintf(tw, "conversations\t%d\t(%d direct, %d groups)\n", st.Conversations[parley.ConversationDirect]+st.Conversations[parley.ConversationGroup],
					st.Conversations[parley.ConversationDirect], st.Conversations[parley.ConversationGroup])
				fmt.Fprintf(tw, "messages\t%d\t\n", st.Messages)
				fmt.Fprintf(tw, "media\t%d files\t(%s stored)\n", st.MediaFiles, humanBytes(st.MediaBytes))
				fmt.Fprintf(tw, "sessions\t%d\t(signed-in devices; %d API tokens)\n", st.Sessions, st.Tokens)
				fmt.Fprintf(tw, "business inboxes\t%d\t(%d customer conversations, %d team members)\n", st.BusinessInboxes, st.InboxConversations, st.Agents)
				tw.Flush()
				return st, b.String(), nil
			}
		}},
}

func createAccount(fs *flag.FlagSet, kind *string, admin *bool) adminRun {
	display := fs.String("display-name", "", "the name shown (default: the handle)")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	return func(ctx context.Context, a *app.App, args []string, stdin io.Reader) (any, string, error) {
		pw, generated, err := password(*fromStdin, stdin)
		if err != nil {
			return nil, "", err
		}
		acc, err := a.CreateAccount(ctx, app.Registration{Handle: args[0], Password: pw, DisplayName: *display, Kind: parley.UserKind(*kind)})
		if err != nil {
			return nil, "", err
		}
		if admin != nil && *admin {
			if acc, err = a.SetServerAdmin(ctx, acc.Handle, true); err != nil {
				return nil, "", err
			}
		}
		res := struct {
			User     *app.Account `json:"user"`
			Password string       `json:"password,omitempty"`
		}{User: acc}
		text := fmt.Sprintf("created %s %s (id %s)\n", acc.Kind, acc.Handle, acc.ID)
		if generated {
			res.Password = pw
			text += "password: " + pw + "\n"
		}
		return res, text, nil
	}
}

func suspend(on bool) adminRun {
	return func(ctx context.Context, a *app.App, args []string, _ io.Reader) (any, string, error) {
		acc, err := a.Suspend(ctx, args[0], on)
		if err != nil {
			return nil, "", accountErr(err, args[0])
		}
		if on {
			return acc, fmt.Sprintf("%s is suspended and signed out\n", acc.Handle), nil
		}
		return acc, fmt.Sprintf("%s is active again\n", acc.Handle), nil
	}
}

func promote(on bool) adminRun {
	return func(ctx context.Context, a *app.App, args []string, _ io.Reader) (any, string, error) {
		acc, err := a.SetServerAdmin(ctx, args[0], on)
		if err != nil {
			return nil, "", accountErr(err, args[0])
		}
		if on {
			return acc, fmt.Sprintf("%s is a server administrator\n", acc.Handle), nil
		}
		return acc, fmt.Sprintf("%s is no longer a server administrator\n", acc.Handle), nil
	}
}

// password reads the first line of stdin, or generates a password.
func password(fromStdin bool, stdin io.Reader) (pw string, generated bool, err error) {
	if !fromStdin {
		return app.GeneratePassword(), true, nil
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", false, fmt.Errorf("read the password: %w", err)
	}
	if line = strings.TrimRight(line, "\r\n"); line == "" {
		return "", false, usagef("-password-stdin: standard input holds no password; pipe one in, e.g. printf '%%s\\n' \"$PASSWORD\" | parley …")
	}
	return line, false, nil
}

// accountErr names the handle in a not-found error.
func accountErr(err error, handle string) error {
	if parley.IsNotFound(err) && !strings.Contains(parley.ErrorMessage(err), "business") {
		return parley.Errorf(parley.ENotFound, "no account %q", handle)
	}
	return err
}

func article(role string) string {
	if role == "admin" {
		return "an admin"
	}
	return "an agent"
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func findAdminCmd(group, verb string) (adminCmd, bool) {
	for _, c := range adminCmds {
		if c.group == group && c.verb == verb {
			return c, true
		}
	}
	return adminCmd{}, false
}

// adminInvocation is a parsed admin command line.
type adminInvocation struct {
	cmd    adminCmd
	args   []string
	json   bool
	stdin  bool // reads standard input (--password-stdin)
	src    *configSource
	runner adminRun
}

// parseAdmin parses "group [verb] args…": flags may come before, between
// or after the arguments.
func parseAdmin(line []string, stdout, stderr io.Writer) (*adminInvocation, error) {
	group, rest := line[0], line[1:]
	verb := ""
	if _, hasVerb := findAdminCmd(group, ""); !hasVerb {
		if len(rest) == 0 {
			printGroupUsage(stderr, group)
			return nil, usagef("parley %s: which command? (see above)", group)
		}
		if strings.HasPrefix(rest[0], "-") || rest[0] == "help" {
			printGroupUsage(stdout, group)
			return nil, flag.ErrHelp
		}
		verb, rest = rest[0], rest[1:]
	}
	cmd, ok := findAdminCmd(group, verb)
	if !ok {
		printGroupUsage(stderr, group)
		return nil, usagef("parley %s: unknown command %q", group, verb)
	}
	name := strings.TrimSpace("parley " + group + " " + verb)
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	inv := &adminInvocation{cmd: cmd}
	fs.BoolVar(&inv.json, "json", false, "print JSON")
	inv.runner = cmd.setup(fs)
	inv.src = configFlags(fs, "data_dir", "database_url")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: %s", name)
		for _, a := range cmd.args {
			fmt.Fprintf(fs.Output(), " <%s>", a)
		}
		fmt.Fprintf(fs.Output(), " [flags]\n\n%s.\n\n", cmd.summary)
		fs.PrintDefaults()
	}
	var err error
	if inv.args, err = parseInterspersed(fs, rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, usageError{err}
	}
	if len(inv.args) != len(cmd.args) {
		fs.Usage()
		return nil, usagef("%s takes %d argument(s), got %d", name, len(cmd.args), len(inv.args))
	}
	for _, name := range []string{"password-stdin", "new-key-stdin"} {
		if f := fs.Lookup(name); f != nil && f.Value.String() == "true" {
			inv.stdin = true
		}
	}
	return inv, nil
}

func printGroupUsage(w io.Writer, group string) {
	fmt.Fprintf(w, "usage: parley %s <command> [flags]; parley %s <command> -h for its flags\n\n", group, group)
	for _, c := range adminCmds {
		if c.group == group {
			fmt.Fprintf(w, "  %-16s %s\n", c.verb, c.summary)
		}
	}
}

// parseInterspersed parses flags anywhere among the positional arguments.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// exec runs the command on a and prints its result.
func (inv *adminInvocation) exec(ctx context.Context, a *app.App, stdin io.Reader, stdout io.Writer) error {
	// What an admin command changes is the operator's doing, in the audit log.
	ctx = app.WithOrigin(ctx, app.Origin{ActorID: parley.AuditOperator, Address: "local",
		UserAgent: strings.TrimSpace("parley " + inv.cmd.group + " " + inv.cmd.verb)})
	result, text, err := inv.runner(ctx, a, inv.args, stdin)
	if err != nil {
		if inv.json {
			code := parley.ErrorCode(err)
			var us usageError
			if errors.As(err, &us) {
				code = "usage"
			}
			writeJSON(stdout, map[string]any{"error": map[string]string{"code": code, "message": adminMessage(err)}})
		}
		return err
	}
	if inv.json {
		return writeJSON(stdout, result)
	}
	_, err = io.WriteString(stdout, text)
	return err
}

// adminMessage is an error as the operator reads it: the client-safe
// message of rule errors, the whole chain of others.
func adminMessage(err error) string {
	var pe *parley.Error
	if errors.As(err, &pe) {
		if pe.Field != "" && !strings.Contains(pe.Message, pe.Field) {
			return pe.Field + ": " + pe.Message
		}
		return pe.Message
	}
	return err.Error()
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// adminError turns a command's error into what main prints.
func adminError(err error) error {
	var pe *parley.Error
	if errors.As(err, &pe) {
		return errors.New(adminMessage(err))
	}
	return err
}

// adminCommand runs an admin command from the command line: on the
// running server when there is one, else on the store directly.
func adminCommand(ctx context.Context, group string, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	line := append([]string{group}, args...)
	inv, err := parseAdmin(line, stdout, stderr)
	if err != nil {
		return err
	}
	st, err := inv.src.load(getenv)
	if err != nil {
		return usageError{err}
	}
	// A mistyped data directory must not become a new, empty database.
	if st.Server.DatabaseURL == "" {
		if _, err := os.Stat(filepath.Join(st.Server.DataDir, "parley.db")); errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("no database in %s: is the data directory right? (parley serve or parley migrate creates one)", st.Server.DataDir)
		}
	}
	release, conn, err := claimDataDir(ctx, st.Server.DataDir)
	if err != nil {
		return err
	}
	if conn != nil {
		return sendAdmin(conn, line, inv.stdin, stdin, stdout, stderr)
	}
	defer release()
	store, ring, err := server.OpenStoreKeyring(st.Server)
	if err != nil {
		return err
	}
	defer store.Close()
	blobs, err := server.OpenBlobs(st.Server, ring)
	if err != nil {
		return err
	}
	// Warnings only: the command prints its own result.
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// On a database shared by nodes, the nodes hear of what the command
	// changes (a suspension, a reset password) over their bus, as from
	// one of them.
	notifier, err := server.OpenNotifier(st.Server, log)
	if err != nil {
		return err
	}
	defer notifier.Close()
	opts := append([]app.Option{app.WithLogger(log), app.WithKeyring(ring), app.WithBlobs(blobs)}, notifier.Options()...)
	a := app.New(store, st.Server.App, opts...)
	if err := notifier.Attach(a); err != nil {
		return err
	}
	if err := a.LoadWebhooks(ctx); err != nil {
		return fmt.Errorf("load webhooks: %w", err)
	}
	return adminError(inv.exec(ctx, a, stdin, stdout))
}

// claimDataDir takes the data directory's lock (the caller opens the
// store, and calls release when done) or, when a server holds it, connects
// to the server's admin socket. It waits a little for a server that is
// starting or another command that is running.
func claimDataDir(ctx context.Context, dataDir string) (release func(), conn net.Conn, err error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		release, err := lockDataDir(ctx, dataDir, 0)
		if err == nil {
			return release, nil, nil
		}
		if !errors.Is(err, errDataDirBusy) {
			return nil, nil, err
		}
		if conn, derr := dialAdmin(dataDir); derr == nil {
			return nil, conn, nil
		}
		if time.Now().After(deadline) {
			return nil, nil, fmt.Errorf("%w, and no server answers on its admin socket (%s)", err, adminSocketPath(dataDir))
		}
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// isAdminGroup reports whether the server may run a command line.
func isAdminGroup(group string) bool {
	return slices.ContainsFunc(adminCmds, func(c adminCmd) bool { return c.group == group })
}
