// Package lead answers the group lead's questions from the store: the
// groups Lifeboat knows, a campaign's standing, the arrivals so far, the
// admin's decisions. The TUI renders these answers and computes none; it
// reaches the store only through a Desk.
package lead

import (
	"context"
	"errors"

	"github.com/lifeboat-social/lifeboat/escape/arrival"
	"github.com/lifeboat-social/lifeboat/escape/campaign"
	"github.com/lifeboat-social/lifeboat/escape/pledge"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/provision/destination"
	"github.com/lifeboat-social/lifeboat/provision/existing/admission"
)

// Desk answers from one store.
type Desk struct {
	Store store.Store
	// StateDir holds the groups' files beside the store (the requests
	// written for admins, among them).
	StateDir string
}

// Group is a group as the home screen lists it.
type Group struct {
	Name, Title, State, File string
}

// Groups lists the groups in the store.
func (d *Desk) Groups(ctx context.Context) ([]Group, error) {
	gs, err := d.Store.Groups().List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Group, len(gs))
	for i, g := range gs {
		out[i] = Group{Name: g.Name, Title: g.Title, State: g.State, File: g.File}
	}
	return out, nil
}

// Remember records g and where its file is, keeping its state, so the
// group is listed next time.
func (d *Desk) Remember(ctx context.Context, g *groups.Group, file string) error {
	sg, err := d.Store.Groups().Get(ctx, g.Name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		sg = store.Group{Name: g.Name, State: pledge.StateGathering}
	case err != nil:
		return err
	}
	sg.Title, sg.File = g.Title, file
	return d.Store.Groups().Put(ctx, sg)
}

// Pledges is the campaign's standing (campaign.Read); a group the store
// does not know yet has no pledges and no state.
func (d *Desk) Pledges(ctx context.Context, g *groups.Group) (campaign.Status, error) {
	s, err := campaign.Read(ctx, d.Store, g)
	if errors.Is(err, store.ErrNotFound) {
		return campaign.Status{Going: map[string]bool{}, Outlook: pledge.Explain(nil, len(g.Members), g.ViableMass), Enrolled: len(g.Members)}, nil
	}
	return s, err
}

// Arrivals is the group's arrivals so far (arrival.ReadRoom), counted
// against its destination as the state directory knows it
// (destination.URL): members whose accounts live elsewhere are remote.
func (d *Desk) Arrivals(ctx context.Context, g *groups.Group) (arrival.Room, error) {
	dest, err := destination.URL(d.StateDir, g)
	if err != nil {
		return arrival.Room{}, err
	}
	return arrival.ReadRoom(ctx, d.Store, g, dest)
}

// Decision is the admin's decision on the request with id; nil when
// there is none yet.
func (d *Desk) Decision(ctx context.Context, id string) (*admission.Decision, error) {
	dec, err := admission.DecisionFor(ctx, d.Store.Journal(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, err
	}
	return &dec, nil
}

// Journal is the store's journal, where admission keeps requests and
// decisions.
func (d *Desk) Journal() store.Journal { return d.Store.Journal() }
