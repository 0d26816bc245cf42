package admission

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/store"
)

// RosterDrift compares the roster with what the accepted request admits
// (with the lead's amendments), whatever the case of the emails; with no
// request, or one not accepted, there is nothing to compare.
func TestRosterDrift(t *testing.T) {
	ctx := context.Background()
	const server = "https://s.example"
	const group = "uk-public-digital"
	if _, err := RosterDrift(ctx, openStore(t), group, server, nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("no group, no request: %v", err)
	}
	lead, _, req := leadGroup(t, server, "ada@example.org", "bob@example.org")
	if _, err := RosterDrift(ctx, lead, group, server, []string{"ada@example.org"}); !errors.Is(err, ErrNotAccepted) {
		t.Fatalf("not accepted: %v", err)
	}
	_, err := ImportAnswer(ctx, lead, group, NewAnswer(newKey(t), req.ID(), server, group, true, "", t0))
	must(t, err)

	d, err := RosterDrift(ctx, lead, group, "", []string{"ADA@example.org", "bob@example.org", "Carol@example.org", "carol@example.org"})
	must(t, err)
	if d.Request.ID() != req.ID() || !slices.Equal(d.Missing, []string{"carol@example.org"}) || d.Gone != 0 {
		t.Fatalf("Carol joined: %+v", d)
	}
	d, err = RosterDrift(ctx, lead, group, server, []string{"ada@example.org"})
	must(t, err)
	if len(d.Missing) != 0 || d.Gone != 1 {
		t.Fatalf("Bob left: %+v", d)
	}
	// The lead's amendment is what the request admits from then on.
	_, _, err = Amend(ctx, lead, group, server, []string{"ada@example.org", "carol@example.org"}, t0.Add(time.Hour))
	must(t, err)
	d, err = RosterDrift(ctx, lead, group, server, []string{"carol@example.org", "ada@example.org"})
	must(t, err)
	if len(d.Missing)+d.Gone != 0 {
		t.Fatalf("after the amendment: %+v", d)
	}
}
