package main

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/parleyhq/parley/records"
	"github.com/parleyhq/parley/server"
)

// verifyCommand runs parley verify: it checks an export ZIP without the
// server (and without its database) and prints where it breaks.
func verifyCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	keyArg := fs.String("key", "", "the server's public key (base64, from GET /api/v1/records/key) or a PEM file holding it; without it the export's own key is checked")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: parley verify [--key KEY] [--json] EXPORT.zip")
		fs.PrintDefaults()
	}
	files, err := interspersed(fs, args)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		fs.Usage()
		return usagef("verify takes one export file")
	}
	var opts records.Options
	if *keyArg != "" {
		key, err := parsePublicKey(*keyArg)
		if err != nil {
			return usagef("--key: %v", err)
		}
		opts.TrustedKey = key
	}
	f, err := os.Open(files[0])
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	rep, err := records.Verify(f, st.Size(), opts)
	if err != nil {
		return fmt.Errorf("%s: %w", files[0], err)
	}
	if *asJSON {
		if err := writeJSON(stdout, rep); err != nil {
			return err
		}
	} else {
		printReport(stdout, files[0], rep)
	}
	if !rep.OK {
		return exitStatus(exitFailed)
	}
	return nil
}

func printReport(w io.Writer, name string, rep *records.Report) {
	for _, c := range rep.Conversations {
		state := "ok"
		if !c.OK {
			state = "BROKEN"
		}
		fmt.Fprintf(w, "conversation %s: %d entries, %d messages (%d removed): %s\n", c.ID, c.Entries, c.Messages, c.Purged, state)
	}
	for _, p := range rep.Problems {
		fmt.Fprintln(w, "problem:", p)
	}
	if rep.Truncated {
		fmt.Fprintln(w, "problem: … and more")
	}
	signer := "key " + rep.KeyFingerprint
	if rep.TrustedKey != nil && *rep.TrustedKey {
		signer += " (the trusted key)"
	}
	if rep.OK {
		fmt.Fprintf(w, "%s: verified — complete and unaltered, signed by %s\n", name, signer)
		if rep.TrustedKey == nil {
			// Anyone can re-sign a forged export with a key of their own:
			// only a key known to be the server's proves who signed it.
			fmt.Fprintf(w, "warning: the signer was checked against the export's own key only; to prove it is the server, compare %s with GET /api/v1/records/key or pass --key\n", rep.KeyFingerprint)
		}
	} else {
		fmt.Fprintf(w, "%s: NOT verified (%d problems)\n", name, len(rep.Problems))
	}
}

// parsePublicKey reads an Ed25519 public key: base64 of its 32 bytes, or
// a file in PEM (PUBLIC KEY, PKIX) or holding the base64.
func parsePublicKey(s string) (ed25519.PublicKey, error) {
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == ed25519.PublicKeySize {
		return b, nil
	}
	buf, err := os.ReadFile(s)
	if err != nil {
		return nil, fmt.Errorf("neither a base64 Ed25519 key nor a readable file: %w", err)
	}
	if block, _ := pem.Decode(buf); block != nil {
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		if pub, ok := k.(ed25519.PublicKey); ok {
			return pub, nil
		}
		return nil, errors.New("the PEM key is not Ed25519")
	}
	if b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(buf))); err == nil && len(b) == ed25519.PublicKeySize {
		return b, nil
	}
	return nil, errors.New("the file holds no Ed25519 public key")
}

// interspersed parses flags before and after the positional arguments,
// which it returns.
func interspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err}
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos, args = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
}

// backupTimeout bounds a backup run by the server for the command.
const backupTimeout = 6 * time.Hour

// parseWithArg parses serve's flags followed by one path argument.
func parseWithArg(name, usage string, args []string, getenv func(string) string, stderr io.Writer) (*settings, string, *bool, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the result as JSON")
	src := configFlags(fs)
	fs.Usage = func() { fmt.Fprintln(stderr, usage) }
	parse, err := interspersed(fs, args)
	if err != nil {
		return nil, "", nil, err
	}
	if len(parse) != 1 {
		return nil, "", nil, usagef("%s", usage)
	}
	st, err := src.load(getenv)
	if err != nil {
		return nil, "", nil, usageError{err}
	}
	path, err := filepath.Abs(parse[0])
	if err != nil {
		return nil, "", nil, err
	}
	return st, path, asJSON, nil
}

// backupCommand runs parley backup DEST: through the running server's
// admin socket when there is one (the snapshot then uses its database
// while it serves), or on the data directory directly.
func backupCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	st, dest, asJSON, err := parseWithArg("backup", "usage: parley backup [serve's flags] [--json] DEST (a new or empty directory)", args, getenv, stderr)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(st.Server.DataDir, "parley.db")); st.Server.DatabaseURL == "" && errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no database in %s: is the data directory right?", st.Server.DataDir)
	}
	release, conn, err := claimDataDir(ctx, st.Server.DataDir)
	if err != nil {
		return err
	}
	var res *server.BackupResult
	if conn != nil {
		if res, err = backupOverSocket(conn, dest); err != nil {
			return err
		}
	} else {
		defer release()
		store, err := server.OpenStore(st.Server)
		if err != nil {
			return err
		}
		res, err = server.BackupStore(ctx, store, st.Server, dest)
		if cerr := store.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	if *asJSON {
		return writeJSON(stdout, res)
	}
	fmt.Fprintf(stdout, "backup written to %s: database %d bytes, %d media files (%d bytes)\n", res.Dir, res.Database, res.MediaFiles, res.MediaBytes)
	return nil
}

// backupRequest is the admin socket's request for a backup.
const backupVerb = "backup"

func backupOverSocket(conn net.Conn, dest string) (*server.BackupResult, error) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(backupTimeout + time.Minute))
	if err := json.NewEncoder(conn).Encode(adminRequest{Args: []string{backupVerb, dest}}); err != nil {
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	var resp adminResponse
	if err := json.NewDecoder(conn).Decode(&resp); err != nil {
		return nil, fmt.Errorf("admin socket: no answer from the server: %w", err)
	}
	if resp.Exit != 0 {
		return nil, errors.New(resp.Error)
	}
	var res server.BackupResult
	if err := json.Unmarshal([]byte(resp.Stdout), &res); err != nil {
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	return &res, nil
}

// restoreCommand runs parley restore SRC into an empty data directory.
func restoreCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	st, src, asJSON, err := parseWithArg("restore", "usage: parley restore [serve's flags] [--json] SRC (a directory parley backup wrote)", args, getenv, stderr)
	if err != nil {
		return err
	}
	release, err := lockDataDir(ctx, st.Server.DataDir, 0)
	if err != nil {
		return fmt.Errorf("restore: %w; stop the server and restore into an empty data directory", err)
	}
	defer release()
	// The lock file is the only thing allowed in the new data directory.
	res, err := server.Restore(ctx, st.Server, src)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, res)
	}
	fmt.Fprintf(stdout, "restored %s into %s: integrity check ok, database %d bytes, %d media files\n", src, res.Dir, res.Database, res.MediaFiles)
	return nil
}
