package web

import (
	"context"
	"errors"

	"github.com/lifeboat-social/lifeboat/escape/arrival"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

// EngineArrivals serves Arrivals with the arrival engine for one group on
// the server at base.
// A mesh that a killed process left waiting for the server's rate limit
// is resumed in the background from here.
func EngineArrivals(e *arrival.Engine, st store.Store, base string) Arrivals {
	e.ResumeLater(context.Background())
	return engineArrivals{e: e, st: st, base: base}
}

type engineArrivals struct {
	e    *arrival.Engine
	st   store.Store
	base string
}

func (a engineArrivals) CreateAccount(ctx context.Context, group, email, username, password string) error {
	return a.e.Join(ctx, email, username, password)
}

func (a engineArrivals) AuthorizeURL(ctx context.Context, group, redirectURI, state string) (string, error) {
	return a.e.AuthorizeURL(ctx, redirectURI, state)
}

// Complete stores the member's token, seeds the mesh (follows both ways,
// lists, welcome) and reads the member's place in it back from the server.
func (a engineArrivals) Complete(ctx context.Context, group, email, code, redirectURI string) (ArrivalResult, error) {
	if err := a.e.Authorized(ctx, email, code, redirectURI); err != nil {
		return ArrivalResult{}, err
	}
	if err := a.seed(ctx); err != nil {
		return ArrivalResult{}, err
	}
	acc, err := a.st.Accounts().Get(ctx, group, email)
	if err != nil {
		return ArrivalResult{}, err
	}
	me, err := a.e.Client(a.base).WithToken(acc.Token).VerifyCredentials(ctx)
	if err != nil {
		return ArrivalResult{}, err
	}
	return a.result(ctx, email, a.base, me.Acct, me.URL)
}

// Arrive takes into the room a member whose account lives on their own
// server (the account row the web's callback keeps, waiting for them
// until now), seeds the mesh, and reads their place in it. The profile
// link is the member's server's to give: the web has it from the
// callback.
func (a engineArrivals) Arrive(ctx context.Context, group, email string) (ArrivalResult, error) {
	if err := a.e.Enter(ctx, email); err != nil {
		return ArrivalResult{}, err
	}
	if err := a.seed(ctx); err != nil {
		return ArrivalResult{}, err
	}
	acc, err := a.st.Accounts().Get(ctx, group, email)
	if err != nil {
		return ArrivalResult{}, err
	}
	return a.result(ctx, email, acc.Server, acc.Acct, "")
}

// seed runs the mesh. A pair stuck elsewhere in the mesh, or a follow
// between servers still on its way, does not stop this arrival: the
// counts say what is made, and the next arrival retries or confirms it.
// Follows a server's daily limit holds back are made in the background
// when its window reopens.
func (a engineArrivals) seed(ctx context.Context) error {
	err := a.e.Seed(ctx)
	if errors.Is(err, arrival.ErrLimited) {
		a.e.ResumeLater(ctx)
	}
	if err != nil && !errors.Is(err, arrival.ErrStuck) && !errors.Is(err, arrival.ErrLimited) && !errors.Is(err, arrival.ErrNotArrived) {
		return err
	}
	return nil
}

func (a engineArrivals) result(ctx context.Context, email, server, acct, profile string) (ArrivalResult, error) {
	n, err := a.e.MemberCounts(ctx, email)
	if err != nil {
		return ArrivalResult{}, err
	}
	return ArrivalResult{Server: server, Acct: acct, ProfileURL: profile, ListTitle: a.e.ListTitle(),
		Following: n.Following, Followers: n.Followers, Remote: n.Remote}, nil
}

func (a engineArrivals) Destination() string { return a.base }
