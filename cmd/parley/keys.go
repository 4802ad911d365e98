package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/sealed"
)

// keyCmds manage encryption at rest (docs/security.md). They run on the
// server when it is up (its keyring learns the new key at once), else on
// the data directory.
var keyCmds = []adminCmd{
	{group: "keys", verb: "status", summary: "list the data keys of encryption at rest and whether stored data still uses each",
		setup: func(fs *flag.FlagSet) adminRun {
			return func(ctx context.Context, a *app.App, _ []string, _ io.Reader) (any, string, error) {
				st, err := a.KeyStatus(ctx)
				if err != nil {
					return nil, "", err
				}
				if !st.Enabled {
					return st, "encryption at rest is off (no PARLEY_ENCRYPTION_KEY)\n", nil
				}
				var b strings.Builder
				tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "KEY\tCREATED\tSTATE")
				for _, k := range st.Keys {
					state := "unused"
					switch {
					case k.ID == st.Current:
						state = "current (new writes)"
					case k.InUse:
						state = "in use (run parley keys reseal)"
					}
					fmt.Fprintf(tw, "%d\t%s\t%s\n", k.ID, k.CreatedAt.Format("2006-01-02 15:04:05Z"), state)
				}
				tw.Flush()
				return st, b.String(), nil
			}
		}},
	{group: "keys", verb: "rotate", summary: "make a new data key for new writes, re-encrypt stored messages and media under it, and drop the old keys nothing uses",
		setup: func(fs *flag.FlagSet) adminRun {
			return func(ctx context.Context, a *app.App, _ []string, _ io.Reader) (any, string, error) {
				res, err := a.RotateDataKey(ctx)
				if err != nil {
					if res != nil {
						return nil, "", fmt.Errorf("new data key %d made and in use; %w", res.NewKey, err)
					}
					return nil, "", err
				}
				return res, fmt.Sprintf("new data key %d; %s", res.NewKey, resealText(res)), nil
			}
		}},
	{group: "keys", verb: "reseal", summary: "re-encrypt what is not yet under the current data key (after an interrupted rotate, or data stored before encryption was on)",
		setup: func(fs *flag.FlagSet) adminRun {
			return func(ctx context.Context, a *app.App, _ []string, _ io.Reader) (any, string, error) {
				res, err := a.Reseal(ctx)
				if err != nil {
					return nil, "", err
				}
				return res, resealText(res), nil
			}
		}},
	{group: "keys", verb: "rewrap", summary: "wrap the data keys with a new master key (the data is not re-encrypted); then set the new key in the configuration",
		setup: func(fs *flag.FlagSet) adminRun {
			file := fs.String("new-key-file", "", "file holding the new master key (64 hex digits or base64)")
			fromStdin := fs.Bool("new-key-stdin", false, "read the new master key from the first line of standard input")
			return func(ctx context.Context, a *app.App, _ []string, stdin io.Reader) (any, string, error) {
				m, err := newMasterKey(*file, *fromStdin, stdin)
				if err != nil {
					return nil, "", usageError{err}
				}
				n, err := a.RewrapDataKeys(ctx, m)
				if err != nil {
					return nil, "", err
				}
				return map[string]int{"rewrapped": n}, fmt.Sprintf("%d data key(s) rewrapped: set the new key as PARLEY_ENCRYPTION_KEY before the next start; the old one no longer opens them\n", n), nil
			}
		}},
}

func resealText(res *app.ResealResult) string {
	dropped := "none"
	if len(res.DroppedKeys) > 0 {
		dropped = strings.Trim(fmt.Sprint(res.DroppedKeys), "[]")
	}
	return fmt.Sprintf("re-encrypted %d message(s) and %d of %d media file(s); old keys dropped: %s\n",
		res.Resealed, res.BlobsSealed, res.Blobs, dropped)
}

// newMasterKey reads the new master key of keys rewrap. It never comes as
// a flag's value: command lines show in process lists and in the
// server's log of admin commands.
func newMasterKey(file string, fromStdin bool, stdin io.Reader) (*sealed.MasterKey, error) {
	switch {
	case file != "" && fromStdin:
		return nil, errors.New("give --new-key-file or --new-key-stdin, not both")
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--new-key-file: %w", err)
		}
		return sealed.ParseMasterKey(string(b))
	case fromStdin:
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		return sealed.ParseMasterKey(line)
	}
	return nil, errors.New("give the new master key with --new-key-file or --new-key-stdin (make one with: openssl rand -hex 32)")
}
