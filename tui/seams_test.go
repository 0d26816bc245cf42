package tui

import (
	"context"
	"go/build"
	"slices"
	"testing"

	"github.com/lifeboat-social/lifeboat/store"
)

// The TUI renders the domain's answers: it reaches no store, no
// Mastodon-API client, no cloud and no YAML itself.
func TestTUIImportsNoDomainInternals(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, banned := range []string{
		"github.com/lifeboat-social/lifeboat/store",
		"github.com/lifeboat-social/lifeboat/fedi",
		"github.com/lifeboat-social/lifeboat/provision/hetzner",
		"gopkg.in/yaml.v3",
	} {
		if slices.Contains(pkg.Imports, banned) {
			t.Errorf("tui imports %s", banned)
		}
	}
	if len(pkg.Imports) == 0 {
		t.Fatal("read no imports")
	}
}

// A pledge of someone no longer in the group file does not count: the
// pledges screen shows campaign.Read's standing.
func TestPledgesOfRemovedMembersDoNotCount(t *testing.T) {
	f := newFixture(t)
	seedPledges(t, f.st, f.file)
	gone := store.Pledge{Group: "river-birders", Email: "gone@example.org", Confirmed: true, CreatedAt: fixedNow, UpdatedAt: fixedNow}
	if err := f.st.Pledges().Put(context.Background(), gone); err != nil {
		t.Fatal(err)
	}
	play(t, sizes[1], New(context.Background(), f.d, f.file), waitFor("Jamal"), press("2"),
		waitFor("6 of 12 members (1 unconfirmed, 0 withdrawn)"))
}
