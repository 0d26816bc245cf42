package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/lifeboat-social/lifeboat/escape/campaign"
	"github.com/lifeboat-social/lifeboat/internal/atomicfile"
	"github.com/lifeboat-social/lifeboat/internal/safetext"
	"github.com/lifeboat-social/lifeboat/web"
)

func newInvitesCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "invites",
		Short: "The personal invite links of a launched group",
	}
	var (
		f   webFlags
		out exportFlags
	)
	export := &cobra.Command{
		Use:   "export GROUP.yaml",
		Short: "Write the invite links as CSV and as a printable sheet with QR codes",
		Long: `Export writes every going member's current invite link, the same links that
were mailed, for other channels: as CSV (name, email, link, expires; to
stdout or --csv FILE) and as a printable HTML sheet with a QR code per member
(--sheet FILE). The files hold working invites: they are written 0600.`,
		Example: `  lifeboat invites export group.yaml --base-url https://lifeboat.example.org --csv invites.csv --sheet invites.html`,
		Args:    exactlyOneGroupFile,
		RunE: func(cmd *cobra.Command, args []string) error {
			srv, err := groupServer(cmd.Context(), app, args[0], &f, web.Config{})
			if err != nil {
				return err
			}
			links, err := srv.Invites(cmd.Context())
			if errors.Is(err, campaign.ErrNotLaunched) {
				return usageErrorf("the group has not launched yet: invites exist only after launch")
			}
			if err != nil {
				return err
			}
			if err := out.write(app, web.InviteSheet, srv.GroupTitle(), links); err != nil {
				return err
			}
			fmt.Fprintf(app.Stderr, "%d invite %s\n", len(links), pluralWord(len(links), "link", "links"))
			return nil
		},
	}
	f.register(export, false)
	out.register(export)

	var (
		rf     webFlags
		member string
	)
	reissue := &cobra.Command{
		Use:   "reissue GROUP.yaml [--member EMAIL]",
		Short: "Give members a fresh invite link; their old link stops working",
		Long: `Reissue gives members a fresh invite link, valid for --invite-ttl from now,
and stops their earlier link at once (whoever holds it gets "this invite is no
longer valid"). With --member EMAIL it is that member, whose link was lost or
expired; without, every going member whose invite expired unused. The new
links are mailed (through --smtp-* or $LIFEBOAT_SMTP_*; without SMTP the mails
wait for "lifeboat serve", and "lifeboat invites export" prints the links).`,
		Example: `  lifeboat invites reissue group.yaml --member ben@example.org --base-url https://lifeboat.example.org
  lifeboat invites reissue group.yaml --base-url https://lifeboat.example.org`,
		Args: exactlyOneGroupFile,
		RunE: func(cmd *cobra.Command, args []string) error {
			mail, err := rf.mail.sender(app, false)
			if err != nil {
				return err
			}
			srv, err := groupServer(cmd.Context(), app, args[0], &rf, web.Config{Mail: mail})
			if err != nil {
				return err
			}
			links, err := srv.Reissue(cmd.Context(), member)
			switch {
			case errors.Is(err, campaign.ErrNotLaunched):
				return usageErrorf("the group has not launched yet: invites exist only after launch")
			case errors.Is(err, campaign.ErrNoInvite):
				return usageErr(err)
			case err != nil && len(links) == 0:
				return err
			case err != nil:
				fmt.Fprintf(app.Stderr, "lifeboat: the fresh links are made, but not all were mailed: %v\n", err)
			}
			for _, l := range links {
				fmt.Fprintf(app.Stdout, "fresh invite for %s, valid until %s\n", l.Email, l.Expires.UTC().Format("2 January 2006 15:04 MST"))
			}
			fmt.Fprintf(app.Stdout, "%d invite %s reissued\n", len(links), pluralWord(len(links), "link", "links"))
			return nil
		},
	}
	rf.register(reissue, true)
	reissue.Flags().StringVar(&member, "member", "", "reissue this member's invite only (their email)")
	cmd.AddCommand(export, reissue)
	return cmd
}

// exportFlags are where an export of personal links goes.
type exportFlags struct{ csv, sheet string }

func (o *exportFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.csv, "csv", "", "write the CSV to this file instead of stdout")
	cmd.Flags().StringVar(&o.sheet, "sheet", "", "write a printable HTML sheet with QR codes to this file")
}

// write writes the links as CSV (stdout, or the --csv file) and, with
// --sheet, as a printable sheet: lifeboat pledges export, lifeboat
// invites export and the TUI's export. Files are written whole or not at
// all and readable only by their owner: they hold working links.
func (o *exportFlags) write(app *App, kind web.Sheet, title string, links []web.InviteLink) error {
	var b bytes.Buffer
	if err := web.WriteLinksCSV(&b, links); err != nil {
		return err
	}
	if o.csv == "" || o.csv == "-" {
		// stdout may be a terminal: names and emails come from the group
		// file and from members.
		if _, err := io.WriteString(app.Stdout, safetext.Block(b.String())); err != nil {
			return err
		}
	} else if err := atomicfile.Write(o.csv, b.Bytes(), 0o600); err != nil {
		return err
	}
	if o.sheet == "" {
		return nil
	}
	b.Reset()
	if err := web.WriteSheet(&b, kind, title, links); err != nil {
		return err
	}
	return atomicfile.Write(o.sheet, b.Bytes(), 0o600)
}
