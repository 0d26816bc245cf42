// Package campaign is a group's pledge campaign as the store holds it:
// its standing (who would go now, by the threshold cascade), the launch
// (once, across every process sharing the store) and the personal invites
// of the members who go. The web server and the playbooks both run it;
// the web server also mails what it decides.
package campaign

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/invite"
	"github.com/lifeboat-social/lifeboat/pledge"
	"github.com/lifeboat-social/lifeboat/store"
)

// Status is the group's standing.
type Status struct {
	State      string
	LaunchedAt time.Time
	Outlook    pledge.Outlook
	// Going is who would go now (or who went, after launch), by lower-case
	// email.
	Going map[string]bool
	// Pledges that count (confirmed, not withdrawn, of current members).
	Pledges []store.Pledge
	// Unconfirmed pledges, not yet counted.
	Unconfirmed int
	// Withdrawn pledges of current members.
	Withdrawn  int
	LastPledge time.Time
	Opened     time.Time
}

// Read reads the group's pledges and runs the cascade. Pledges of people
// no longer in the group file do not count.
func Read(ctx context.Context, st store.Store, g *groups.Group) (Status, error) {
	sg, err := st.Groups().Get(ctx, g.Name)
	if err != nil {
		return Status{}, err
	}
	all, err := st.Pledges().List(ctx, g.Name)
	if err != nil {
		return Status{}, err
	}
	s := Status{State: sg.State, LaunchedAt: sg.LaunchedAt, Opened: sg.CreatedAt, Going: map[string]bool{}}
	var th []int
	for _, p := range all {
		if _, ok := g.Member(p.Email); !ok {
			continue
		}
		if p.Withdrawn {
			s.Withdrawn++
			continue
		}
		if p.UpdatedAt.After(s.LastPledge) {
			s.LastPledge = p.UpdatedAt
		}
		if !p.Confirmed {
			s.Unconfirmed++
			continue
		}
		s.Pledges = append(s.Pledges, p)
		th = append(th, p.Threshold)
	}
	going, _ := pledge.Cascade(th)
	for i, p := range s.Pledges {
		if going[i] {
			s.Going[strings.ToLower(p.Email)] = true
		}
	}
	s.Outlook = pledge.Explain(th, len(g.Members), g.ViableMass)
	return s, nil
}

// ErrNotGathering: the group has launched or failed already.
var ErrNotGathering = errors.New("group is not gathering pledges")

// ErrNotLaunched: invites exist only after launch.
var ErrNotLaunched = errors.New("group has not launched")

// Launch moves the group from gathering to launched, once across every
// process sharing the store: exactly one caller succeeds, the others get
// ErrNotGathering with the group's standing as it is then. byHand launches below viable mass (the lead's
// decision); it still needs someone going.
func Launch(ctx context.Context, st store.Store, g *groups.Group, byHand bool, now time.Time) (Status, error) {
	s, err := Read(ctx, st, g)
	if err != nil {
		return s, err
	}
	if s.State != pledge.StateGathering {
		return s, ErrNotGathering
	}
	if !s.Outlook.Viable && !byHand {
		return s, fmt.Errorf("not viable yet: %d would go, %d needed (viable_mass)", s.Outlook.Going, g.ViableMass)
	}
	if s.Outlook.Going == 0 {
		return s, errors.New("nobody would go yet")
	}
	switch err := st.Groups().SetState(ctx, g.Name, pledge.StateGathering, pledge.StateLaunched, now); {
	case errors.Is(err, store.ErrConflict):
		// Another process moved it first: report where it stands now.
		if now, rerr := Read(ctx, st, g); rerr == nil {
			s = now
		}
		return s, ErrNotGathering
	case err != nil:
		return s, fmt.Errorf("launch: %w", err)
	}
	return Read(ctx, st, g)
}

// Invite is one going member's personal invite.
type Invite struct {
	Name, Email string
	Token       string // for /invite/{token}; secret until sent
	Expires     time.Time
}

// Invites makes sure every going member of a launched group has an invite
// valid for ttl after the launch, and returns them in the group file's
// order. The tokens are the same every time (see package invite), so every
// process, and every run, hands out the same links.
func Invites(ctx context.Context, st store.Store, g *groups.Group, key ed25519.PrivateKey, ttl time.Duration) ([]Invite, error) {
	s, err := Read(ctx, st, g)
	if err != nil {
		return nil, err
	}
	if s.State != pledge.StateLaunched && s.State != pledge.StateArrived {
		return nil, ErrNotLaunched
	}
	expires := s.LaunchedAt.Add(ttl).Truncate(time.Second)
	var out []Invite
	for _, m := range g.Members {
		if !s.Going[strings.ToLower(m.Email)] {
			continue
		}
		tok, err := invite.Issue(ctx, st.Invites(), key, g.Name, m.Email, expires)
		if err != nil {
			return nil, err
		}
		out = append(out, Invite{Name: m.Name, Email: m.Email, Token: tok, Expires: expires})
	}
	return out, nil
}
