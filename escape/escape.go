// Package escape runs a group's escape: it binds a group, the store, a
// destination and the arrival engine to the actions the playbooks name,
// and runs a playbook through the journaled engine.
package escape

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/lifeboat-social/lifeboat/escape/arrival"
	"github.com/lifeboat-social/lifeboat/escape/campaign"
	"github.com/lifeboat-social/lifeboat/escape/invite"
	"github.com/lifeboat-social/lifeboat/escape/pledge"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/internal/workpool"
	"github.com/lifeboat-social/lifeboat/playbooks"
	"github.com/lifeboat-social/lifeboat/provision"
)

// Config is what an escape works with.
type Config struct {
	Store   store.Store
	Group   *groups.Group
	Dest    provision.Destination
	Emit    progress.Func
	Workers int // concurrent requests to the destination (0: the destination's hint, else 32)
	// InviteTTL is how long invite links stay valid (default 14 days).
	InviteTTL time.Duration
	// Logins keeps the passwords made for the simulated members of the
	// local playbook (see arrival.Config.Logins).
	Logins arrival.Logins
	// Demo allows the demo's stand-ins for members (demo.pledge: everyone
	// pledges at once; demo.arrive: everyone redeems and signs in). Only
	// lifeboat demo sets it: a real group's pledges and arrivals are its
	// members' own, so without it those steps fail with ErrDemoOnly.
	Demo bool
	// Ready says whether the group may launch onto the destination; nil
	// asks Dest when it can say (provision.Readiness), and for an existing
	// server waits for its admin's acceptance (campaign.ExistingReady).
	Ready provision.Readiness
	// Now and Sleep are the clock the launch waits on for launch_at
	// (default the real one); tests drive it.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	// HTTPClient reaches the destination and the servers of members who
	// kept their own accounts; nil: the default. Servers on a local
	// federation (fednet) need the net's, which resolves their names and
	// trusts their CA.
	HTTPClient *http.Client
}

// Escape is one group's escape in this process.
type Escape struct {
	cfg    Config
	server *provision.Server
	engine *arrival.Engine
}

// New returns an escape for cfg.
func New(cfg Config) *Escape {
	if cfg.InviteTTL == 0 {
		cfg.InviteTTL = 14 * 24 * time.Hour
	}
	if cfg.Ready == nil {
		cfg.Ready, _ = cfg.Dest.(provision.Readiness)
	}
	if cfg.Ready == nil && cfg.Group.Destination.Type == groups.DestExisting {
		cfg.Ready = campaign.ExistingReady(cfg.Store, cfg.Group, "GROUP.yaml")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	return &Escape{cfg: cfg}
}

// Report is what an escape achieved, read back from the store.
type Report struct {
	Group           string  `json:"group"`
	Members         int     `json:"members"`
	AccountsCreated int     `json:"accounts_created"`
	FollowsSeeded   int     `json:"follows_seeded"`
	ListsCreated    int     `json:"lists_created"`
	ListEntries     int     `json:"list_entries"`
	Welcomes        int     `json:"welcomes"`
	RemoteMembers   int     `json:"remote_members"` // arrived with their own account on another server
	Server          string  `json:"server"`
	DurationS       float64 `json:"duration_s"`
}

// Run runs the named playbook to the end, resuming a run that was cut
// short, and reports the result.
func (x *Escape) Run(ctx context.Context, playbook string) (Report, error) {
	start := time.Now()
	pb, err := playbooks.Load(playbook)
	if err != nil {
		return Report{}, err
	}
	if err := x.runPlaybook(ctx, playbook, pb); err != nil {
		return Report{}, err
	}
	r, err := x.Report(ctx)
	r.DurationS = time.Since(start).Seconds()
	return r, err
}

// Report reads the counts from the store.
func (x *Escape) Report(ctx context.Context) (Report, error) {
	r := Report{Group: x.cfg.Group.Name, Members: len(x.cfg.Group.Members)}
	if x.server != nil {
		r.Server = x.server.URL
	}
	accs, err := x.cfg.Store.Accounts().List(ctx, x.cfg.Group.Name)
	if err != nil {
		return r, err
	}
	for _, a := range accs {
		if a.ID != "" && !a.Waiting && (x.server == nil || a.Server == x.server.URL) {
			r.AccountsCreated++
		}
	}
	if x.engine != nil {
		s, err := x.engine.Stats(ctx)
		if err != nil {
			return r, err
		}
		r.Members, r.FollowsSeeded, r.ListsCreated, r.ListEntries, r.Welcomes = s.Members, s.Follows, s.Lists, s.Listed, s.Welcomes
		r.RemoteMembers = s.Remote
	}
	return r, nil
}

// ListTitle is the title of the group's list on every member's account
// (after Run).
func (x *Escape) ListTitle() string { return x.engine.ListTitle() }

func (x *Escape) actions() map[string]playbooks.Action {
	return map[string]playbooks.Action{
		"destination.start": x.startDestination,
		"demo.pledge":       x.demoOnly(x.pledgeAll),
		"group.launch":      x.launch,
		"invites.issue":     x.issueInvites,
		"demo.arrive":       x.demoOnly(x.needsDestination(x.arriveAll)),
		// Resume: on a server with a daily follow limit the step waits for
		// the window to reopen and finishes the mesh.
		"arrival.seed": x.needsDestination(func(ctx context.Context) error { return x.engine.Resume(ctx) }),
	}
}

// ErrDemoOnly is a demo step (members simulated) asked of an escape that
// is not the demo's.
var ErrDemoOnly = errors.New("members are simulated only in lifeboat demo: a real group's members pledge and arrive themselves")

// demoOnly refuses act unless the escape is the demo's, before it touches
// anything.
func (x *Escape) demoOnly(act playbooks.Action) playbooks.Action {
	return func(ctx context.Context) error {
		if !x.cfg.Demo {
			return ErrDemoOnly
		}
		return act(ctx)
	}
}

// startDestination saves the group and its members in the store and makes
// the destination ready.
func (x *Escape) startDestination(ctx context.Context) error {
	g := x.cfg.Group
	if err := SaveGroup(ctx, x.cfg.Store, g); err != nil {
		return err
	}
	srv, err := x.cfg.Dest.Start(ctx, x.cfg.Emit)
	if err != nil {
		return err
	}
	x.server = srv
	var client func(string) *fedi.Client
	if hc := x.cfg.HTTPClient; hc != nil {
		client = func(u string) *fedi.Client { return fedi.New(u, fedi.WithHTTPClient(hc)) }
	}
	x.engine = arrival.New(arrival.Config{Store: x.cfg.Store, Group: g, Server: srv, Emit: x.cfg.Emit, Workers: x.cfg.Workers,
		Logins: x.cfg.Logins, Client: client})
	return nil
}

// SaveGroup records the group and makes its members in the store exactly
// the group file's. A new group starts gathering pledges.
func SaveGroup(ctx context.Context, st store.Store, g *groups.Group) error {
	if _, err := st.Groups().Get(ctx, g.Name); errors.Is(err, store.ErrNotFound) {
		if err := st.Groups().Put(ctx, store.Group{Name: g.Name, Title: g.Title, State: pledge.StateGathering}); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	ms := make([]store.Member, len(g.Members))
	for i, m := range g.Members {
		ms[i] = store.Member{Group: g.Name, Email: strings.ToLower(m.Email), Name: m.Name, Handle: m.Handle, Username: m.Username}
	}
	return st.Members().Sync(ctx, g.Name, ms)
}

// pledgeAll stands in for the pledge page in the demo: every member
// pledges without a condition and confirms.
func (x *Escape) pledgeAll(ctx context.Context) error {
	now := x.cfg.Now()
	for _, m := range x.cfg.Group.Members {
		email := strings.ToLower(m.Email)
		if _, err := x.cfg.Store.Pledges().Get(ctx, x.cfg.Group.Name, email); err == nil {
			continue
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		p := store.Pledge{Group: x.cfg.Group.Name, Email: email, ShowName: true, Confirmed: true,
			CreatedAt: now, UpdatedAt: now, ConfirmedAt: now}
		if err := x.cfg.Store.Pledges().Put(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

// launch moves the group to launched once the viable set reaches
// viable_mass (campaign.Launch: atomic in the store, so two processes
// never both launch), at the group's launch_at when it has one (this
// process waits for it), and only onto a ready destination. Launched
// already, by this run before a crash or by the group's web server, is
// fine.
func (x *Escape) launch(ctx context.Context) error {
	if at := x.cfg.Group.LaunchAt; at != nil {
		if d := at.Sub(x.cfg.Now()); d > 0 {
			x.cfg.Emit.Emit(progress.Event{Kind: progress.Log, Step: "launch",
				Message: "waiting for launch_at, " + at.UTC().Format("2 January 2006 15:04 MST")})
			if err := x.cfg.Sleep(ctx, d); err != nil {
				return err
			}
		}
	}
	st, err := campaign.Launch(ctx, x.cfg.Store, x.cfg.Group, false, x.cfg.Now(), x.cfg.Ready)
	if errors.Is(err, campaign.ErrNotGathering) && (st.State == pledge.StateLaunched || st.State == pledge.StateArrived) {
		return nil
	}
	return err
}

// sleep waits for d or the end of ctx.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// issueInvites makes one signed, single-use invite per member of the
// viable set: the same ones the web server mails and "lifeboat invites
// export" prints (campaign.Invites).
func (x *Escape) issueInvites(ctx context.Context) error {
	key, err := x.groupKey(ctx)
	if err != nil {
		return err
	}
	invs, err := campaign.Invites(ctx, x.cfg.Store, x.cfg.Group, key, x.cfg.InviteTTL, x.cfg.Now())
	if err != nil {
		return err
	}
	x.cfg.Emit.Emit(progress.Event{Kind: progress.Log, Step: "invites", Message: fmt.Sprintf("%d invites issued", len(invs))})
	return nil
}

func (x *Escape) groupKey(ctx context.Context) (ed25519.PrivateKey, error) {
	g, err := x.cfg.Store.Groups().Get(ctx, x.cfg.Group.Name)
	if err != nil {
		return nil, err
	}
	return ed25519.PrivateKey(g.SigningKey), nil
}

// arriveAll stands in for members redeeming their invites in the demo:
// each invite is redeemed, the account made and the member signed in.
func (x *Escape) arriveAll(ctx context.Context) error {
	invs, err := x.cfg.Store.Invites().List(ctx, x.cfg.Group.Name)
	if err != nil {
		return err
	}
	key, err := x.groupKey(ctx)
	if err != nil {
		return err
	}
	total := len(invs)
	var done atomic.Int64
	x.cfg.Emit.Emit(progress.Event{Kind: progress.StepStarted, Step: StepArrivals, Total: total})
	workers := 4 // sign-ups are heavy on the server (password hashing)
	err = workpool.Run(ctx, workers, total, func(ctx context.Context, i int) error {
		inv := invs[i]
		// The member's link, as their invite mail carries it.
		tok, err := invite.Token(key, inv)
		if err != nil {
			return err
		}
		if _, err := invite.Redeem(ctx, x.cfg.Store.Invites(), key.Public().(ed25519.PublicKey), tok, x.cfg.Now()); err != nil && !errors.Is(err, invite.ErrUsed) {
			return fmt.Errorf("redeem the invite of %s: %w", inv.Email, err)
		}
		if err := x.engine.Join(ctx, inv.Email, "", ""); err != nil {
			return err
		}
		if err := x.engine.SignIn(ctx, inv.Email); err != nil {
			return err
		}
		n := done.Add(1)
		x.cfg.Emit.Emit(progress.Event{Kind: progress.Advanced, Step: StepArrivals, Item: inv.Email, Done: int(n), Total: total})
		return nil
	})
	if err == nil {
		x.cfg.Emit.Emit(progress.Event{Kind: progress.StepDone, Step: StepArrivals, Done: total, Total: total})
	}
	return err
}
