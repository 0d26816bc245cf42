package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/lifeboat-social/lifeboat/escape/campaign"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/safetext"
	"github.com/lifeboat-social/lifeboat/lead"
	"github.com/lifeboat-social/lifeboat/web"
)

func newMembersCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "members",
		Short: "The roster: who is listed, who joined from the join page, approve, decline, remove",
	}
	cmd.AddCommand(newMembersListCmd(app), newMembersReviewCmd(app), newMembersRemoveCmd(app))
	return cmd
}

// membersServer builds the group's server for the members commands: the
// links in mail use --base-url (the one serve runs at). Without a relay
// the mails wait, journaled, for serve, which renders them itself.
func membersServer(cmd *cobra.Command, app *App, file string, f *webFlags, withMail bool) (*web.Server, error) {
	cfg := web.Config{Log: slog.New(slog.NewTextHandler(app.Stderr, nil))}
	if withMail {
		mail, err := f.mail.sender(app, false)
		if err != nil {
			return nil, err
		}
		if mail != nil && f.baseURL == "" {
			return nil, usageErrorf("--base-url is required with a mail relay: the mails carry links to the group's pages, e.g. --base-url https://lifeboat.example.org")
		}
		cfg.Mail = mail
	}
	if f.baseURL == "" {
		f.baseURL = "http://127.0.0.1" // no link is printed or mailed
	}
	return groupServer(cmd.Context(), app, file, f, cfg)
}

// tuiDecide is the TUI's approve and decline: web.Server.Decide, as
// lifeboat members review calls it, with the relay from the
// configuration (none: the mail waits, journaled, for serve).
func tuiDecide(ctx context.Context, app *App, file, baseURL, email string, approve bool) error {
	f := &webFlags{baseURL: baseURL}
	mail, err := f.mail.sender(app, false)
	if err != nil {
		return err
	}
	srv, err := groupServer(ctx, app, file, f, web.Config{Mail: mail})
	if err != nil {
		return err
	}
	return srv.Decide(ctx, email, approve)
}

func newMembersListCmd(app *App) *cobra.Command {
	var (
		f      webFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "list GROUP.yaml",
		Short: "Everyone on the roster, with where they came from, confirmation, approval, pledge and invite",
		Example: `  lifeboat members list group.yaml
  lifeboat members list group.yaml --json`,
		Args: exactlyOneGroupFile,
		RunE: func(cmd *cobra.Command, args []string) error {
			srv, err := membersServer(cmd, app, args[0], &f, false)
			if err != nil {
				return err
			}
			people, err := srv.People(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return printPeopleJSON(app.Stdout, people)
			}
			printPeople(app.Stdout, people)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the roster as a JSON array")
	return cmd
}

// printPeopleJSON prints people as JSON. The encoder escapes control
// characters but not the invisible ones (bidi overrides) a name may
// hide, so the text people typed goes through safetext first.
func printPeopleJSON(w io.Writer, people []campaign.Person) error {
	safe := make([]campaign.Person, len(people))
	for i, p := range people {
		for _, f := range []*string{&p.Name, &p.Email, &p.Handle, &p.X, &p.Bluesky, &p.Instagram, &p.Fediverse} {
			*f = safetext.Line(*f)
		}
		safe[i] = p
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(safe)
}

// printPeople prints the roster as a table; every field from outside
// goes through safetext.
func printPeople(w io.Writer, people []campaign.Person) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tEMAIL\tSOURCE\tCONFIRMED\tAPPROVAL\tMEMBER\tPLEDGE\tINVITE\tHANDLES")
	for _, p := range people {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", safetext.Line(p.Name), safetext.Line(p.Email), p.Source,
			yesNo(p.Confirmed), dash(p.Approval), yesNo(p.Member), pledgeText(p), dash(p.Invite), safetext.Line(handles(p)))
	}
	tw.Flush()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func pledgeText(p campaign.Person) string {
	if p.Going {
		return p.Pledge + " (going)"
	}
	return p.Pledge
}

// handles is the person's handles in one field.
func handles(p campaign.Person) string { return dash(lead.Handles(p)) }

func newMembersReviewCmd(app *App) *cobra.Command {
	var (
		f                webFlags
		approve, decline []string
		asJSON           bool
	)
	cmd := &cobra.Command{
		Use:   "review GROUP.yaml",
		Short: "Approve or decline the people who asked to join",
		Long: `Review shows each person who joined from the group's join page and waits for
the lead's decision: approved people are let in (they get their pledge page
by mail), declined people get one polite mail, once. With --approve and
--decline it decides for the emails given, without asking; otherwise it asks
about each person not decided yet, reading y (approve), n (decline), s (skip)
or q (quit) from the terminal or from standard input.

Mails go through the SMTP flags (as for serve, with --base-url); without a
relay the decisions are recorded and "lifeboat serve" sends the mails.`,
		Example: `  lifeboat members review group.yaml --base-url https://lifeboat.example.org
  lifeboat members review group.yaml --base-url https://lifeboat.example.org --approve ann@example.org --decline spam@example.net`,
		Args: exactlyOneGroupFile,
		RunE: func(cmd *cobra.Command, args []string) error {
			srv, err := membersServer(cmd, app, args[0], &f, true)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			decide := func(email string, yes bool) error {
				err := srv.Decide(ctx, email, yes)
				if errors.Is(err, campaign.ErrNotJoined) {
					return usageErrorf("%s: nobody joined %s with that email; see lifeboat members list %s", safetext.Line(email), safetext.Line(args[0]), safetext.Line(args[0]))
				}
				return err
			}
			if len(approve)+len(decline) > 0 {
				for _, e := range approve {
					if err := decide(e, true); err != nil {
						return err
					}
					fmt.Fprintf(app.Stdout, "approved %s\n", safetext.Line(e))
				}
				for _, e := range decline {
					if err := decide(e, false); err != nil {
						return err
					}
					fmt.Fprintf(app.Stdout, "declined %s\n", safetext.Line(e))
				}
			} else if err := reviewEach(cmd, app, srv, decide); err != nil {
				return err
			}
			// People let in after the admin accepted the request are not
			// approved on the server until the lead amends it: say so now.
			if g, _ := groups.Load(args[0]); g != nil && g.Destination.Type == groups.DestExisting {
				st, err := app.Store(ctx)
				if err != nil {
					return err
				}
				if err := printDrift(ctx, app, st, g, args[0], "Admission: "); err != nil {
					return err
				}
			}
			if asJSON {
				people, err := srv.People(ctx)
				if err != nil {
					return err
				}
				return printPeopleJSON(app.Stdout, people)
			}
			return nil
		},
	}
	f.register(cmd, true)
	cmd.Flags().StringArrayVar(&approve, "approve", nil, "approve the person who joined with this email (repeatable)")
	cmd.Flags().StringArrayVar(&decline, "decline", nil, "decline the person who joined with this email (repeatable)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the roster as JSON afterwards")
	return cmd
}

// reviewEach asks about every join still pending, one line of answer
// each.
func reviewEach(cmd *cobra.Command, app *App, srv *web.Server, decide func(string, bool) error) error {
	people, err := srv.People(cmd.Context())
	if err != nil {
		return err
	}
	in := bufio.NewScanner(io.LimitReader(cmd.InOrStdin(), 1<<20))
	out := app.Stdout
	if f, ok := cmd.InOrStdin().(*os.File); ok && isTerminal(f) {
		out = app.Stderr // prompts for a person, answers on stdout
	}
	pending := 0
	for _, p := range people {
		if !lead.Waiting(p) {
			continue
		}
		pending++
		fmt.Fprintf(out, "%s <%s>  confirmed: %s  pledge: %s  %s\n", safetext.Line(p.Name), safetext.Line(p.Email),
			yesNo(p.Confirmed), p.Pledge, safetext.Line(handles(p)))
		for {
			fmt.Fprint(out, "approve? [y]es, [n]o, [s]kip, [q]uit: ")
			if !in.Scan() {
				fmt.Fprintln(out)
				return in.Err()
			}
			switch strings.ToLower(strings.TrimSpace(in.Text())) {
			case "y", "yes":
				if err := decide(p.Email, true); err != nil {
					return err
				}
				fmt.Fprintf(app.Stdout, "approved %s\n", safetext.Line(p.Email))
			case "n", "no":
				if err := decide(p.Email, false); err != nil {
					return err
				}
				fmt.Fprintf(app.Stdout, "declined %s\n", safetext.Line(p.Email))
			case "s", "skip", "":
			case "q", "quit":
				return nil
			default:
				continue
			}
			break
		}
	}
	if pending == 0 {
		fmt.Fprintln(out, "nobody is waiting for a decision")
	}
	return nil
}

func newMembersRemoveCmd(app *App) *cobra.Command {
	var f webFlags
	cmd := &cobra.Command{
		Use:   "remove GROUP.yaml EMAIL...",
		Short: "Take people who joined off the group: their pledge and any invite are cancelled",
		Long: `Remove deletes each person who joined from the join page, with everything they
gave (name, email, handles, pledge), and cancels any invite they have not
used. A member the group file lists is removed by deleting them from the
file; remove then cancels their pledge and invite.`,
		Example: `  lifeboat members remove group.yaml ann@example.org`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 {
				return usageErrorf("remove needs a group file and at least one email, e.g. lifeboat members remove group.yaml ann@example.org")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			srv, err := membersServer(cmd, app, args[0], &f, false)
			if err != nil {
				return err
			}
			for _, email := range args[1:] {
				err := srv.Remove(cmd.Context(), email)
				var listed *campaign.ListedError
				switch {
				case errors.As(err, &listed):
					return usageErrorf("%s: %s is listed in the group file's members; delete that entry first, then run remove again to cancel their pledge and invite",
						safetext.Line(fileLine(args[0], email)), safetext.Line(email))
				case errors.Is(err, campaign.ErrNotJoined):
					return usageErrorf("%s: nobody with that email is in %s (see lifeboat members list %s)", safetext.Line(email), safetext.Line(args[0]), safetext.Line(args[0]))
				case err != nil:
					return err
				}
				fmt.Fprintf(app.Stdout, "removed %s\n", safetext.Line(email))
			}
			return nil
		},
	}
	return cmd
}

// fileLine is FILE:LINE of the first line under `members:` that holds
// email (the member's entry), or FILE when there is none to be found.
func fileLine(file, email string) string {
	data, err := os.ReadFile(file)
	if err != nil {
		return file
	}
	inMembers := false
	for i, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "members:") {
			inMembers = true
		}
		if inMembers && strings.Contains(strings.ToLower(line), strings.ToLower(email)) {
			return fmt.Sprintf("%s:%d", file, i+1)
		}
	}
	return file
}
