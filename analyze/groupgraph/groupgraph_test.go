package groupgraph

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/analyze"
	"github.com/lifeboat-social/lifeboat/analyze/follows"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

var ctx = context.Background()

func testGroup(t *testing.T) (*groups.Group, store.Store) {
	t.Helper()
	t.Setenv(store.EnvSecretKey, store.NewKey())
	st, err := store.Open(ctx, store.Config{Dir: filepath.Join(t.TempDir(), "state")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	g := &groups.Group{Name: "birders", ViableMass: 2, Lead: groups.Person{Name: "Ada", Email: "ada@example.org"},
		Members: []groups.Member{
			{Name: "Ada", Email: "ada@example.org", Handle: "@ada"},
			{Name: "Ben", Email: "ben@example.org", Handle: "@ben@social.example"},
			{Name: "Cy", Email: "cy@example.org"},
		}}
	if err := st.Groups().Put(ctx, store.Group{Name: g.Name}); err != nil {
		t.Fatal(err)
	}
	return g, st
}

func TestImportAndLoad(t *testing.T) {
	g, st := testGroup(t)
	now := time.Now()
	// Ada's X archive: she follows Cy by id (known once Cy's archive is
	// in) and a stranger; a stranger and Cy follow her.
	ada := &follows.Export{File: "ada.zip", Network: follows.X, Format: "X archive", Self: follows.Account{Handle: "Ada", ID: "1"},
		Following: []follows.Account{{ID: "3"}, {ID: "99"}, {ID: "3"}}, Followers: []follows.Account{{ID: "98"}, {ID: "3"}}}
	got, err := Import(ctx, st, g, "ADA@example.org", ada, now)
	if err != nil || got != (Imported{Self: "x:ada", Format: "X archive", Follows: 2}) {
		t.Fatalf("import Ada: %+v, %v", got, err)
	}
	// Cy's archive names Cy, and that she follows Ada (by id) and Ben's
	// fediverse address is in nobody's X list: it stays a stranger there.
	cy := &follows.Export{File: "cy.zip", Network: follows.X, Format: "X archive", Self: follows.Account{Handle: "cy", ID: "3"},
		Following: []follows.Account{{ID: "1"}, {ID: "99"}}, Followers: []follows.Account{{ID: "1"}, {ID: "97"}}}
	if got, err := Import(ctx, st, g, "cy@example.org", cy, now); err != nil || got.Follows != 2 || got.Followers != 1 {
		t.Fatalf("import Cy: %+v, %v", got, err)
	}
	// A Mastodon list does not say whose it is: Ben's is his by the handle
	// in the group file; Cy has none on the fediverse.
	ben := &follows.Export{File: "following.csv", Network: follows.Fedi, Format: "Mastodon following list",
		Following: []follows.Account{{Handle: "cy@elsewhere.example"}}}
	if got, err := Import(ctx, st, g, "ben@example.org", ben, now); err != nil || got.Self != "fedi:@ben@social.example" {
		t.Fatalf("Ben's list: %+v, %v", got, err)
	}
	cyFedi := &follows.Export{File: "cy.csv", Network: follows.Fedi, Format: "Mastodon following list"}
	if _, err := Import(ctx, st, g, "cy@example.org", cyFedi, now); !errors.Is(err, follows.ErrNoOwner) {
		t.Fatalf("no owner: %v", err)
	}
	// Someone else's export, and someone who is not in the group.
	if _, err := Import(ctx, st, g, "ben@example.org", cy, now); !errors.Is(err, ErrOtherMember) {
		t.Fatalf("Cy's archive as Ben's: %v", err)
	}
	if _, err := Import(ctx, st, g, "eve@example.org", &follows.Export{Network: follows.X, Self: follows.Account{Handle: "eve"}}, now); !errors.Is(err, ErrNotMember) {
		t.Fatalf("a stranger: %v", err)
	}

	gg, err := Load(ctx, st, g)
	if err != nil {
		t.Fatal(err)
	}
	if gg.Members != 3 || gg.Labels[Lead] != "ada@example.org" || !slices.Equal(gg.Imported, []bool{true, true, true}) {
		t.Fatalf("graph: %d members, labels %q, imported %v", gg.Members, gg.Labels, gg.Imported)
	}
	// Ada follows Cy (her id resolved through Cy's own archive) and x:id:99;
	// Cy follows Ada and x:id:99; Ben follows a stranger.
	out := func(email string) []string {
		var ls []string
		for _, v := range gg.Out(gg.Node[email]) {
			ls = append(ls, gg.Labels[v])
		}
		slices.Sort(ls)
		return ls
	}
	if a, c, b := out("ada@example.org"), out("cy@example.org"), out("ben@example.org"); !slices.Equal(a, []string{"cy@example.org", "x:id:99"}) ||
		!slices.Equal(c, []string{"ada@example.org", "x:id:99"}) || !slices.Equal(b, []string{"fedi:@cy@elsewhere.example"}) {
		t.Fatalf("follows: ada %q, cy %q, ben %q", a, c, b)
	}
	if f := gg.FollowsAmong([]string{"cy@example.org", "ben@example.org", "ada@example.org"}); !slices.Equal(f[0], []int32{2}) || f[1] != nil || !slices.Equal(f[2], []int32{0}) {
		t.Fatalf("FollowsAmong: %v", f)
	}
	kept := gg.Retention(map[string]bool{"cy@example.org": true})
	if k := kept["ada@example.org"]; k != (Kept{Going: 1, Follows: 2}) || k.String() != "1 of the 2 people you follow is going" {
		t.Fatalf("Ada's retention: %+v %q", k, k.String())
	}
	if _, ok := kept["nobody"]; ok || len(kept) != 3 {
		t.Fatalf("retention: %v", kept)
	}

	r, err := Analyze(ctx, st, g, analyze.Options{MinFollows: 1, Suggestions: 3})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Viable, []string{"ada@example.org", "cy@example.org"}) || len(r.Suggestions) == 0 ||
		r.Suggestions[0].Label != "x:id:99" || r.Suggestions[0].FollowedBy != 2 || r.Retention.Min != 0.5 {
		t.Fatalf("analysis: viable %q, suggestions %+v, retention %+v", r.Viable, r.Suggestions, r.Retention)
	}
	var svg bytes.Buffer
	if err := r.WriteSVG(&svg, LeadLabel(g)); err != nil || !strings.Contains(svg.String(), "<svg") {
		t.Fatalf("picture: %v", err)
	}

	// Ada deletes hers: Cy's follow of her stays (it is Cy's data), but
	// her X id is no longer known to be hers: it names a stranger again.
	if n, err := Delete(ctx, st, g, "ada@example.org"); err != nil || n != 1 {
		t.Fatalf("delete: %d, %v", n, err)
	}
	gg, _ = Load(ctx, st, g)
	if gg.Imported[Lead] || len(out("ada@example.org")) != 0 || !slices.Equal(out("cy@example.org"), []string{"x:id:1", "x:id:99"}) {
		t.Fatalf("after delete: ada %q, cy %q", out("ada@example.org"), out("cy@example.org"))
	}

	// Cy leaves the group file: her follows no longer count, though the
	// store's imports are the same.
	left := *g
	left.Members = g.Members[:2]
	gg, err = Load(ctx, st, &left)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := gg.Node["cy@example.org"]; ok || gg.Members != 2 || len(gg.Imports["cy@example.org"]) != 0 {
		t.Fatalf("after Cy left: %d members, nodes %v", gg.Members, gg.Node)
	}
}

// People who joined from the join page: once let in they are on the
// roster the callers pass (campaign.Roster, built here by hand: campaign
// imports this package), matched by the handles they typed; while they
// wait they may upload, and count once let in.
func TestJoinedPeople(t *testing.T) {
	g, st := testGroup(t)
	now := time.Now()
	for _, j := range []store.Join{
		{Email: "Dee@example.org", Name: "Dee", X: "@Dee_x", Instagram: "@dee.gram", Fediverse: "@dee@social.example", Bluesky: "dee.bsky.social"},
		{Email: "eve@example.org", Name: "Eve", X: "eve"},
		{Email: "fay@example.org", Name: "Fay", Decision: store.JoinDeclined},
		// Mal types Cy's X handle: a claim, which must not keep Cy from
		// uploading her own archive.
		{Email: "mal@example.org", Name: "Mal", X: "@cy"},
	} {
		j.Group, j.CreatedAt = g.Name, now
		if err := st.Joins().Add(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	roster := *g
	roster.Members = append(slices.Clone(g.Members), groups.Member{Name: "Dee", Email: "Dee@example.org"}, groups.Member{Name: "Mal", Email: "mal@example.org"})
	r := &roster

	// Exports that do not say whose they are: Dee's by the fediverse
	// address and the Instagram handle she typed.
	dee := &follows.Export{File: "following_accounts.csv", Network: follows.Fedi, Format: "Mastodon following list",
		Following: []follows.Account{{Handle: "ben@social.example"}}}
	if got, err := Import(ctx, st, r, "dee@example.org", dee, now); err != nil || got.Self != "fedi:@dee@social.example" || got.Follows != 1 {
		t.Fatalf("Dee's list: %+v, %v", got, err)
	}
	deeIG := &follows.Export{File: "following.json", Network: follows.Meta, Format: "Instagram following",
		Following: []follows.Account{{Handle: "cy"}}}
	if got, err := Import(ctx, st, r, "dee@example.org", deeIG, now); err != nil || got.Self != "ig:dee.gram" {
		t.Fatalf("Dee's Instagram: %+v, %v", got, err)
	}
	// (Cy gave no Instagram handle: ig:cy stays a stranger.)
	// Ada follows Dee by the X handle Dee typed, and Cy by hers, which
	// Mal typed too: Cy's own archive settles whose it is.
	ada := &follows.Export{File: "ada.zip", Network: follows.X, Format: "X archive", Self: follows.Account{Handle: "ada", ID: "1"},
		Following: []follows.Account{{Handle: "DEE_X"}, {Handle: "cy"}}}
	if _, err := Import(ctx, st, r, "ada@example.org", ada, now); err != nil {
		t.Fatal(err)
	}
	cy := &follows.Export{File: "cy.zip", Network: follows.X, Format: "X archive", Self: follows.Account{Handle: "cy", ID: "3"},
		Following: []follows.Account{{Handle: "dee_x"}}}
	if _, err := Import(ctx, st, r, "cy@example.org", cy, now); err != nil {
		t.Fatalf("Cy's archive, her handle typed by Mal: %v", err)
	}
	// Eve waits to be let in: she may upload, and is not in the graph
	// yet. Fay was declined; a stranger never joined.
	eve := &follows.Export{File: "eve.zip", Network: follows.X, Format: "X archive", Self: follows.Account{Handle: "eve", ID: "5"},
		Following: []follows.Account{{Handle: "ada"}}}
	if _, err := Import(ctx, st, r, "eve@example.org", eve, now); err != nil {
		t.Fatalf("Eve, waiting: %v", err)
	}
	for _, who := range []string{"fay@example.org", "zed@example.org"} {
		x := &follows.Export{File: "x.zip", Network: follows.X, Self: follows.Account{Handle: strings.Split(who, "@")[0]}}
		if _, err := Import(ctx, st, r, who, x, now); !errors.Is(err, ErrNotMember) {
			t.Fatalf("%s: %v", who, err)
		}
	}

	gg, err := Load(ctx, st, r)
	if err != nil {
		t.Fatal(err)
	}
	out := func(gg *Graph, email string) []string {
		var ls []string
		for _, v := range gg.Out(gg.Node[email]) {
			ls = append(ls, gg.Labels[v])
		}
		slices.Sort(ls)
		return ls
	}
	if _, ok := gg.Node["eve@example.org"]; ok || gg.Members != 5 || !gg.Imported[gg.Node["dee@example.org"]] {
		t.Fatalf("graph: %d members, nodes %v", gg.Members, gg.Node)
	}
	if a, c, d := out(gg, "ada@example.org"), out(gg, "cy@example.org"), out(gg, "dee@example.org"); !slices.Equal(a, []string{"cy@example.org", "dee@example.org"}) ||
		!slices.Equal(c, []string{"dee@example.org"}) || !slices.Equal(d, []string{"ben@example.org", "ig:cy"}) {
		t.Fatalf("follows: ada %q, cy %q, dee %q", a, c, d)
	}
	if len(gg.Imports["dee@example.org"]) != 2 {
		t.Fatalf("Dee's imports: %+v", gg.Imports["dee@example.org"])
	}
	// Eve is let in: the same store, a longer roster, a new graph.
	roster.Members = append(roster.Members, groups.Member{Name: "Eve", Email: "eve@example.org"})
	gg, err = Load(ctx, st, r)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out(gg, "eve@example.org"), []string{"ada@example.org"}) || !gg.Imported[gg.Node["eve@example.org"]] {
		t.Fatalf("Eve let in: %q", out(gg, "eve@example.org"))
	}
}
