package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/lifeboat-social/lifeboat/escape/campaign"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/safetext"
	"github.com/lifeboat-social/lifeboat/web"
)

func newAnnounceCmd(app *App) *cobra.Command {
	var (
		f         webFlags
		directory bool
		asJSON    bool
	)
	cmd := &cobra.Command{
		Use:   "announce GROUP.yaml",
		Short: "Print ready-to-post texts that gather the group, with its join link and standing",
		Long: `Announce prints what a lead posts on the old network to gather the group: a
short text that fits one post on X (280, a link counting 23) and on Bluesky
(300 characters), and a longer one for a blog or a newsletter. Both carry the
group's join link on its web server (--base-url, where "lifeboat serve" runs;
with --directory the group is one of several that serve hosts, under
/g/NAME/) and its standing by the threshold cascade ("41 would go now; 9 more
pledges would bring 14 more"). Run it again as pledges come in: the numbers
move. The group's pages carry a picture of the same standing for link
previews.`,
		Example: `  lifeboat announce group.yaml --base-url https://lifeboat.example.org
  lifeboat announce group.yaml --base-url https://lifeboat.example.org --directory --json`,
		Args: exactlyOneGroupFile,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if f.baseURL == "" {
				return usageErrorf("--base-url is required: the address people reach the group's pages at, e.g. https://lifeboat.example.org")
			}
			g, probs := groups.Load(args[0])
			if len(probs) > 0 {
				return reportProblems(app, probs)
			}
			if directory {
				f.baseURL = web.GroupBaseURL(f.baseURL, g.Name)
			}
			srv, err := groupServerFor(ctx, app, g, args[0], &f, web.Config{})
			if err != nil {
				return err
			}
			st, err := srv.Status(ctx)
			if err != nil {
				return err
			}
			a, err := campaign.Announce(g, st, srv.JoinURL())
			if errors.Is(err, campaign.ErrLinkTooLong) {
				return usageErrorf("%v: use a shorter --base-url", err)
			}
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(app.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(a)
			}
			// The texts quote the group file: what reaches the terminal
			// is sanitised, the JSON is data.
			fmt.Fprintf(app.Stdout, "Short post (X: %d of %d; Bluesky: %d of %d characters):\n\n%s\n\n",
				a.XWeight, campaign.XMaxWeight, a.Graphemes, campaign.BlueskyMaxText, safetext.Block(a.Short))
			fmt.Fprintf(app.Stdout, "Longer text, for a blog or newsletter:\n\n%s", safetext.Block(a.Long))
			return nil
		},
	}
	cmd.Flags().StringVar(&f.baseURL, "base-url", "", "public URL of the web server that serves the group (lifeboat serve)")
	cmd.Flags().BoolVar(&directory, "directory", false, "serve hosts several groups: the group's pages are under /g/NAME/")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the texts and the standing as one JSON object")
	return cmd
}
