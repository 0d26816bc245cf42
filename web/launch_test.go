package web

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/escape/pledge"
	"github.com/lifeboat-social/lifeboat/internal/mailbox"
	"github.com/lifeboat-social/lifeboat/internal/pgtest"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/provision"
)

// clock is a time the test moves by hand; servers read it through
// Config.Now.
type clock struct{ t atomic.Pointer[time.Time] }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.set(t)
	return c
}
func (c *clock) set(t time.Time)  { c.t.Store(&t) }
func (c *clock) now() time.Time   { return *c.t.Load() }
func (c *clock) tune(cfg *Config) { cfg.Now = c.now }

func pledgeConfirmed(t *testing.T, st store.Store, group string, at time.Time, emails ...string) {
	t.Helper()
	for _, e := range emails {
		p := store.Pledge{Group: group, Email: e, Confirmed: true, CreatedAt: at, UpdatedAt: at, ConfirmedAt: at}
		if err := st.Pledges().Put(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
}

func (e *env) tick(times int) {
	e.t.Helper()
	for range times {
		if err := e.srv.Tick(context.Background()); err != nil {
			e.t.Fatalf("tick: %v", err)
		}
	}
}

func (e *env) state() store.Group {
	e.t.Helper()
	sg, err := e.st.Groups().Get(context.Background(), "river-birders")
	if err != nil {
		e.t.Fatal(err)
	}
	return sg
}

// launch_at: a group viable days before waits for the moment, its
// pledgers are reminded the day before, it launches at the moment (not a
// second early), members not going are told the doors are open, a late
// pledge gets an invite at once, and members who have not redeemed are
// reminded after 24 and 72 hours, once each. The clock is driven.
func TestLaunchAtMoment(t *testing.T) {
	t0 := time.Now().Truncate(time.Minute)
	c := newClock(t0)
	g := testGroup(6, 3)
	at := t0.Add(72 * time.Hour)
	g.LaunchAt = &at
	e := start(t, opts{noRun: true, group: g, tune: c.tune})
	pledgeConfirmed(t, e.st, g.Name, t0, "ada@example.org", "ben@example.org", "chloe@example.org", "dev@example.org")

	e.tick(2)
	if s := e.state(); s.State != pledge.StateGathering {
		t.Fatalf("viable 3 days before launch_at: %s, want still gathering", s.State)
	}
	if n := len(e.mb.Messages()); n != 0 {
		t.Fatalf("%d mails three days before", n)
	}

	c.set(at.Add(-23 * time.Hour))
	e.tick(3)
	for _, m := range []string{"ada", "ben", "chloe", "dev"} {
		if n := e.count(m+"@example.org", "Tomorrow"); n != 1 {
			t.Errorf("%s got %d eve reminders, want 1", m, n)
		}
	}
	if n := e.count("elif@example.org", "Tomorrow"); n != 0 {
		t.Error("a member who did not pledge got the eve reminder")
	}

	c.set(at.Add(-time.Second))
	e.tick(1)
	if s := e.state(); s.State != pledge.StateGathering {
		t.Fatalf("a second before launch_at: %s", s.State)
	}
	c.set(at)
	e.tick(2)
	s := e.state()
	if s.State != pledge.StateLaunched || !s.LaunchedAt.Equal(at) {
		t.Fatalf("at launch_at: %s at %v, want launched at %v", s.State, s.LaunchedAt, at)
	}
	for _, m := range []string{"ada", "ben", "chloe", "dev"} {
		if n := e.count(m+"@example.org", "Your invite"); n != 1 {
			t.Errorf("%s got %d invites", m, n)
		}
	}
	for _, m := range []string{"elif", "finn"} {
		if n := e.count(m+"@example.org", "the doors are open"); n != 1 {
			t.Errorf("%s got %d doors-open mails", m, n)
		}
	}

	// Elif arrives late: her pledge brings an invite at once, which works.
	c.set(at.Add(2 * time.Hour))
	b := newBrowser(t, false)
	e.pledgeLate(b, "elif@example.org", c)
	if n := e.count("elif@example.org", "Your invite"); n != 1 {
		t.Fatalf("late pledge: %d invites", n)
	}
	e.redeem("elif@example.org", "elif")
	e.redeem("ada@example.org", "ada")

	// A going member's pledge is frozen after the launch.
	link, _ := e.srv.PledgeLink("ben@example.org")
	if code, page := b.get(link); code != 200 || !strings.Contains(page, "pledges are closed") {
		t.Fatalf("ben's pledge page after launch: %d", code)
	}

	// Reminders to those who have not redeemed: none before 24 h, one at
	// 24 h, one at 72 h, never twice.
	c.set(at.Add(23 * time.Hour))
	e.tick(1)
	if n := e.count("ben@example.org", "is waiting for you"); n != 0 {
		t.Fatalf("reminder before 24 h")
	}
	c.set(at.Add(24*time.Hour + time.Minute))
	e.tick(3)
	c.set(at.Add(72*time.Hour + time.Minute))
	e.tick(3)
	for m, want := range map[string]int{"ben": 2, "chloe": 2, "dev": 2, "ada": 0, "elif": 0} {
		if n := e.count(m+"@example.org", "is waiting for you"); n != want {
			t.Errorf("%s got %d redeem reminders, want %d", m, n, want)
		}
	}
}

// pledgeLate pledges and confirms through the real pages after the
// launch, then ticks as serve does after a confirmation.
func (e *env) pledgeLate(b *browser, email string, c *clock) {
	e.t.Helper()
	link, err := e.srv.PledgeLink(email)
	if err != nil {
		e.t.Fatal(err)
	}
	code, page := b.get(link)
	if code != 200 || strings.Contains(page, "pledges are closed") || !strings.Contains(page, "the doors are open until") {
		e.t.Fatalf("late pledge page %d:\n%s", code, page)
	}
	resp, body := b.post(link, map[string][]string{"csrf": {csrfOf(e.t, page)}, "action": {"pledge"}, "mode": {"any"}})
	if resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("late pledge post %d: %s", resp.StatusCode, body)
	}
	e.tick(1) // the confirmation mail
	cl := e.mailLink(email, "Confirm your pledge")
	code, page = b.get(cl)
	if code != 200 {
		e.t.Fatalf("confirm page %d", code)
	}
	resp, body = b.post(cl, map[string][]string{"csrf": {csrfOf(e.t, page)}})
	if resp.StatusCode != 200 || !strings.Contains(body, "Pledge confirmed") {
		e.t.Fatalf("late confirm %d: %s", resp.StatusCode, body)
	}
	e.tick(1)
}

// A viable group whose destination is not ready waits: the lead is told
// once a day what is missing, the going members the new expected date
// once it slips past launch_at (and again a week later); once the
// destination is ready it launches.
func TestLaunchWaitsForDestination(t *testing.T) {
	t0 := time.Now().Truncate(time.Minute)
	c := newClock(t0)
	g := testGroup(6, 3)
	at := t0.Add(time.Hour)
	g.LaunchAt = &at
	var ready atomic.Bool
	const missing = "the new server does not exist yet: run lifeboat up GROUP.yaml"
	e := start(t, opts{noRun: true, group: g, tune: func(cfg *Config) {
		c.tune(cfg)
		cfg.Ready = provision.ReadyFunc(func(context.Context) (bool, string, error) {
			if ready.Load() {
				return true, "", nil
			}
			return false, missing, nil
		})
	}})
	pledgeConfirmed(t, e.st, g.Name, t0, "ada@example.org", "ben@example.org", "chloe@example.org")
	if r, err := e.srv.Readiness(context.Background()); err != nil || r.Ready || r.Missing != missing {
		t.Fatalf("readiness: %+v, %v", r, err)
	}

	// Half an hour before launch_at the lead already hears what is
	// missing; members hear nothing yet.
	before := at.Add(-30 * time.Minute)
	c.set(before)
	e.tick(2)
	if n := e.count("ada@example.org", "cannot launch yet"); n != 1 {
		t.Fatalf("lead got %d waiting mails before launch_at", n)
	}
	if n := e.count("ben@example.org", "delayed"); n != 0 {
		t.Fatal("members told of a delay before launch_at")
	}

	c.set(at.Add(time.Minute))
	e.tick(3)
	if s := e.state(); s.State != pledge.StateGathering {
		t.Fatalf("launched onto a destination that is not ready: %s", s.State)
	}
	// One mail a day: a second only if launch_at's minute is on the next
	// UTC day.
	wantLead := 1
	if before.UTC().YearDay() != at.Add(time.Minute).UTC().YearDay() {
		wantLead = 2
	}
	lead := e.mb.To("ada@example.org")
	var leadMails int
	for _, m := range lead {
		if strings.Contains(m.Subject, "cannot launch yet") {
			leadMails++
			if !strings.Contains(m.Text, "run lifeboat up") {
				t.Errorf("the lead's mail does not name the missing step:\n%s", m.Text)
			}
		}
	}
	if leadMails != wantLead {
		t.Fatalf("lead got %d waiting mails on day one, want %d", leadMails, wantLead)
	}
	day1 := at.Add(slip).UTC().Format("2 January 2006")
	for _, m := range []string{"ben", "chloe"} {
		if n := e.count(m+"@example.org", "delayed to "+day1); n != 1 {
			t.Errorf("%s got %d delay mails for %s", m, n, day1)
		}
	}
	if n := e.count("dev@example.org", "delayed"); n != 0 {
		t.Error("a member who is not going was told of the delay")
	}

	c.set(at.Add(25 * time.Hour))
	e.tick(2)
	if n := e.count("ada@example.org", "cannot launch yet"); n != wantLead+1 {
		t.Errorf("lead got %d waiting mails by the next day, want %d", n, wantLead+1)
	}
	if n := e.count("ben@example.org", "delayed"); n != 1 {
		t.Errorf("ben told %d times within the week", n)
	}
	c.set(at.Add(slip + time.Hour))
	e.tick(2)
	day2 := at.Add(2 * slip).UTC().Format("2 January 2006")
	if n := e.count("ben@example.org", "delayed to "+day2); n != 1 {
		t.Errorf("ben told %d times of the second slip", n)
	}

	ready.Store(true)
	e.tick(1)
	if s := e.state(); s.State != pledge.StateLaunched {
		t.Fatalf("ready: state %s", s.State)
	}
	for _, m := range []string{"ada", "ben", "chloe"} {
		if n := e.count(m+"@example.org", "Your invite"); n != 1 {
			t.Errorf("%s got %d invites", m, n)
		}
	}
}

// Reissue on the real handler: the member's old link stops working at
// once, the fresh one (mailed) opens the invite page.
func TestReissueKillsOldLink(t *testing.T) {
	e := start(t, opts{noRun: true})
	ctx := context.Background()
	pledgeConfirmed(t, e.st, "river-birders", time.Now(), "ada@example.org", "ben@example.org", "chloe@example.org")
	e.tick(1)
	old := e.mailLink("ben@example.org", "Your invite")
	b := newBrowser(t, true) // the link redirects to the member's step, /arrive
	if code, _ := b.get(old); code != 200 {
		t.Fatalf("first link: %d", code)
	}
	links, err := e.srv.Reissue(ctx, "ben@example.org")
	if err != nil || len(links) != 1 || links[0].URL == old {
		t.Fatalf("reissue: %+v, %v", links, err)
	}
	code, page := b.get(old)
	if code != http.StatusGone || !strings.Contains(page, "no longer valid") {
		t.Fatalf("old link after reissue: %d\n%s", code, page)
	}
	var fresh string
	for _, m := range e.mb.To("ben@example.org") {
		if strings.Contains(m.Text, "fresh invite") {
			fresh = linkRE.FindString(m.Text)
		}
	}
	if fresh != links[0].URL {
		t.Fatalf("mailed fresh link %q, want %q", fresh, links[0].URL)
	}
	if code, page := b.get(fresh); code != 200 || !strings.Contains(page, `name="username"`) {
		t.Fatalf("fresh link: %d\n%s", code, page)
	}
	e.tick(2)
	if n := e.count("ben@example.org", "Your invite"); n != 2 {
		t.Errorf("ben got %d invite mails, want the first and the fresh one", n)
	}
	if n := e.count("ada@example.org", "Your invite"); n != 1 {
		t.Errorf("ada got %d invite mails", n)
	}
}

// Several serve processes on one PostgreSQL database, ticking at once on
// the same clock: each reminder goes once.
func TestRemindersOnceAcrossProcessesPostgres(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.URL(t)
	open := func() store.Store {
		s, err := store.Open(ctx, store.Config{URL: dbURL})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	st1, st2 := open(), open()
	mb, err := mailbox.Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	t0 := time.Now().Truncate(time.Minute)
	c := newClock(t0)
	g := testGroup(6, 3)
	at := t0.Add(36 * time.Hour)
	g.LaunchAt = &at
	a := start(t, opts{st: st1, mb: mb, group: g, noRun: true, tune: c.tune})
	b := start(t, opts{st: st2, mb: mb, group: g, noRun: true, arr: a.arr, tune: c.tune})
	pledgeConfirmed(t, st1, g.Name, t0, "ada@example.org", "ben@example.org", "chloe@example.org")

	storm := func(when time.Time) {
		c.set(when)
		var wg sync.WaitGroup
		for i := range 8 {
			srv := a.srv
			if i%2 == 1 {
				srv = b.srv
			}
			wg.Add(1)
			go func() { defer wg.Done(); srv.Tick(ctx) }()
		}
		wg.Wait()
		a.tick(1) // one more, after the storm, for any send that lost a race
		b.tick(1)
	}
	storm(at.Add(-12 * time.Hour))
	storm(at)
	storm(at.Add(25 * time.Hour))
	storm(at.Add(73 * time.Hour))
	for _, m := range []string{"ada", "ben", "chloe"} {
		for subj, want := range map[string]int{"Tomorrow": 1, "Your invite": 1, "is waiting for you": 2} {
			if n := a.count(m+"@example.org", subj); n != want {
				t.Errorf("%s got %d %q mails, want %d", m, n, subj, want)
			}
		}
	}
	for _, m := range []string{"dev", "elif", "finn"} {
		if n := a.count(m+"@example.org", "the doors are open"); n != 1 {
			t.Errorf("%s got %d doors-open mails", m, n)
		}
	}
}

// A member who pledges after the launch, while the invite window is open,
// gets an invite at once, and it works; once the window has closed the
// pledge page is closed to them.
func TestLatePledgeGetsInvite(t *testing.T) {
	t0 := time.Now().Truncate(time.Minute)
	c := newClock(t0)
	e := start(t, opts{noRun: true, tune: func(cfg *Config) { c.tune(cfg); cfg.InviteTTL = 7 * 24 * time.Hour }})
	pledgeConfirmed(t, e.st, "river-birders", t0, "ada@example.org", "ben@example.org", "chloe@example.org")
	e.tick(1)
	if s := e.state(); s.State != pledge.StateLaunched {
		t.Fatalf("state %s", s.State)
	}
	c.set(t0.Add(3 * 24 * time.Hour))
	e.pledgeLate(newBrowser(t, false), "dev@example.org", c)
	if n := e.count("dev@example.org", "Your invite"); n != 1 {
		t.Fatalf("late pledger got %d invites", n)
	}
	if final := e.redeem("dev@example.org", "dev"); !strings.Contains(final, "You follow 3 people from your group") {
		t.Fatalf("late pledger's arrival:\n%s", final)
	}

	c.set(t0.Add(7*24*time.Hour + time.Minute))
	link, _ := e.srv.PledgeLink("elif@example.org")
	if code, page := newBrowser(t, false).get(link); code != 200 || !strings.Contains(page, "pledges are closed") {
		t.Fatalf("pledge page after the invite window: %d", code)
	}
}
