package tui

import (
	"context"
	"strings"
	"testing"

	"github.com/lifeboat-social/lifeboat/escape/campaign"
	"github.com/lifeboat-social/lifeboat/groups"
)

// The pledges screen renders the domain's answer on readiness: the
// missing step when the destination is not ready, "ready" when it is.
func TestPledgesScreenShowsReadiness(t *testing.T) {
	const missing = "the local server is not running: lifeboat serve GROUP.yaml (or lifeboat demo) starts it"
	for _, tc := range []struct {
		r    campaign.Readiness
		want string
	}{
		{campaign.Readiness{Missing: missing}, "not ready: the local server is not running"},
		{campaign.Readiness{Ready: true}, "destination   ready"},
	} {
		f := newFixture(t)
		seedPledges(t, f.st, f.file)
		var asked string
		f.d.Readiness = func(_ context.Context, g *groups.Group, path string) (campaign.Readiness, error) {
			asked = g.Name + " " + path
			return tc.r, nil
		}
		m := play(t, sizes[1], New(context.Background(), f.d, f.file), waitFor("Jamal"), press("2"), waitFor(tc.want))
		view := m.(Model).View()
		if tc.r.Ready && strings.Contains(view, "not ready") {
			t.Errorf("ready destination shown as:\n%s", view)
		}
		if !strings.HasSuffix(asked, f.file) {
			t.Errorf("readiness asked for %q, want the open group file %s", asked, f.file)
		}
	}
}
