package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lifeboat-social/lifeboat/internal/safetext"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/provision/existing"
	"github.com/lifeboat-social/lifeboat/provision/existing/admission"
)

func newAdminCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "admin",
		Short: "For a server's admin: review groups' admission requests, approve their members",
		Long: `Admin is the server admin's side of a group's admission: "review" checks a
group's signed request and records the decision; "watch" approves the pending
sign-ups that carry a valid proof of an accepted group's member, and leaves
every other sign-up for the admin.`,
	}
	cmd.AddCommand(newAdminReviewCmd(app), newAdminWatchCmd(app))
	return cmd
}

func newAdminReviewCmd(app *App) *cobra.Command {
	var (
		accept, reject, noScout bool
		message, server, answer string
	)
	cmd := &cobra.Command{
		Use:   "review REQUEST",
		Short: "Check an admission request or amendment and accept or reject it",
		Long: `Review reads an admission request (a file, an https link to one, its one-line
lifeboat-admission:… form, or - for stdin), checks its signature, and shows the
group, its lead, its size against the server's active users, the rules it
accepts against the server's current rules, and the arrival window.

With --accept or --reject it records the decision (and --message) in the
store, under the request's identity (derived from its content and the group's
key, so no other request can read or change it); "lifeboat admin watch" then
approves the members of accepted groups. It also writes your answer, signed
with your admin key (kept 0600 in your state directory), for the lead to
import with "lifeboat request accepted": the group launches only once it has.

An amendment of a request you accepted (members who joined the group later,
or left it) is reviewed the same way: review shows only its changes. Its
removals apply as soon as you review it; --accept or --reject answers its
additions.`,
		Example: `  lifeboat admin review admission-social.example.json
  lifeboat admin review admission-social.example.json --accept --message "Welcome!"
  lifeboat admin review amendment-social.example.json --accept`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("review needs one request, e.g. lifeboat admin review request.json")
			}
			if accept && reject {
				return usageErrorf("--accept and --reject exclude each other")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			data, err := readRequest(cmd, args[0])
			if err != nil {
				return err
			}
			st, err := app.Store(ctx)
			if err != nil {
				return err
			}
			var decide *bool
			if accept || reject {
				decide = &accept
			}
			if admission.IsAmendment(data) {
				return reviewAmendment(app, cmd, st, data, decide, message, answer)
			}
			req, verr := admission.Decode(data)
			if req == nil {
				return fmt.Errorf("read the request: %w", verr)
			}
			if server == "" {
				server = req.Server
			}
			var r *existing.Report
			var scoutErr error
			if !noScout {
				r, scoutErr = existing.ScoutURL(ctx, server, nil)
			}
			prev, perr := admission.DecisionFor(ctx, st.Journal(), req.ID())
			if perr != nil && !errors.Is(perr, store.ErrNotFound) {
				return perr
			}
			printRequest(app.Stdout, req, verr, r, scoutErr, time.Now())
			if perr == nil {
				fmt.Fprintf(app.Stdout, "  %-14s %s on %s%s\n", "decision", decisionWord(prev.Accepted), prev.At.Format(time.RFC3339), safetext.Line(quoted(prev.Message)))
			} else {
				fmt.Fprintf(app.Stdout, "  %-14s none yet\n", "decision")
			}
			if verr != nil {
				return fmt.Errorf("the request does not verify: %w", verr)
			}
			if decide == nil {
				return nil
			}
			if !admission.SameServer(req.Server, server) {
				return usageErrorf("the request is addressed to %s, not %s", req.Server, server)
			}
			now := time.Now()
			if err := admission.Decide(ctx, st.Journal(), req, accept, message, now); err != nil {
				return err
			}
			if accept {
				fmt.Fprintf(app.Stdout, "Accepted. Members of %s who sign up on %s between %s and %s with their proof, and confirm their email, are approved by:\n  lifeboat admin watch --server %s\n",
					safetext.Line(req.Group.Title), safetext.Line(req.Server), req.Window.From.Format(time.RFC3339), req.Window.Until.Format(time.RFC3339), safetext.Line(req.Server))
			} else {
				fmt.Fprintf(app.Stdout, "Rejected. The watcher approves none of %s's sign-ups.\n", safetext.Line(req.Group.Title))
			}
			return writeAnswer(app, req.ID(), req.Server, req.Group.Name, req.Lead, accept, message, now, answer)
		},
	}
	cmd.Flags().BoolVar(&accept, "accept", false, "accept the request (of an amendment: its additions)")
	cmd.Flags().BoolVar(&reject, "reject", false, "reject the request (of an amendment: its additions)")
	cmd.Flags().StringVar(&message, "message", "", "a message with the decision, kept in the log and sent in the answer")
	cmd.Flags().StringVar(&server, "server", "", "your server (default: the server the request names)")
	cmd.Flags().BoolVar(&noScout, "no-scout", false, "do not read the server's current rules and size")
	cmd.Flags().StringVar(&answer, "answer", "", "where to write the signed answer for the lead (default: answers/ in the state directory)")
	return cmd
}

func decisionWord(accepted bool) string {
	if accepted {
		return "accepted"
	}
	return "rejected"
}

// reviewAmendment shows an amendment's changes to a request the admin
// accepted, records it (its removals apply at once) and, with decide,
// answers its additions.
func reviewAmendment(app *App, cmd *cobra.Command, st store.Store, data []byte, decide *bool, message, answer string) error {
	ctx := cmd.Context()
	a, err := admission.DecodeAmendment(data)
	if err != nil {
		return fmt.Errorf("read the amendment: %w", err)
	}
	d, err := admission.AmendmentBase(ctx, st.Journal(), a)
	if err != nil {
		return fmt.Errorf("the amendment cannot be taken: %w", err)
	}
	req := d.Request
	prev, perr := admission.AmendmentFor(ctx, st.Journal(), a)
	now := time.Now()
	rec, err := admission.RecordAmendment(ctx, st.Journal(), a, decide, message, now)
	if err != nil {
		return err
	}
	members, err := admission.Members(ctx, st.Journal(), d)
	if err != nil {
		return err
	}
	w := app.Stdout
	row := func(k, format string, args ...any) {
		fmt.Fprintf(w, "  %-14s %s\n", k, safetext.Line(fmt.Sprintf(format, args...)))
	}
	fmt.Fprintf(w, "Amendment %s of admission request %s to %s\n", a.ID(), req.ID(), safetext.Line(req.Server))
	row("signature", "valid (group key %s, the request's own)", req.Fingerprint())
	row("group", "%s (%s), accepted on %s", req.Group.Title, req.Group.Name, d.At.Format(time.RFC3339))
	row("adds", "%d members (only these need your decision)", len(a.Add))
	row("removes", "%d members (applied now: removals need no acceptance)", len(a.Remove))
	row("members", "%d admitted now", len(members))
	switch {
	case rec.Decided:
		row("decision", "additions %s on %s%s", decisionWord(rec.Accepted), rec.At.Format(time.RFC3339), quoted(rec.Message))
	default:
		row("decision", "additions not answered yet")
	}
	if decide == nil {
		return nil
	}
	if perr == nil && prev.Decided && prev.Accepted == *decide {
		fmt.Fprintln(w, "Answered before; the answer is written again.")
	}
	return writeAnswer(app, a.ID(), req.Server, req.Group.Name, req.Lead, *decide, message, now, answer)
}

// writeAnswer writes the admin's signed answer and tells the admin where
// it is and whom to send it to.
func writeAnswer(app *App, id, server, group string, lead admission.Contact, accepted bool, message string, at time.Time, file string) error {
	ans, file, err := admission.WriteAnswer(app.StateDir, file, id, server, group, accepted, message, at)
	if err != nil {
		return err
	}
	fmt.Fprintf(app.Stdout, "Wrote your signed answer to %s. Send it to the lead (%s <%s>), who runs:\n  lifeboat request accepted GROUP.yaml %s\nYour admin key fingerprint: %s (tell the lead over another channel).\n",
		file, safetext.Line(lead.Name), safetext.Line(lead.Email), filepath.Base(file), ans.AdminFingerprint())
	return nil
}

// readRequest reads REQUEST: a file, an http(s) link, - for stdin, or
// the one-line form itself.
func readRequest(cmd *cobra.Command, arg string) ([]byte, error) {
	switch {
	case arg == "-":
		return io.ReadAll(io.LimitReader(cmd.InOrStdin(), 16<<20))
	case strings.HasPrefix(arg, admission.TokenPrefix):
		return []byte(arg), nil
	case strings.HasPrefix(arg, "https://") || strings.HasPrefix(arg, "http://"):
		req, err := http.NewRequestWithContext(cmd.Context(), http.MethodGet, arg, nil)
		if err != nil {
			return nil, usageErr(err)
		}
		resp, err := (&http.Client{Timeout: existing.DefaultTimeout}).Do(req)
		if err != nil {
			return nil, fmt.Errorf("fetch the request: %w", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("fetch the request: %s", resp.Status)
		}
		return io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	}
	b, err := os.ReadFile(arg)
	if errors.Is(err, os.ErrNotExist) {
		return nil, usageErrorf("no such request file: %s", arg)
	}
	return b, err
}

func printRequest(w io.Writer, req *admission.Request, verr error, r *existing.Report, scoutErr error, now time.Time) {
	// Everything in a request, and the server's answers, come from outside.
	row := func(k, format string, a ...any) {
		fmt.Fprintf(w, "  %-14s %s\n", k, safetext.Line(fmt.Sprintf(format, a...)))
	}
	fmt.Fprintf(w, "Admission request %s to %s\n", req.ID(), safetext.Line(req.Server))
	if verr != nil {
		row("signature", "INVALID: %v", verr)
	} else {
		row("signature", "valid (group key %s)", req.Fingerprint())
	}
	row("group", "%s (%s)", req.Group.Title, req.Group.Name)
	row("lead", "%s <%s>", req.Lead.Name, req.Lead.Email)
	size := fmt.Sprintf("%d members", req.Size)
	switch {
	case r != nil && r.ActiveUsers > 0:
		size += fmt.Sprintf(", %d%% of your %d active users", req.SharePercent(r.ActiveUsers), r.ActiveUsers)
	case r != nil:
		size += " (your server publishes no active users)"
	}
	row("size", "%s", size)
	state := "open now"
	switch {
	case now.Before(req.Window.From):
		state = "opens in " + roundDur(req.Window.From.Sub(now))
	case now.After(req.Window.Until):
		state = "ended"
	}
	row("window", "%s to %s (%s)", req.Window.From.Format(time.RFC3339), req.Window.Until.Format(time.RFC3339), state)
	if req.Message != "" {
		row("message", "%s", req.Message)
	}
	row("rules", "the group accepts %d:", len(req.Rules))
	for i, rule := range req.Rules {
		fmt.Fprintf(w, "    %d. %s\n", i+1, safetext.Line(rule))
	}
	switch {
	case scoutErr != nil:
		row("server", "not checked: %v", scoutErr)
	case r != nil:
		missing := req.MissingRules(r.Rules)
		if len(missing) == 0 {
			row("rules now", "the group accepted all %d of your current rules", len(r.Rules))
		} else {
			row("rules now", "%d of your current rules are not in the request:", len(missing))
			for _, m := range missing {
				fmt.Fprintf(w, "    - %s\n", safetext.Line(m))
			}
		}
	}
}

func roundDur(d time.Duration) string {
	if d >= 48*time.Hour {
		return fmt.Sprintf("%d days", int(d.Hours()/24))
	}
	return d.Round(time.Minute).String()
}

func quoted(s string) string {
	if s == "" {
		return ""
	}
	return fmt.Sprintf(" (%q)", s)
}

func newAdminWatchCmd(app *App) *cobra.Command {
	var (
		server, tokenFile string
		dryRun, once      bool
		interval          time.Duration
	)
	cmd := &cobra.Command{
		Use:   "watch --server URL",
		Short: "Approve pending sign-ups that prove membership of an accepted group",
		Long: `Watch polls the server's pending sign-ups and approves exactly those whose
sign-up reason carries a valid member proof of a group you accepted with
"lifeboat admin review": signed by the group's key, for that member's email,
one account per member whatever the email's case, inside the arrival window,
and only once the server has confirmed the account's email. Every other sign-up is left for you,
untouched. Every decision is logged in the store; --dry-run only shows them.

The admin token needs the scopes admin:read:accounts and admin:write:accounts
(on GoToSocial: an admin's token). It comes from $LIFEBOAT_ADMIN_TOKEN or from
--token-file, a file readable only by you (0600); it is never a flag.`,
		Example: `  LIFEBOAT_ADMIN_TOKEN=… lifeboat admin watch --server https://social.example
  lifeboat admin watch --server https://social.example --token-file ~/.config/lifeboat/admin-token --once --dry-run`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if server == "" {
				return usageErrorf("--server is required, e.g. --server https://social.example")
			}
			tok, err := app.adminToken(tokenFile)
			if err != nil {
				return err
			}
			st, err := app.Store(ctx)
			if err != nil {
				return err
			}
			w, accepted, err := admission.StartWatch(ctx, st.Journal(), server, tok, dryRun)
			if err != nil {
				return err
			}
			if accepted == 0 {
				fmt.Fprintf(app.Stderr, "lifeboat: no accepted admission request for %s yet: every sign-up is left for you (accept one with lifeboat admin review)\n", safetext.Line(server))
			}
			every := interval
			if once {
				every = 0
			}
			err = w.Watch(ctx, every, func(v admission.Verdict) {
				fmt.Fprintln(app.Stdout, time.Now().UTC().Format(time.RFC3339), safetext.Line(v.String()))
			})
			if ctx.Err() != nil {
				return nil // stopped by the admin (Ctrl-C)
			}
			return err
		},
	}
	cmd.Flags().StringVar(&server, "server", "", "your server's URL")
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "file holding the admin token, mode 0600 (default: $LIFEBOAT_ADMIN_TOKEN)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "show what would be approved, change nothing")
	cmd.Flags().BoolVar(&once, "once", false, "poll once and exit")
	cmd.Flags().DurationVar(&interval, "interval", 30*time.Second, "time between polls")
	return cmd
}

// adminToken reads the admin token from $LIFEBOAT_ADMIN_TOKEN or a file
// that only its owner can read.
func (app *App) adminToken(file string) (string, error) {
	if file == "" {
		cfg, err := app.config()
		if err != nil {
			return "", err
		}
		if cfg.AdminToken != "" {
			return cfg.AdminToken, nil
		}
		return "", usageErrorf("no admin token: set $LIFEBOAT_ADMIN_TOKEN or give --token-file (mode 0600)")
	}
	fi, err := os.Stat(file)
	if err != nil {
		return "", usageErrorf("admin token file: %v", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", usageErrorf("admin token file %s is readable by others (mode %#o): chmod 600 it", file, fi.Mode().Perm())
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", usageErrorf("admin token file: %v", err)
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", usageErrorf("admin token file %s is empty", file)
	}
	return t, nil
}
