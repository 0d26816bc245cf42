package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lifeboat-social/lifeboat/campaign"
	"github.com/lifeboat-social/lifeboat/internal/safetext"
	"github.com/lifeboat-social/lifeboat/web"
)

func newInvitesCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "invites",
		Short: "The personal invite links of a launched group",
	}
	var (
		f         webFlags
		csvFile   string
		sheetFile string
	)
	export := &cobra.Command{
		Use:   "export GROUP.yaml",
		Short: "Write the invite links as CSV and as a printable sheet with QR codes",
		Long: `Export writes every going member's invite link, the same links that were
mailed at launch, for other channels: as CSV (name, email, link, expires; to
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
			if csvFile == "" || csvFile == "-" {
				// stdout may be a terminal: names and emails come from
				// the group file and from members.
				var b strings.Builder
				if err := web.WriteInvitesCSV(&b, links); err != nil {
					return err
				}
				if _, err := io.WriteString(app.Stdout, safetext.Block(b.String())); err != nil {
					return err
				}
			} else if err := writePrivate(csvFile, func(f *os.File) error { return web.WriteInvitesCSV(f, links) }); err != nil {
				return err
			}
			if sheetFile != "" {
				if err := writePrivate(sheetFile, func(f *os.File) error { return web.WriteInvitesSheet(f, srv.GroupTitle(), links) }); err != nil {
					return err
				}
			}
			fmt.Fprintf(app.Stderr, "%d invite %s\n", len(links), pluralWord(len(links), "link", "links"))
			return nil
		},
	}
	f.register(export, false)
	export.Flags().StringVar(&csvFile, "csv", "", "write the CSV to this file instead of stdout")
	export.Flags().StringVar(&sheetFile, "sheet", "", "write a printable HTML sheet with QR codes to this file")
	cmd.AddCommand(export)
	return cmd
}

// writePrivate writes a file readable only by its owner.
func writePrivate(path string, write func(*os.File) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
