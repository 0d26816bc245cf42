package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/capped"
	"github.com/lifeboat-social/lifeboat/internal/safetext"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/lead"
	"github.com/lifeboat-social/lifeboat/provision/existing"
	"github.com/lifeboat-social/lifeboat/provision/existing/admission"
)

func newRequestCmd(app *App) *cobra.Command {
	var (
		server, from, until, out, message string
		days                              int
		link, dm, amend                   bool
	)
	cmd := &cobra.Command{
		Use:   "request GROUP.yaml",
		Short: "Write a signed admission request for an existing server's admin",
		Long: `Request scouts the server and writes the group's admission request: the
group's name and title, the lead's contact, its size, the arrival window, the
server's rules the group accepts, salted hashes of the emails of everyone on
the roster (the file's members and, with approval or open enrolment, the people
who joined and were let in) and the group's public key, signed with the group's key (kept in the store).

Send the file to the server's admin (or, with --link, the one-line form); they
check and accept it with "lifeboat admin review". Members' invite pages then
carry a proof that the admin's "lifeboat admin watch" approves.

Once the admin's answer is imported ("lifeboat request accepted"), people
who join later (in the file or from the join page) or leave are an amendment, not a new request: --amend writes
one, signed with the same key and bound to the accepted request, with only the
changes, for the admin to review.

--dm also sends the server's contact account a direct message announcing the
request, from the lead's own account: its token comes from $LIFEBOAT_LEAD_TOKEN
and its server from $LIFEBOAT_LEAD_SERVER (default: the server asked).`,
		Example: `  lifeboat request group.yaml --server https://social.example --days 14
  lifeboat request group.yaml --from 2027-01-10 --until 2027-01-20 --out request.json
  lifeboat request accepted group.yaml answer.json
  lifeboat request group.yaml --amend`,
		Args: exactlyOneGroupFile,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			g, probs := groups.Load(args[0])
			if len(probs) > 0 {
				return reportProblems(app, probs)
			}
			if server == "" {
				server = g.Destination.Server
			}
			if server == "" {
				return usageErrorf("--server is required (or destination.server in %s)", args[0])
			}
			now := time.Now()
			if amend {
				return writeAmendment(app, cmd, g, server, out, now)
			}
			win, err := parseWindow(from, until, days, now)
			if err != nil {
				return usageErr(err)
			}
			st, err := app.Store(ctx)
			if err != nil {
				return err
			}
			file, _ := filepath.Abs(args[0])
			desk := &lead.Desk{Store: st, StateDir: app.StateDir}
			asked, err := desk.Request(ctx, lead.Ask{Group: g, File: file, Server: server, Window: win, Message: message, Now: now, Out: out})
			if err != nil {
				return err
			}
			req, r := asked.Request, asked.Server
			if asked.Supersedes {
				fmt.Fprintln(app.Stderr, "lifeboat: the admin accepted this group's latest request; a new one needs a new acceptance (to add or remove members, use --amend)")
			}
			if out == "-" {
				_, err = app.Stdout.Write(req.Encode())
				return err
			}
			out = asked.Path
			fmt.Fprintf(app.Stdout, "Wrote the admission request of %s (%d members) to %s for %s.\n", safetext.Line(g.Title), req.Size, out, safetext.Line(r.URL))
			fmt.Fprintf(app.Stdout, "Window: %s to %s. Group key fingerprint: %s (tell the admin over another channel).\n",
				win.From.Format(time.RFC3339), win.Until.Format(time.RFC3339), req.Fingerprint())
			switch r.Registrations {
			case existing.Closed:
				fmt.Fprintln(app.Stdout, "Registrations there are closed: the admin must also invite the members.")
			case existing.Open:
				fmt.Fprintln(app.Stdout, "Registrations there are open: members can sign up at once; the request tells the admin to expect them.")
			}
			contact := safetext.Line(orNone(r.ContactLine()))
			fmt.Fprintf(app.Stdout, "Send it to the admin (contact: %s), who runs: lifeboat admin review %s\n", contact, filepath.Base(out))
			if link {
				fmt.Fprintln(app.Stdout, req.Token())
			}
			if dm {
				if err := announceRequest(cmd.Context(), app, r, req); err != nil {
					return err
				}
				fmt.Fprintf(app.Stdout, "Sent a direct message to %s.\n", safetext.Line(r.Contact.Account))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&server, "server", "", "the server to ask (default: the group's destination.server)")
	cmd.Flags().StringVar(&from, "from", "", "start of the arrival window, YYYY-MM-DD or RFC 3339 (default now)")
	cmd.Flags().StringVar(&until, "until", "", "end of the arrival window (default: --days after the start)")
	cmd.Flags().IntVar(&days, "days", 14, "length of the arrival window in days, when --until is not given")
	cmd.Flags().StringVar(&out, "out", "", "where to write the request (default: the group's state directory; - for stdout)")
	cmd.Flags().StringVar(&message, "message", "", "a note to the admin, included in the request")
	cmd.Flags().BoolVar(&link, "link", false, "also print the request on one line (lifeboat-admission:…) for pasting")
	cmd.Flags().BoolVar(&dm, "dm", false, "also announce the request to the server's contact account by direct message")
	cmd.Flags().BoolVar(&amend, "amend", false, "write an amendment of the accepted request with the roster's changes, not a new request")
	cmd.AddCommand(newRequestAcceptedCmd(app))
	return cmd
}

// writeAmendment writes the amendment that brings the accepted request's
// roster to the group's roster: the file's members and the people who
// joined and were let in.
func writeAmendment(app *App, cmd *cobra.Command, g *groups.Group, server, out string, now time.Time) error {
	ctx := cmd.Context()
	st, err := app.Store(ctx)
	if err != nil {
		return err
	}
	desk := &lead.Desk{Store: st, StateDir: app.StateDir}
	a, req, err := desk.Amend(ctx, g, server, now)
	switch {
	case errors.Is(err, admission.ErrNoChange):
		fmt.Fprintf(app.Stdout, "The roster of request %s is unchanged: nothing to amend.\n", req.ID())
		return nil
	case errors.Is(err, admission.ErrNotAccepted) || errors.Is(err, store.ErrNotFound):
		return usageErr(err)
	case err != nil:
		return err
	}
	if out == "" {
		if _, err := app.GroupDir(g.Name); err != nil {
			return err
		}
		out = desk.RequestFile(g.Name, "amendment", req.Server, a.ID()[:8])
	}
	if out == "-" {
		_, err = app.Stdout.Write(a.Encode())
		return err
	}
	if err := os.WriteFile(out, a.Encode(), 0o644); err != nil {
		return fmt.Errorf("write amendment: %w", err)
	}
	fmt.Fprintf(app.Stdout, "Wrote the amendment of %s's request %s to %s: %d members added, %d removed.\n", safetext.Line(g.Title), req.ID(), out, len(a.Add), len(a.Remove))
	fmt.Fprintf(app.Stdout, "Send it to the admin of %s, who runs: lifeboat admin review %s\n", safetext.Line(req.Server), filepath.Base(out))
	return nil
}

func newRequestAcceptedCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "accepted GROUP.yaml ANSWER",
		Short: "Import the admin's signed answer to the group's request",
		Long: `Accepted imports the answer the server's admin wrote with "lifeboat admin
review --accept" (or --reject): it checks the admin's signature, that it
answers one of this group's requests or amendments, and that it comes from the
same admin key as the server's earlier answers (the first one is pinned: check
its fingerprint with the admin over another channel). The group launches on an
existing server only once the answer to its latest request is yes.`,
		Example: `  lifeboat request accepted group.yaml answer-3f2a9c01d4e5b6a7.json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return usageErrorf("accepted needs the group file and the admin's answer, e.g. lifeboat request accepted group.yaml answer.json")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			g, probs := groups.Load(args[0])
			if len(probs) > 0 {
				return reportProblems(app, probs)
			}
			data, err := readAnswer(args[1])
			if err != nil {
				return err
			}
			ans, err := admission.DecodeAnswer(data)
			if err != nil {
				return usageErrorf("%s: %v", args[1], err)
			}
			st, err := app.Store(ctx)
			if err != nil {
				return err
			}
			about, err := admission.ImportAnswer(ctx, st, g.Name, ans)
			if errors.Is(err, admission.ErrNotOurs) || errors.Is(err, admission.ErrAdminKeyChanged) {
				return usageErrorf("%s: %v", args[1], err)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(app.Stdout, "Imported the answer of %s's admin to %s: %s%s. Admin key fingerprint: %s.\n",
				safetext.Line(ans.Server), about, decisionWord(ans.Accepted), safetext.Line(quoted(ans.Message)), ans.AdminFingerprint())
			ok, err := admission.AcceptedFor(ctx, st, g.Name)
			if err != nil {
				return err
			}
			if !ok {
				fmt.Fprintf(app.Stdout, "%s's latest request is not accepted: the group does not launch there.\n", safetext.Line(g.Title))
				return nil
			}
			fmt.Fprintf(app.Stdout, "The admin accepted %s's latest request: the destination is ready for the launch.\n", safetext.Line(g.Title))
			return printDrift(ctx, app, st, g, args[0], "But ")
		},
	}
}

// printDrift tells the lead, after something that changes the roster or
// the accepted request, who the admin's server will not approve yet and
// which command fixes it; nothing when the two agree.
func printDrift(ctx context.Context, app *App, st store.Store, g *groups.Group, file, prefix string) error {
	drift, err := (&lead.Desk{Store: st, StateDir: app.StateDir}).RequestDrift(ctx, g)
	if err != nil {
		return err
	}
	if note := lead.DriftNote(drift, file); note != "" {
		fmt.Fprintf(app.Stdout, "%s%s.\n", prefix, safetext.Line(note))
	}
	return nil
}

// readAnswer reads an answer file, refusing one larger than any answer.
func readAnswer(path string) ([]byte, error) {
	b, err := capped.ReadFile(path, maxAnswer)
	if errors.Is(err, os.ErrNotExist) {
		return nil, usageErrorf("no such answer file: %s", path)
	}
	if tl := (*capped.TooLargeError)(nil); errors.As(err, &tl) {
		return nil, usageErrorf("%s: answer files are limited to %s", path, capped.Size(maxAnswer))
	}
	return b, err
}

// maxAnswer bounds an answer file: it holds a message and a few keys.
const maxAnswer = 64 << 10

// parseWindow reads --from/--until/--days; dates without a time start at
// midnight UTC (from) or end at the end of the day (until).
func parseWindow(from, until string, days int, now time.Time) (admission.Window, error) {
	parse := func(s string, end bool) (time.Time, error) {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return t, nil
		}
		t, err := time.Parse("2006-01-02", s)
		if err != nil {
			return time.Time{}, fmt.Errorf("bad date %q: want YYYY-MM-DD or RFC 3339", s)
		}
		if end {
			t = t.Add(24*time.Hour - time.Second)
		}
		return t, nil
	}
	w := admission.Window{From: now}
	var err error
	if from != "" {
		if w.From, err = parse(from, false); err != nil {
			return w, err
		}
	}
	if until != "" {
		if w.Until, err = parse(until, true); err != nil {
			return w, err
		}
	} else {
		if days < 1 {
			return w, fmt.Errorf("--days must be at least 1")
		}
		w.Until = w.From.Add(time.Duration(days) * 24 * time.Hour)
	}
	if !w.Until.After(w.From) {
		return w, fmt.Errorf("the window ends (%s) before it starts (%s)", w.Until.Format(time.RFC3339), w.From.Format(time.RFC3339))
	}
	if w.Until.Before(now) {
		return w, fmt.Errorf("the window ended already (%s)", w.Until.Format(time.RFC3339))
	}
	return w, nil
}

// announceRequest announces the request to the server's contact account
// from the lead's own account ($LIFEBOAT_LEAD_TOKEN, $LIFEBOAT_LEAD_SERVER):
// lifeboat request --dm and the TUI.
func announceRequest(ctx context.Context, app *App, r *existing.Report, req *admission.Request) error {
	cfg, err := app.config()
	if err != nil {
		return err
	}
	if cfg.LeadToken == "" {
		return usageErrorf("announcing the request needs the lead's access token in $LIFEBOAT_LEAD_TOKEN")
	}
	return lead.Announce(ctx, r, req, cfg.LeadServer, cfg.LeadToken)
}
