package campaign

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

// The roster: the members the group file lists, and, when the group's
// enrolment is approval or open, the people who joined from its join page
// and were let in. Everything that counts members (the cascade, the
// launch, the invites) reads the roster, never the file alone.

// Sources of a person on the roster.
const (
	SourceFile = "file" // listed in the group file
	SourceJoin = "join" // joined from the join page
)

var (
	// ErrEnrolmentClosed: the group takes no joins (enrolment: closed).
	ErrEnrolmentClosed = errors.New("the group takes no joins: its enrolment is closed")
	// ErrJoined: the email is on the roster already, or has joined.
	ErrJoined = errors.New("already joined")
	// ErrNotJoined: nobody joined with that email.
	ErrNotJoined = errors.New("nobody joined with that email")
)

// ListedError is a person the lead cannot remove with the tools: the
// group file lists them; the file must change first.
type ListedError struct{ Email string }

func (e *ListedError) Error() string {
	return e.Email + " is listed in the group file's members: delete them there first, then remove them again to cancel their pledge and invite"
}

// Admitted reports whether a person who joined counts as a member:
// approved by the lead, or, with open enrolment, once they confirmed
// their email. A declined person never does.
func Admitted(g *groups.Group, j store.Join) bool {
	switch g.EnrolmentOrDefault() {
	case groups.EnrolClosed:
		return false
	case groups.EnrolOpen:
		return j.Decision == store.JoinApproved || (j.Decision == "" && j.Confirmed())
	}
	return j.Decision == store.JoinApproved
}

// Roster is g with its admitted joins added to Members, after the file's
// members in the order they joined. A closed group's roster is g itself.
func Roster(ctx context.Context, st store.Store, g *groups.Group) (*groups.Group, error) {
	if g.EnrolmentOrDefault() == groups.EnrolClosed {
		return g, nil
	}
	joins, err := st.Joins().List(ctx, g.Name)
	if err != nil {
		return nil, err
	}
	r := *g
	r.Members = append([]groups.Member(nil), g.Members...)
	for _, j := range joins {
		if _, listed := g.Member(j.Email); listed || !Admitted(g, j) {
			continue
		}
		r.Members = append(r.Members, groups.Member{Name: j.Name, Email: j.Email})
	}
	return &r, nil
}

// Enrol records a join from the join page. A person already on the
// roster, or who joined before, gets ErrJoined and nothing changes.
func Enrol(ctx context.Context, st store.Store, g *groups.Group, j store.Join) error {
	if g.EnrolmentOrDefault() == groups.EnrolClosed {
		return ErrEnrolmentClosed
	}
	if _, listed := g.Member(j.Email); listed {
		return ErrJoined
	}
	j.Group = g.Name
	err := st.Joins().Add(ctx, j)
	if errors.Is(err, store.ErrDuplicate) {
		return ErrJoined
	}
	return err
}

// Decide records the lead's approval or refusal of a join. Deciding again
// changes the decision (a declined person may be approved after all, and
// upload their follows again). The follows a declined person sent with
// their join would never count, so they are deleted with the decision.
func Decide(ctx context.Context, st store.Store, g *groups.Group, email string, approve bool, now time.Time) error {
	d := store.JoinDeclined
	if approve {
		d = store.JoinApproved
	}
	err := st.Tx(ctx, func(tx store.Store) error {
		if err := tx.Joins().Decide(ctx, g.Name, email, d, now); err != nil {
			return err
		}
		if _, listed := g.Member(email); approve || listed {
			return nil
		}
		_, err := tx.Follows().Delete(ctx, g.Name, email)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%s: %w", email, ErrNotJoined)
	}
	return err
}

// Remove takes a person off the group, with everything they gave: their
// join, their pledge, the follows they uploaded, and any invite they have
// not used, in one transaction. A member the file lists is a
// *ListedError.
func Remove(ctx context.Context, st store.Store, g *groups.Group, email string) error {
	if _, listed := g.Member(email); listed {
		return &ListedError{Email: email}
	}
	err := st.Tx(ctx, func(tx store.Store) error {
		if err := tx.Joins().Forget(ctx, g.Name, email); err != nil {
			return err
		}
		_, err := tx.Follows().Delete(ctx, g.Name, email)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%s: %w", email, ErrNotJoined)
	}
	return err
}

// Person is one person on the lead's roster, or who asked to be on it.
type Person struct {
	Name   string `json:"name"`
	Email  string `json:"email"`
	Source string `json:"source"` // SourceFile or SourceJoin
	// Handles the person gave on the join page (or the file's handle).
	Handle    string `json:"handle,omitempty"`
	X         string `json:"x,omitempty"`
	Bluesky   string `json:"bluesky,omitempty"`
	Instagram string `json:"instagram,omitempty"`
	Fediverse string `json:"fediverse,omitempty"`
	// Confirmed: they confirmed their email (a join, or a pledge).
	Confirmed bool `json:"confirmed"`
	// Approval is "" for the file's members; for a join "pending",
	// "approved", "declined" or, with open enrolment, "not needed".
	Approval string `json:"approval,omitempty"`
	// Member: they count (listed, or an admitted join).
	Member bool `json:"member"`
	// Pledge is "none", "unconfirmed", "withdrawn", "any" or "at least K".
	Pledge string `json:"pledge"`
	Going  bool   `json:"going"`
	// Invite is "", "issued" or "redeemed".
	Invite   string    `json:"invite,omitempty"`
	JoinedAt time.Time `json:"joined_at,omitzero"`
}

// People is the whole roster for the lead: the file's members in the
// file's order, then every join (admitted or not) in joining order.
func People(ctx context.Context, st store.Store, g *groups.Group) ([]Person, error) {
	s, err := Read(ctx, st, g)
	if err != nil {
		return nil, err
	}
	pledges, err := st.Pledges().List(ctx, g.Name)
	if err != nil {
		return nil, err
	}
	byEmail := map[string]store.Pledge{}
	for _, p := range pledges {
		byEmail[strings.ToLower(p.Email)] = p
	}
	invites, err := currentInvites(ctx, st, g.Name)
	if err != nil {
		return nil, err
	}
	fill := func(p *Person) {
		email := strings.ToLower(p.Email)
		p.Going = s.Going[email]
		p.Pledge = "none"
		if pl, ok := byEmail[email]; ok {
			switch {
			case pl.Withdrawn:
				p.Pledge = "withdrawn"
			case !pl.Confirmed:
				p.Pledge = "unconfirmed"
			case pl.Threshold == 0:
				p.Pledge = "any"
			default:
				p.Pledge = fmt.Sprintf("at least %d", pl.Threshold)
			}
			if p.Source == SourceFile && pl.Confirmed {
				p.Confirmed = true
			}
		}
		if inv, ok := invites[email]; ok {
			p.Invite = "issued"
			if !inv.RedeemedAt.IsZero() {
				p.Invite = "redeemed"
			}
		}
	}
	var out []Person
	for _, m := range g.Members {
		p := Person{Name: m.Name, Email: m.Email, Source: SourceFile, Handle: m.Handle, Member: true}
		fill(&p)
		out = append(out, p)
	}
	if g.EnrolmentOrDefault() == groups.EnrolClosed {
		return out, nil
	}
	joins, err := st.Joins().List(ctx, g.Name)
	if err != nil {
		return nil, err
	}
	for _, j := range joins {
		if _, listed := g.Member(j.Email); listed {
			continue
		}
		p := Person{Name: j.Name, Email: j.Email, Source: SourceJoin, X: j.X, Bluesky: j.Bluesky, Instagram: j.Instagram,
			Fediverse: j.Fediverse, Confirmed: j.Confirmed(), Member: Admitted(g, j), JoinedAt: j.CreatedAt}
		switch {
		case j.Decision != "":
			p.Approval = j.Decision
		case g.EnrolmentOrDefault() == groups.EnrolOpen:
			p.Approval = "not needed"
		default:
			p.Approval = "pending"
		}
		fill(&p)
		out = append(out, p)
	}
	return out, nil
}
