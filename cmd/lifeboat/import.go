package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lifeboat-social/lifeboat/analyze"
	"github.com/lifeboat-social/lifeboat/analyze/follows"
	"github.com/lifeboat-social/lifeboat/analyze/groupgraph"
	"github.com/lifeboat-social/lifeboat/escape/campaign"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/atomicfile"
	"github.com/lifeboat-social/lifeboat/internal/safetext"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

func newImportCmd(app *App) *cobra.Command {
	var out, group, member string
	cmd := &cobra.Command{
		Use:   "import [OWNER=]FILE… --edges OUT | --group GROUP.yaml [--member EMAIL]",
		Short: "Turn downloaded data exports into one follow graph for analyze",
		Long: `Import reads the data exports people download from the networks they are
leaving, takes the follow lists out of them, and writes them as one edge
list that "lifeboat analyze --edges OUT" reads: the lead's own export, and
those members send, analysed together.

Each file's kind is told from its content, not its name:
  X archive             the zip from "Download an archive of your data"
                        (data/account.js, data/following.js, data/follower.js)
  Bluesky repository    the .car from Settings → Export my data
  Mastodon, GoToSocial  following_accounts.csv; following.csv, followers.csv
  Instagram, Threads    the export zip in JSON, or its following.json and
                        followers_1.json alone
  edge list             FOLLOWER FOLLOWEE lines (the SNAP format), copied

Only the follow lists and the owner of each file are read. Posts, messages,
e-mail addresses and media are skipped unread, and nothing but OUT is
written. A damaged, unexpected or oversized file stops the import with the
file, the entry or line, and what is wrong (exit 2), and OUT is left as it
was: a graph with people silently missing would mislead the analysis.

People are named by network and handle: x:ada_example, bsky:did:plc:…,
fedi:@ada@social.example, ig:ada.example (Threads shares Instagram's
usernames). An X follow list gives ids only: such an account is x:id:1234
until its owner's own archive is imported alongside and gives its handle.

Mastodon's and GoToSocial's CSVs and Instagram's files do not say whose they
are: write the owner before the file, OWNER=FILE.

OUT is written whole or not at all, readable by its owner only: it names
people who have not joined anything.

--group GROUP.yaml keeps the follows in the group's own graph instead, as
those of one member (--member EMAIL; the lead by default): the lead's own
export, and those members send instead of uploading them on their pledge
pages. What is kept is what an upload keeps: the member's identity, whom they
follow, and which members follow them; an earlier import of the same account
is replaced. A file that does not say whose it is is the member's account
named by their handle in the group file, or OWNER=. "lifeboat analyze
GROUP.yaml" then analyses the group's graph, and pledges may name people the
member follows.`,
		Example: `  lifeboat import twitter-2026-03-01.zip bsky.car --edges follows.txt
  lifeboat import @ada@social.example=following_accounts.csv \
      ada.example=instagram-ada.zip --edges follows.txt
  lifeboat analyze --edges follows.txt --min-follows 3
  lifeboat import --group group.yaml twitter-2026-03-01.zip
  lifeboat import --group group.yaml --member ben@example.org following_accounts.csv`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case out != "" && group != "":
				return usageErrorf("import writes --edges OUT or keeps the follows in --group GROUP.yaml, not both")
			case out == "" && group == "":
				return usageErrorf("import needs --edges OUT, the edge list to write, or --group GROUP.yaml")
			case member != "" && group == "":
				return usageErrorf("--member is the member of --group GROUP.yaml whose follows these are")
			case len(args) == 0:
				return usageErrorf("import needs at least one export to read")
			}
			if group != "" {
				return importForMember(cmd.Context(), app, group, member, args)
			}
			return runImport(app, args, out)
		},
	}
	cmd.Flags().StringVar(&out, "edges", "", "the edge list to write: FOLLOWER FOLLOWEE a line")
	cmd.Flags().StringVar(&group, "group", "", "keep the follows in this group's graph")
	cmd.Flags().StringVar(&member, "member", "", "whose follows they are (an email of the group file; default: the lead)")
	return cmd
}

func runImport(app *App, args []string, out string) error {
	var (
		exports []*follows.Export
		copied  [][2]string // the edges of plain edge lists, as written there
	)
	for _, arg := range args {
		owner, path := splitOwner(arg)
		if same(path, out) {
			return usageErrorf("--edges %s is also an input; write the graph to another file", out)
		}
		ex, err := readExport(path, owner, follows.DefaultLimits)
		switch {
		case errors.Is(err, follows.ErrUnknown):
			if owner != "" {
				return usageErrorf("%s: an edge list names everyone itself; drop %s=", path, owner)
			}
			g, gerr := analyze.ReadFile(path)
			if gerr != nil {
				return usageErr(fmt.Errorf("%w, nor an edge list: %v", err, gerr))
			}
			n := len(copied)
			for u := range int32(g.N()) {
				for _, v := range g.Out(u) {
					copied = append(copied, [2]string{g.Labels[u], g.Labels[v]})
				}
			}
			fmt.Fprintf(app.Stdout, "%s: edge list, %d follows among %d people\n", safetext.Line(path), len(copied)-n, g.N())
			continue
		case err != nil:
			return err
		}
		exports = append(exports, ex)
	}
	edges, err := follows.Edges(exports)
	var fe *follows.Error
	if errors.Is(err, follows.ErrNoOwner) && errors.As(err, &fe) {
		return usageErr(fmt.Errorf("%w; write its owner before it, e.g. %s=%s", err, ownerExample(exports, fe.File), fe.File))
	}
	if err != nil {
		return usageErr(err)
	}
	for _, ex := range exports {
		self := follows.Label(ex.Network, ex.Self)
		fmt.Fprintf(app.Stdout, "%s: %s of %s: follows %d, followed by %d\n",
			safetext.Line(ex.File), ex.Format, safetext.Line(self), len(ex.Following), len(ex.Followers))
	}
	edges = append(edges, copied...)
	var b bytes.Buffer
	fmt.Fprintf(&b, "# FOLLOWER FOLLOWEE, imported by lifeboat import from %d files\n", len(args))
	people := map[string]bool{}
	for _, e := range edges {
		b.WriteString(e[0] + " " + e[1] + "\n")
		people[e[0]], people[e[1]] = true, true
	}
	if err := atomicfile.Write(out, b.Bytes(), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(app.Stdout, "wrote %d follows among %d people to %s\n", len(edges), len(people), safetext.Line(out))
	return nil
}

// importForMember keeps the exports' follows in the group's graph as the
// member's. Every file is read before anything is kept, so a damaged one
// leaves the graph as it was.
func importForMember(ctx context.Context, app *App, file, member string, args []string) error {
	g, probs := groups.Load(file)
	if len(probs) > 0 {
		return reportProblems(app, probs)
	}
	if member == "" {
		member = g.Lead.Email
	}
	member = strings.ToLower(member)
	var exports []*follows.Export
	for _, arg := range args {
		owner, path := splitOwner(arg)
		ex, err := readExport(path, owner, groupgraph.Limits)
		switch {
		case errors.Is(err, follows.ErrUnknown):
			return usageErr(fmt.Errorf("%w; an edge list names no member: analyse it with lifeboat analyze --edges", err))
		case err != nil:
			return err
		}
		exports = append(exports, ex)
	}
	st, err := app.Store(ctx)
	if err != nil {
		return err
	}
	if err := st.Groups().Put(ctx, store.Group{Name: g.Name, Title: g.Title, File: file}); err != nil {
		return err
	}
	// One transaction: an export refused (another member's, say) leaves
	// the graph as it was, the ones before it included.
	kept := make([]groupgraph.Imported, len(exports))
	err = st.Tx(ctx, func(tx store.Store) error {
		// The roster: a person who joined from the join page is a member.
		roster, err := campaign.Roster(ctx, tx, g)
		if err != nil {
			return err
		}
		for i, ex := range exports {
			if kept[i], err = groupgraph.Import(ctx, tx, roster, member, ex, time.Now()); err != nil {
				return err
			}
		}
		return nil
	})
	var fe *follows.Error
	switch {
	case errors.Is(err, follows.ErrNoOwner) && errors.As(err, &fe):
		return usageErr(fmt.Errorf("%w; give the member's handle in the group file, or write its owner before it, e.g. %s=%s", err, ownerExample(exports, fe.File), fe.File))
	case errors.Is(err, groupgraph.ErrNotMember), errors.Is(err, groupgraph.ErrOtherMember), errors.Is(err, follows.ErrOwner):
		return usageErr(err)
	case err != nil:
		return err
	}
	for i, imp := range kept {
		fmt.Fprintf(app.Stdout, "%s: %s of %s, kept for %s: follows %d, followed by %d %s of the group\n",
			safetext.Line(exports[i].File), imp.Format, safetext.Line(imp.Self), safetext.Line(member), imp.Follows, imp.Followers, pluralWord(imp.Followers, "member", "members"))
	}
	return nil
}

// readExport reads the export at path, naming its owner when owner is
// set. Every error is bad input (exit 2); one wrapping follows.ErrUnknown
// is a file of no known kind, which the caller may take otherwise.
func readExport(path, owner string, lim follows.Limits) (*follows.Export, error) {
	ex, err := follows.ReadFile(path, lim)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, usageErrorf("no such file: %s", path)
	case err != nil:
		return nil, usageErr(err)
	}
	if owner != "" {
		if err := ex.SetOwner(owner); err != nil {
			return nil, usageErr(err)
		}
	}
	return ex, nil
}

// splitOwner splits OWNER=FILE. An argument that names an existing file
// is a file, even with = in its name.
func splitOwner(arg string) (owner, path string) {
	if _, err := os.Stat(arg); err == nil {
		return "", arg
	}
	if owner, path, ok := strings.Cut(arg, "="); ok && owner != "" {
		return owner, path
	}
	return "", arg
}

// same reports whether two paths name one file, so that the output never
// replaces an input.
func same(a, b string) bool {
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	if errA == nil && errB == nil {
		return os.SameFile(fa, fb)
	}
	return filepath.Clean(a) == filepath.Clean(b)
}

// ownerExample shows how an owner is written on the network of the file
// that lacks one.
func ownerExample(exports []*follows.Export, file string) string {
	for _, ex := range exports {
		if ex.File == file && ex.Network == follows.Meta {
			return "ada.example"
		}
	}
	return "@ada@social.example"
}
