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
