package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/lifeboat-social/lifeboat/escape"
	"github.com/lifeboat-social/lifeboat/escape/arrival"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/meshcheck"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/provision"
	"github.com/lifeboat-social/lifeboat/provision/destination"
	"github.com/lifeboat-social/lifeboat/provision/fednet"
	"github.com/lifeboat-social/lifeboat/provision/local"
)

// remoteDemo is the demo with remote members: k members already have
// accounts of their own on a second local GoToSocial, home, and join the
// group from there. The room (the destination) and home federate over
// HTTPS on a private net, and the escape meshes the group across both.
type remoteDemo struct {
	k          int
	room, home *local.Local
	net        *fednet.Net
	hc         *http.Client // resolves both servers' names and trusts their CA
	homeURL    string
}

// remoteGroup names the group of a demo with k remote members apart from
// the same group without: its room runs over HTTPS on a private net, the
// other's over plain HTTP.
func remoteGroup(g *groups.Group, k int) {
	g.Name = fmt.Sprintf("%s-remote-%d", g.Name, k)
}

func newRemoteDemo(app *App, g *groups.Group, k int) (*remoteDemo, error) {
	cfg, err := app.config()
	if err != nil {
		return nil, err
	}
	room, home, n, err := destination.Federated(g, destination.Config{Config: cfg, Log: app.Stderr})
	if err != nil {
		return nil, err
	}
	return &remoteDemo{k: k, room: room, home: home, net: n, hc: n.HTTPClient()}, nil
}

func (r *remoteDemo) hostsFile() string { return r.net.HostsFile() }
func (r *remoteDemo) caFile() string    { return r.net.CAFile() }

func (r *remoteDemo) client(u string) *fedi.Client { return fedi.New(u, fedi.WithHTTPClient(r.hc)) }

// stop releases both servers in this process; they keep running.
func (r *remoteDemo) stop(ctx context.Context) {
	r.room.Stop(ctx)
	r.home.Stop(ctx)
}

// remoteMembers are the last k members: the lead (first) stays on the
// room when anyone does.
func (r *remoteDemo) remoteMembers(g *groups.Group) []groups.Member {
	return g.Members[len(g.Members)-r.k:]
}

// arrive starts home and stands in for the remote members giving their
// own address: each one's account is made on home as the demo makes
// accounts (password kept in logins first, so a rerun after a kill finds
// it), they authorise Lifeboat through home's sign-in and authorise
// forms, and their account row names home (the contract of a remote
// member, store.Account.Remote).
func (r *remoteDemo) arrive(ctx context.Context, st store.Store, g *groups.Group, logins arrival.Logins, emit progress.Func) error {
	const step = "remote members' server"
	emit.Emit(progress.Event{Kind: progress.StepStarted, Step: step,
		Message: fmt.Sprintf("Start the server of the %d remote members: a second GoToSocial at %s that federates with the room over HTTPS",
			r.k, r.home.URL())})
	srv, err := r.home.Start(ctx, func(e progress.Event) {
		e.Step = step + ": " + e.Step
		emit.Emit(e)
	})
	if err != nil {
		return fmt.Errorf("start the remote members' server: %w", err)
	}
	r.homeURL = srv.URL
	emit.Emit(progress.Event{Kind: progress.StepDone, Step: step})

	// The account rows belong to the group.
	if err := escape.SaveGroup(ctx, st, g); err != nil {
		return err
	}
	const joined = "remote members join"
	ms := r.remoteMembers(g)
	emit.Emit(progress.Event{Kind: progress.StepStarted, Step: joined, Total: len(ms)})
	c := r.client(srv.URL)
	var app fedi.App
	for i, m := range ms {
		email := strings.ToLower(m.Email)
		acc, err := st.Accounts().Get(ctx, g.Name, email)
		switch {
		case err == nil && acc.Token != "":
			// arrived in an earlier run
		case err == nil || errors.Is(err, store.ErrNotFound):
			if app.ClientID == "" {
				if app, err = c.RegisterApp(ctx, "Lifeboat", fedi.OOB, arrival.MemberScopes); err != nil {
					return fmt.Errorf("register Lifeboat on the remote members' server: %w", err)
				}
			}
			if err := r.join(ctx, st, g, srv, c, app, logins, email); err != nil {
				return err
			}
		default:
			return err
		}
		emit.Emit(progress.Event{Kind: progress.Advanced, Step: joined, Item: email, Done: i + 1, Total: len(ms)})
	}
	emit.Emit(progress.Event{Kind: progress.StepDone, Step: joined, Done: len(ms), Total: len(ms)})
	return nil
}

// join makes one remote member's account on home, signs them in and
// writes their account row.
func (r *remoteDemo) join(ctx context.Context, st store.Store, g *groups.Group, srv *provision.Server, c *fedi.Client,
	app fedi.App, logins arrival.Logins, email string) error {
	login, ok := logins.Login(email)
	if !ok {
		login = arrival.Login{Email: email, Username: g.Username(email), Password: provision.NewPassword(), Server: srv.URL}
		if err := logins.Keep(login); err != nil {
			return err
		}
	}
	id, err := srv.Accounts.CreateAccount(ctx, login.Username, email, login.Password)
	if err != nil {
		return fmt.Errorf("create the account of %s on the remote members' server: %w", email, err)
	}
	tok, err := c.SignInAndAuthorize(ctx, app, email, login.Password)
	if errors.Is(err, fedi.ErrSignInRefused) {
		return fmt.Errorf("sign in %s: %w", email, arrival.ErrPasswordLost)
	}
	if err != nil {
		return fmt.Errorf("sign in %s on the remote members' server: %w", email, err)
	}
	me, err := c.WithToken(tok).VerifyCredentials(ctx)
	if err != nil {
		return fmt.Errorf("check the token of %s: %w", email, err)
	}
	if me.ID != id {
		return fmt.Errorf("the token of %s belongs to account %s, not %s", email, me.ID, id)
	}
	domain, err := c.Domain(ctx)
	if err != nil {
		return err
	}
	return st.Accounts().Put(ctx, store.Account{Group: g.Name, Email: email, Server: srv.URL, ID: id,
		Username: me.Username, Token: tok, Acct: me.Username + "@" + domain, CreatedAt: time.Now()})
}

// readBack replaces the report's mesh counts with what both servers hold:
// every member's follows, followers and list, each read on the member's
// own server (meshcheck). A mesh that is not exact is an error.
func (r *remoteDemo) readBack(ctx context.Context, st store.Store, g *groups.Group, title string, rep *escape.Report) error {
	accs, err := st.Accounts().List(ctx, g.Name)
	if err != nil {
		return err
	}
	counts, err := meshcheck.Check(ctx, r.room.URL(), title, meshcheck.Accounts(accs), fedi.WithHTTPClient(r.hc))
	if err != nil {
		return fmt.Errorf("read the mesh back from both servers: %w", err)
	}
	rep.FollowsSeeded, rep.ListsCreated, rep.ListEntries = counts.Follows, counts.Lists, counts.Listed
	return nil
}
