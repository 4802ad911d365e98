package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/parleyhq/parley/app"
)

// The legal hold and retention commands of the server's administrators.

// operatorName names who runs an admin command in holds and retention
// runs: -by, or the login name.
func operatorName(fs *flag.FlagSet) *string {
	def := os.Getenv("USER")
	if def == "" {
		def = "admin"
	}
	return fs.String("by", def, "the operator's name, recorded with the hold or run")
}

func placeHold(fs *flag.FlagSet) adminRun {
	by := operatorName(fs)
	reason := fs.String("reason", "", "why (kept with the hold)")
	return func(ctx context.Context, a *app.App, args []string, _ io.Reader) (any, string, error) {
		h, err := a.PlaceHold(ctx, *by, app.HoldInput{Scope: args[0], Target: args[1], Reason: *reason})
		if err != nil {
			return nil, "", err
		}
		return h, fmt.Sprintf("hold %s placed on %s %s: its messages are kept until it is released\n", h.ID, h.Scope, args[1]), nil
	}
}

func releaseHold(fs *flag.FlagSet) adminRun {
	by := operatorName(fs)
	return func(ctx context.Context, a *app.App, args []string, _ io.Reader) (any, string, error) {
		h, err := a.ReleaseHold(ctx, *by, args[0])
		if err != nil {
			return nil, "", err
		}
		return h, fmt.Sprintf("hold %s released: overdue content goes at the reaper's next pass\n", h.ID), nil
	}
}

func listHolds(fs *flag.FlagSet) adminRun {
	return func(ctx context.Context, a *app.App, _ []string, _ io.Reader) (any, string, error) {
		hs, err := a.Holds(ctx)
		if err != nil {
			return nil, "", err
		}
		var b strings.Builder
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSCOPE\tTARGET\tACTIVE\tBY\tREASON")
		for _, h := range hs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\t%s\n", h.ID, h.Scope, h.TargetID, h.Active, h.CreatedBy, h.Reason)
		}
		tw.Flush()
		return map[string]any{"items": hs}, b.String(), nil
	}
}

func runRetention(fs *flag.FlagSet) adminRun {
	by := operatorName(fs)
	dry := fs.Bool("dry-run", false, "count what would be purged; purge nothing")
	return func(ctx context.Context, a *app.App, _ []string, _ io.Reader) (any, string, error) {
		j, err := a.StartRetention(ctx, *by, *dry)
		if err != nil {
			return nil, "", err
		}
		if err := a.RunRetentionJobs(ctx); err != nil {
			return nil, "", err
		}
		if j, err = a.RetentionJob(ctx, j.ID); err != nil {
			return nil, "", err
		}
		verb := "purged"
		if j.DryRun {
			verb = "would purge"
		}
		return j, fmt.Sprintf("retention run %s %s: scanned %d, %s %d, kept by a legal hold %d\n", j.ID, j.State, j.Scanned, verb, j.Purged, j.HeldSkipped), nil
	}
}
