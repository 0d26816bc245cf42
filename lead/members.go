package lead

import (
	"context"
	"errors"
	"strings"

	"github.com/lifeboat-social/lifeboat/escape/campaign"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

// ApprovalPending is the approval of a person who joined and waits for
// the lead's decision (campaign.Person.Approval).
const ApprovalPending = "pending"

// Waiting reports whether p joined from the join page and waits for the
// lead to approve or decline them.
func Waiting(p campaign.Person) bool {
	return p.Source == campaign.SourceJoin && p.Approval == ApprovalPending
}

// Joins is what the lead reviews: the people who joined from the group's
// join page, in joining order, whatever was decided about them, and how
// many of them wait for a decision.
type Joins struct {
	People  []campaign.Person
	Waiting int
}

// Joins reads the people who joined g from its join page
// (campaign.People without the file's members).
func (d *Desk) Joins(ctx context.Context, g *groups.Group) (Joins, error) {
	people, err := campaign.People(ctx, d.Store, g)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Joins{}, nil // the store does not know the group yet: nobody joined
	case err != nil:
		return Joins{}, err
	}
	var j Joins
	for _, p := range people {
		if p.Source != campaign.SourceJoin {
			continue
		}
		j.People = append(j.People, p)
		if Waiting(p) {
			j.Waiting++
		}
	}
	return j, nil
}

// Handles is p's handles on one line, each but the file's named by its
// network ("@ann x:ann bsky:ann.bsky.social"); "" when they gave none.
func Handles(p campaign.Person) string {
	var hs []string
	for _, h := range []struct{ net, v string }{{"", p.Handle}, {"x:", p.X}, {"bsky:", p.Bluesky}, {"ig:", p.Instagram}, {"fedi:", p.Fediverse}} {
		if h.v != "" {
			hs = append(hs, h.net+h.v)
		}
	}
	return strings.Join(hs, " ")
}
