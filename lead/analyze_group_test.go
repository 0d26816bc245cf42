package lead

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/analyze"
	"github.com/lifeboat-social/lifeboat/analyze/follows"
	"github.com/lifeboat-social/lifeboat/analyze/groupgraph"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

// The TUI's analysis of the group's graph counts the people who joined
// from the join page and were let in, matched by the handles they typed.
func TestAnalyzeGroupJoined(t *testing.T) {
	ctx := context.Background()
	d, st := newDesk(t)
	g := *group
	g.Enrolment = groups.EnrolOpen
	g.Members = []groups.Member{{Name: "Ada", Email: "ada@example.org", Handle: "x:ada"}}
	now := time.Now()
	if err := st.Groups().Put(ctx, store.Group{Name: g.Name}); err != nil {
		t.Fatal(err)
	}
	if err := st.Joins().Add(ctx, store.Join{Group: g.Name, Email: "dee@example.net", Name: "Dee", X: "@dee_x", ConfirmedAt: now, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	// Each follows the other by X username; Dee is let in (open
	// enrolment, email confirmed), so the lead's import for her is kept.
	roster := g
	roster.Members = append(slices.Clone(g.Members), groups.Member{Name: "Dee", Email: "dee@example.net"})
	for _, x := range []struct{ email, self, follows string }{{"ada@example.org", "ada", "dee_x"}, {"dee@example.net", "dee_x", "ada"}} {
		ex := &follows.Export{File: x.self + ".zip", Network: follows.X, Format: "X archive", Self: follows.Account{Handle: x.self},
			Following: []follows.Account{{Handle: x.follows}}}
		if _, err := groupgraph.Import(ctx, st, &roster, x.email, ex, now); err != nil {
			t.Fatal(err)
		}
	}
	r, lead, err := d.AnalyzeGroup(ctx, &g, analyze.Options{MinFollows: 1}, nil)
	if err != nil || lead != "ada@example.org" || !slices.Equal(r.Viable, []string{"ada@example.org", "dee@example.net"}) {
		t.Fatalf("analysis: %+v, %q, %v", r, lead, err)
	}
}
