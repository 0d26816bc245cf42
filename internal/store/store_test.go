package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/pgtest"
)

// TestMain gives the tests a key of their own: the user's key file is
// left alone.
func TestMain(m *testing.M) {
	os.Setenv(EnvSecretKey, NewKey())
	pgtest.Main(m)
}

// drivers is what every test runs against: the suite is the contract.
var drivers = []struct {
	name   string
	config func(t *testing.T) Config
}{
	{"sqlite", func(t *testing.T) Config { return Config{Dir: filepath.Join(t.TempDir(), "state")} }},
	{"postgres", func(t *testing.T) Config { return Config{URL: pgtest.URL(t)} }},
}

// each runs fn once per driver on a fresh, open store.
func each(t *testing.T, fn func(t *testing.T, cfg Config, s Store)) {
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			cfg := d.config(t)
			fn(t, cfg, open(t, cfg))
		})
	}
}

func open(t *testing.T, cfg Config) Store {
	t.Helper()
	s, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got error %v, want %v", err, want)
	}
}

var (
	ctx = context.Background()
	// t0 has nanoseconds and a zone, to check times come back as UTC
	// microseconds.
	t0    = time.Date(2027, 1, 31, 12, 30, 45, 123456789, time.FixedZone("CET", 3600))
	t0UTC = time.Date(2027, 1, 31, 11, 30, 45, 123456000, time.UTC)
)

func TestGroups(t *testing.T) {
	each(t, func(t *testing.T, _ Config, s Store) {
		g := s.Groups()
		_, err := g.Get(ctx, "nope")
		wantErr(t, err, ErrNotFound)

		must(t, g.Put(ctx, Group{Name: "uk", Title: "UK", File: "/g/uk.yaml"}))
		got, err := g.Get(ctx, "uk")
		must(t, err)
		if got.State != "gathering" || len(got.SigningKey) != 64 || got.CreatedAt.IsZero() || !got.LaunchedAt.IsZero() {
			t.Fatalf("new group: %+v", got)
		}
		key, created := got.SigningKey, got.CreatedAt

		// An update without a key keeps the key; CreatedAt stays.
		must(t, g.Put(ctx, Group{Name: "uk", Title: "UK 2"}))
		got, err = g.Get(ctx, "uk")
		must(t, err)
		if got.Title != "UK 2" || got.File != "" || !bytes.Equal(got.SigningKey, key) || !got.CreatedAt.Equal(created) {
			t.Fatalf("updated group: %+v", got)
		}
		// A given key replaces it.
		must(t, g.Put(ctx, Group{Name: "uk", SigningKey: []byte("k")}))
		got, _ = g.Get(ctx, "uk")
		if string(got.SigningKey) != "k" {
			t.Fatalf("key not replaced: %q", got.SigningKey)
		}
		// A state set by SetState survives a Put without one.
		must(t, g.SetState(ctx, "uk", "gathering", "launched", t0))
		must(t, g.Put(ctx, Group{Name: "uk", Title: "UK 3"}))
		got, _ = g.Get(ctx, "uk")
		if got.State != "launched" || !got.LaunchedAt.Equal(t0UTC) || got.LaunchedAt.Location() != time.UTC {
			t.Fatalf("state or launch time lost: %+v", got)
		}
		// An explicit state is written.
		must(t, g.Put(ctx, Group{Name: "uk", State: "failed"}))
		got, _ = g.Get(ctx, "uk")
		if got.State != "failed" {
			t.Fatalf("state %q, want failed", got.State)
		}

		must(t, g.Put(ctx, Group{Name: "de", State: "arrived", SigningKey: []byte("x"), CreatedAt: t0}))
		list, err := g.List(ctx)
		must(t, err)
		if len(list) != 2 || list[0].Name != "de" || list[1].Name != "uk" {
			t.Fatalf("list: %+v", list)
		}
		if list[0].State != "arrived" || !list[0].CreatedAt.Equal(t0UTC) {
			t.Fatalf("de: %+v", list[0])
		}
	})
}

func TestSetState(t *testing.T) {
	each(t, func(t *testing.T, _ Config, s Store) {
		g := s.Groups()
		wantErr(t, g.SetState(ctx, "nope", "gathering", "launched", t0), ErrNotFound)
		must(t, g.Put(ctx, Group{Name: "uk"}))
		wantErr(t, g.SetState(ctx, "uk", "launched", "arrived", t0), ErrConflict)
		must(t, g.SetState(ctx, "uk", "gathering", "failed", t0))
		got, _ := g.Get(ctx, "uk")
		if got.State != "failed" || !got.LaunchedAt.IsZero() || !got.UpdatedAt.Equal(t0UTC) {
			t.Fatalf("after SetState: %+v", got)
		}
	})
}

func TestMembers(t *testing.T) {
	each(t, func(t *testing.T, _ Config, s Store) {
		m := s.Members()
		wantErr(t, m.Sync(ctx, "uk", nil), ErrNotFound)
		must(t, s.Groups().Put(ctx, Group{Name: "uk"}))
		must(t, s.Groups().Put(ctx, Group{Name: "de"}))
		must(t, m.Sync(ctx, "de", []Member{{Email: "dora@example.org"}}))

		ms := []Member{
			{Email: "Bob@Example.org", Name: "Bob", Handle: "@bob", Username: "bob"},
			{Email: "alice@example.org", Name: "Alice"},
			{Email: "carol@example.org", Name: "Carol", Username: "carol"},
		}
		must(t, m.Sync(ctx, "uk", ms))
		got, err := m.Get(ctx, "uk", "BOB@example.ORG")
		must(t, err)
		want := Member{Group: "uk", Email: "bob@example.org", Name: "Bob", Handle: "@bob", Username: "bob"}
		if got != want {
			t.Fatalf("get: %+v, want %+v", got, want)
		}
		_, err = m.Get(ctx, "de", "bob@example.org")
		wantErr(t, err, ErrNotFound)

		// Sync is exact: carol goes, alice changes, dave comes.
		must(t, m.Sync(ctx, "uk", []Member{
			{Email: "alice@example.org", Name: "Alice B", Username: "carol"},
			{Email: "bob@example.org", Name: "Bob"},
			{Email: "dave@example.org", Name: "Dave"},
		}))
		list, err := m.List(ctx, "uk")
		must(t, err)
		var names []string
		for _, x := range list {
			names = append(names, x.Email+"="+x.Name+"/"+x.Username)
		}
		if fmt.Sprint(names) != "[alice@example.org=Alice B/carol bob@example.org=Bob/ dave@example.org=Dave/]" {
			t.Fatalf("after resync: %v", names)
		}

		// Duplicates fail and change nothing.
		for _, dup := range [][]Member{
			{{Email: "x@example.org"}, {Email: "X@example.org"}},
			{{Email: "x@example.org", Username: "x"}, {Email: "y@example.org", Username: "x"}},
			{{Email: "x@example.org", Handle: "@x"}, {Email: "y@example.org", Handle: "@x"}},
		} {
			wantErr(t, m.Sync(ctx, "uk", dup), ErrDuplicate)
		}
		list2, _ := m.List(ctx, "uk")
		if !reflect.DeepEqual(list, list2) {
			t.Fatalf("failed sync changed members: %v", list2)
		}
		if other, _ := m.List(ctx, "de"); len(other) != 1 {
			t.Fatalf("sync of uk touched de: %v", other)
		}
		must(t, m.Sync(ctx, "uk", nil))
		if list, _ := m.List(ctx, "uk"); len(list) != 0 {
			t.Fatalf("empty sync left %v", list)
		}
	})
}

func TestPledges(t *testing.T) {
	each(t, func(t *testing.T, _ Config, s Store) {
		p := s.Pledges()
		wantErr(t, p.Put(ctx, Pledge{Group: "uk", Email: "a@example.org"}), ErrNotFound)
		must(t, s.Groups().Put(ctx, Group{Name: "uk"}))
		_, err := p.Get(ctx, "uk", "a@example.org")
		wantErr(t, err, ErrNotFound)

		want := Pledge{Group: "uk", Email: "a@example.org", Threshold: 10, FollowThreshold: 4, ShowName: true, CreatedAt: t0UTC, UpdatedAt: t0UTC}
		must(t, p.Put(ctx, Pledge{Group: "uk", Email: "A@example.org", Threshold: 10, FollowThreshold: 4, ShowName: true, CreatedAt: t0, UpdatedAt: t0}))
		got, err := p.Get(ctx, "uk", "a@example.org")
		must(t, err)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("get: %+v\nwant %+v", got, want)
		}

		// An update keeps CreatedAt and writes the rest.
		later := t0.Add(time.Hour)
		must(t, p.Put(ctx, Pledge{Group: "uk", Email: "a@example.org", Threshold: 3, Confirmed: true, ConfirmedAt: later, UpdatedAt: later}))
		got, _ = p.Get(ctx, "uk", "a@example.org")
		want = Pledge{Group: "uk", Email: "a@example.org", Threshold: 3, Confirmed: true,
			CreatedAt: t0UTC, UpdatedAt: t0UTC.Add(time.Hour), ConfirmedAt: t0UTC.Add(time.Hour)}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("updated: %+v\nwant %+v", got, want)
		}

		must(t, p.Put(ctx, Pledge{Group: "uk", Email: "0@example.org", Withdrawn: true}))
		list, err := p.List(ctx, "uk")
		must(t, err)
		if len(list) != 2 || list[0].Email != "0@example.org" || !list[0].Withdrawn || list[0].CreatedAt.IsZero() {
			t.Fatalf("list: %+v", list)
		}
	})
}

func TestInvites(t *testing.T) {
	each(t, func(t *testing.T, _ Config, s Store) {
		in := s.Invites()
		must(t, s.Groups().Put(ctx, Group{Name: "uk"}))
		_, err := in.GetByHash(ctx, "h1")
		wantErr(t, err, ErrNotFound)
		wantErr(t, in.Redeem(ctx, "h1", t0), ErrNotFound)

		must(t, in.Put(ctx, Invite{Group: "uk", Email: "B@example.org", TokenHash: "h1", CreatedAt: t0, ExpiresAt: t0.Add(48 * time.Hour)}))
		got, err := in.GetByHash(ctx, "h1")
		must(t, err)
		want := Invite{Group: "uk", Email: "b@example.org", TokenHash: "h1", CreatedAt: t0UTC, ExpiresAt: t0UTC.Add(48 * time.Hour)}
		if got != want {
			t.Fatalf("get: %+v\nwant %+v", got, want)
		}
		// Marking it sent is a Put.
		got.SentAt = t0
		must(t, in.Put(ctx, got))

		must(t, in.Redeem(ctx, "h1", t0.Add(time.Hour)))
		wantErr(t, in.Redeem(ctx, "h1", t0.Add(2*time.Hour)), ErrConflict)
		// A Put of the unredeemed copy does not undo the redemption.
		must(t, in.Put(ctx, got))
		got, _ = in.GetByHash(ctx, "h1")
		if !got.RedeemedAt.Equal(t0UTC.Add(time.Hour)) || !got.SentAt.Equal(t0UTC) {
			t.Fatalf("after redeem: %+v", got)
		}

		must(t, in.Put(ctx, Invite{Group: "uk", Email: "a@example.org", TokenHash: "h2"}))
		list, err := in.List(ctx, "uk")
		must(t, err)
		if len(list) != 2 || list[0].TokenHash != "h2" || list[1].TokenHash != "h1" {
			t.Fatalf("list: %+v", list)
		}
		wantErr(t, in.Put(ctx, Invite{Group: "nope", Email: "a@example.org", TokenHash: "h3"}), ErrNotFound)
	})
}

func TestAccounts(t *testing.T) {
	each(t, func(t *testing.T, _ Config, s Store) {
		a := s.Accounts()
		must(t, s.Groups().Put(ctx, Group{Name: "uk"}))
		_, err := a.Get(ctx, "uk", "a@example.org")
		wantErr(t, err, ErrNotFound)

		acc := Account{Group: "uk", Email: "A@example.org", Server: "https://social.example", ID: "01", Username: "alice", CreatedAt: t0}
		must(t, a.Put(ctx, acc))
		acc.Token = "tok"
		acc.CreatedAt = time.Time{}
		must(t, a.Put(ctx, acc))
		got, err := a.Get(ctx, "uk", "a@example.org")
		must(t, err)
		want := Account{Group: "uk", Email: "a@example.org", Server: "https://social.example", ID: "01", Username: "alice", Token: "tok", CreatedAt: t0UTC}
		if got != want {
			t.Fatalf("get: %+v\nwant %+v", got, want)
		}
		must(t, a.Put(ctx, Account{Group: "uk", Email: "b@example.org", Username: "bob"}))
		list, err := a.List(ctx, "uk")
		must(t, err)
		if len(list) != 2 || list[0] != want || list[1].Username != "bob" {
			t.Fatalf("list: %+v", list)
		}
		wantErr(t, a.Put(ctx, Account{Group: "nope", Email: "a@example.org"}), ErrNotFound)

		// A remote member's account keeps its address; a moved one its
		// old address.
		remote := Account{Group: "uk", Email: "c@example.org", Server: "https://other.example", ID: "9", Username: "carol",
			Token: "t", CreatedAt: t0UTC, Acct: "carol@other.example", MovedFrom: "carol@old.example"}
		must(t, a.Put(ctx, remote))
		got, err = a.Get(ctx, "uk", "c@example.org")
		must(t, err)
		if got != remote {
			t.Fatalf("remote: %+v\nwant %+v", got, remote)
		}
		if !got.Remote("https://social.example") || want.Remote("https://social.example") || (Account{}).Remote("https://social.example") {
			t.Fatal("Remote: only an account on another server is remote")
		}
	})
}

// An account connected before its member arrived waits until Enter, which
// changes nothing else on the row; Enter of no account is ErrNotFound.
func TestAccountsWaiting(t *testing.T) {
	each(t, func(t *testing.T, _ Config, s Store) {
		a := s.Accounts()
		must(t, s.Groups().Put(ctx, Group{Name: "uk"}))
		wantErr(t, a.Enter(ctx, "uk", "c@example.org"), ErrNotFound)
		connected := Account{Group: "uk", Email: "c@example.org", Server: "https://other.example", ID: "9", Username: "carol",
			Token: "t", CreatedAt: t0UTC, Acct: "carol@other.example", Waiting: true}
		must(t, a.Put(ctx, connected))
		got, err := a.Get(ctx, "uk", "C@example.org")
		must(t, err)
		if got != connected {
			t.Fatalf("connected: %+v\nwant %+v", got, connected)
		}
		must(t, a.Enter(ctx, "uk", "C@example.org"))
		must(t, a.Enter(ctx, "uk", "c@example.org")) // a retry of the arrival
		list, err := a.List(ctx, "uk")
		must(t, err)
		arrived := connected
		arrived.Waiting = false
		if len(list) != 1 || list[0] != arrived {
			t.Fatalf("after Enter: %+v\nwant %+v", list, arrived)
		}
		// Connected again (another account, before arriving again): it
		// waits again.
		must(t, a.Put(ctx, connected))
		if got, _ := a.Get(ctx, "uk", "c@example.org"); !got.Waiting {
			t.Fatalf("connected again: %+v", got)
		}
	})
}

// TestWaitingMigration: the accounts a store held before accounts could
// wait (migration 0009) were all in the room, and stay in it.
func TestWaitingMigration(t *testing.T) {
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			cfg := d.config(t)
			s, err := Open(ctx, cfg)
			must(t, err)
			must(t, s.Groups().Put(ctx, Group{Name: "uk"}))
			// Back to the schema before 0009, and a row as it was written
			// then.
			sq := s.(*sqlStore)
			_, err = sq.exec(ctx, "ALTER TABLE accounts DROP COLUMN waiting")
			must(t, err)
			_, err = sq.exec(ctx, "DELETE FROM schema_migrations WHERE version >= 9")
			must(t, err)
			_, err = sq.exec(ctx, `INSERT INTO accounts (group_name, email, server, id, username, token, created_at, acct, moved_from)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, "uk", "c@example.org", "https://other.example", "9", "carol", "", sq.d.ts(t0), "carol@other.example", "")
			must(t, err)
			must(t, s.Close())

			s = open(t, cfg)
			got, err := s.Accounts().Get(ctx, "uk", "c@example.org")
			must(t, err)
			want := Account{Group: "uk", Email: "c@example.org", Server: "https://other.example", ID: "9", Username: "carol",
				CreatedAt: t0UTC, Acct: "carol@other.example"}
			if got != want {
				t.Fatalf("after the migration: %+v\nwant %+v (not waiting)", got, want)
			}
		})
	}
}

func TestJournal(t *testing.T) {
	each(t, func(t *testing.T, _ Config, s Store) {
		j := s.Journal()
		_, err := j.Get(ctx, "r1", "k")
		wantErr(t, err, ErrNotFound)
		wantErr(t, j.Finish(ctx, "r1", "k", nil), ErrNotFound)
		wantErr(t, j.Fail(ctx, "r1", "k", "boom"), ErrNotFound)

		_, err = j.Start(ctx, "r1", "k")
		wantErr(t, err, ErrNotFound) // first attempt
		st, err := j.Get(ctx, "r1", "k")
		must(t, err)
		if st.Status != StepStarted || st.Attempts != 1 || st.UpdatedAt.IsZero() {
			t.Fatalf("after first start: %+v", st)
		}

		must(t, j.Fail(ctx, "r1", "k", "boom"))
		prev, err := j.Start(ctx, "r1", "k")
		must(t, err)
		if prev.Status != StepFailed || prev.Error != "boom" || prev.Attempts != 1 {
			t.Fatalf("previous: %+v", prev)
		}
		st, _ = j.Get(ctx, "r1", "k")
		if st.Status != StepStarted || st.Error != "" || st.Attempts != 2 {
			t.Fatalf("after second start: %+v", st)
		}

		must(t, j.Finish(ctx, "r1", "k", []byte(`{"id":"7"}`)))
		prev, err = j.Start(ctx, "r1", "k")
		must(t, err)
		if prev.Status != StepDone || string(prev.Result) != `{"id":"7"}` || prev.Attempts != 2 {
			t.Fatalf("previous: %+v", prev)
		}
		// A crash now leaves it started: the next Start says so.
		prev, err = j.Start(ctx, "r1", "k")
		must(t, err)
		if prev.Status != StepStarted || prev.Attempts != 3 || string(prev.Result) != `{"id":"7"}` {
			t.Fatalf("previous: %+v", prev)
		}

		// List: by prefix, ordered by bytes, case-sensitive, % and _
		// literal, runs apart.
		for _, k := range []string{"follow/b", "follow/a", "follow%x", "Follow/c", "follow_", "follow/é", "signup/a"} {
			j.Start(ctx, "r1", k)
		}
		j.Start(ctx, "r2", "follow/z")
		keys := func(prefix string) string {
			list, err := j.List(ctx, "r1", prefix)
			must(t, err)
			var ks []string
			for _, st := range list {
				ks = append(ks, st.Key)
			}
			return fmt.Sprint(ks)
		}
		if got := keys("follow/"); got != "[follow/a follow/b follow/é]" {
			t.Errorf("follow/: %s", got)
		}
		if got := keys("follow%"); got != "[follow%x]" {
			t.Errorf("follow%%: %s", got)
		}
		if got := keys(""); got != "[Follow/c follow%x follow/a follow/b follow/é follow_ k signup/a]" {
			t.Errorf("all: %s", got)
		}
		if got := keys("follow/é"); got != "[follow/é]" {
			t.Errorf("follow/é: %s", got)
		}
	})
}

func TestTx(t *testing.T) {
	each(t, func(t *testing.T, _ Config, s Store) {
		boom := errors.New("boom")
		err := s.Tx(ctx, func(tx Store) error {
			must(t, tx.Groups().Put(ctx, Group{Name: "uk"}))
			// The transaction sees its own writes.
			if _, err := tx.Groups().Get(ctx, "uk"); err != nil {
				t.Errorf("inside tx: %v", err)
			}
			must(t, tx.Members().Sync(ctx, "uk", []Member{{Email: "a@example.org"}}))
			return boom
		})
		wantErr(t, err, boom)
		_, err = s.Groups().Get(ctx, "uk")
		wantErr(t, err, ErrNotFound)

		func() {
			defer func() {
				if recover() == nil {
					t.Fatal("panic swallowed")
				}
			}()
			s.Tx(ctx, func(tx Store) error {
				tx.Groups().Put(ctx, Group{Name: "uk"})
				panic("boom")
			})
		}()
		_, err = s.Groups().Get(ctx, "uk")
		wantErr(t, err, ErrNotFound)

		must(t, s.Tx(ctx, func(tx Store) error {
			if err := tx.Groups().Put(ctx, Group{Name: "uk"}); err != nil {
				return err
			}
			_, err := tx.Journal().Start(ctx, "r", "k")
			if !errors.Is(err, ErrNotFound) {
				return err
			}
			return tx.Journal().Finish(ctx, "r", "k", nil)
		}))
		if _, err := s.Groups().Get(ctx, "uk"); err != nil {
			t.Fatal(err)
		}
		if st, err := s.Journal().Get(ctx, "r", "k"); err != nil || st.Status != StepDone {
			t.Fatalf("journal after tx: %+v, %v", st, err)
		}
		must(t, s.Ping(ctx))
	})
}

// TestConcurrentRedeem is the single-use guarantee: of 100 racing
// redemptions exactly one wins.
func TestConcurrentRedeem(t *testing.T) {
	each(t, func(t *testing.T, _ Config, s Store) {
		must(t, s.Groups().Put(ctx, Group{Name: "uk"}))
		must(t, s.Invites().Put(ctx, Invite{Group: "uk", Email: "a@example.org", TokenHash: "h"}))
		errs := race(100, func(int) error { return s.Invites().Redeem(ctx, "h", time.Now()) })
		if n := count(t, errs, ErrConflict); n != 1 {
			t.Fatalf("%d winners, want 1", n)
		}
	})
}

// TestConcurrentSetState is the single-launch guarantee.
func TestConcurrentSetState(t *testing.T) {
	each(t, func(t *testing.T, _ Config, s Store) {
		must(t, s.Groups().Put(ctx, Group{Name: "uk"}))
		errs := race(50, func(int) error { return s.Groups().SetState(ctx, "uk", "gathering", "launched", time.Now()) })
		if n := count(t, errs, ErrConflict); n != 1 {
			t.Fatalf("%d winners, want 1", n)
		}
	})
}

// TestConcurrentJournal has 50 goroutines journal steps at once: none may
// fail with SQLITE_BUSY, and Start on one shared key counts every attempt
// and calls exactly one of them the first.
func TestConcurrentJournal(t *testing.T) {
	each(t, func(t *testing.T, _ Config, s Store) {
		j := s.Journal()
		errs := race(50, func(i int) error {
			key := fmt.Sprintf("item/%03d", i)
			if _, err := j.Start(ctx, "r", key); !errors.Is(err, ErrNotFound) {
				return fmt.Errorf("start %s: %v", key, err)
			}
			if err := j.Finish(ctx, "r", key, []byte(key)); err != nil {
				return err
			}
			_, err := j.Start(ctx, "r", "shared")
			return err
		})
		if n := count(t, errs, ErrNotFound); n != 49 {
			t.Fatalf("%d later attempts of the shared key, want 49", n)
		}
		st, err := j.Get(ctx, "r", "shared")
		must(t, err)
		if st.Attempts != 50 {
			t.Fatalf("shared key: %d attempts, want 50", st.Attempts)
		}
		list, err := j.List(ctx, "r", "item/")
		must(t, err)
		if len(list) != 50 || list[0].Key != "item/000" || string(list[49].Result) != "item/049" {
			t.Fatalf("list: %d entries", len(list))
		}
	})
}

// TestConcurrentTx has transactions that read before they write race:
// with SQLite's deferred transactions on several connections, the read
// lock cannot be upgraded and SQLITE_BUSY comes back without waiting.
func TestConcurrentTx(t *testing.T) {
	each(t, func(t *testing.T, _ Config, s Store) {
		must(t, s.Groups().Put(ctx, Group{Name: "uk"}))
		errs := race(20, func(i int) error {
			return s.Tx(ctx, func(tx Store) error {
				g, err := tx.Groups().Get(ctx, "uk")
				if err != nil {
					return err
				}
				time.Sleep(time.Millisecond)
				g.Title += "x"
				return tx.Groups().Put(ctx, g)
			})
		})
		if n := count(t, errs, nil); n != 20 {
			t.Fatalf("%d of 20 transactions committed", n)
		}
		// SQLite runs transactions one at a time, so none is lost;
		// PostgreSQL's read committed may lose some, which is why races
		// that matter are conditional updates (SetState, Redeem).
		if g, _ := s.Groups().Get(ctx, "uk"); s.(*sqlStore).d.name == "sqlite" && len(g.Title) != 20 {
			t.Fatalf("lost updates: title %q", g.Title)
		}
	})
}

// TestReopen checks data outlives the process and migrations run once,
// also when two processes open a new database at the same moment.
func TestReopen(t *testing.T) {
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			cfg := d.config(t)
			stores := make([]Store, 2)
			errs := race(2, func(i int) (err error) {
				stores[i], err = Open(ctx, cfg)
				return err
			})
			for _, err := range errs {
				must(t, err)
			}
			must(t, stores[0].Groups().Put(ctx, Group{Name: "uk", Title: "UK"}))
			for _, s := range stores {
				must(t, s.Close())
			}

			s := open(t, cfg)
			g, err := s.Groups().Get(ctx, "uk")
			must(t, err)
			if g.Title != "UK" {
				t.Fatalf("after reopen: %+v", g)
			}
			files, _ := fs.ReadDir(migrations, "migrations/"+d.name)
			var n int
			must(t, s.(*sqlStore).queryRow(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n))
			if n != len(files) || n == 0 {
				t.Fatalf("%d migrations recorded, want %d", n, len(files))
			}
		})
	}
}

// TestSQLiteFiles checks the state that holds secrets is private.
func TestSQLiteFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	s := open(t, Config{Dir: dir})
	must(t, s.Groups().Put(ctx, Group{Name: "uk"})) // makes the WAL files
	check := func(p string, want os.FileMode) {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode().Perm(), want)
		}
	}
	check(dir, 0o700)
	check(filepath.Join(dir, DBFile), 0o600)
	check(filepath.Join(dir, DBFile+"-wal"), 0o600)
	check(filepath.Join(dir, DBFile+"-shm"), 0o600)
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(ctx, Config{}); err == nil {
		t.Error("empty config opened")
	}
	if _, err := Open(ctx, Config{URL: "mysql://x"}); err == nil {
		t.Error("mysql URL opened")
	}
}

func TestBind(t *testing.T) {
	got := postgresDialect.bind("SELECT '?', a FROM t WHERE b = ? AND c = ?")
	if want := "SELECT '?', a FROM t WHERE b = $1 AND c = $2"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if q := "a = ?"; sqliteDialect.bind(q) != q {
		t.Error("sqlite statement rewritten")
	}
}

// race runs fn n times at once and returns the errors.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// count returns how many errs are nil, failing on any that is not nil or
// loser.
func count(t *testing.T, errs []error, loser error) int {
	t.Helper()
	n := 0
	for _, err := range errs {
		switch {
		case err == nil:
			n++
		case !errors.Is(err, loser):
			t.Errorf("unexpected error: %v", err)
		}
	}
	return n
}

func TestFollows(t *testing.T) {
	each(t, func(t *testing.T, _ Config, s Store) {
		f := s.Follows()
		wantErr(t, f.Put(ctx, FollowImport{Group: "uk", Email: "a@example.org", Self: "x:ada"}), ErrNotFound)
		must(t, s.Groups().Put(ctx, Group{Name: "uk"}))
		// More follows than one INSERT writes.
		var many [][2]string
		for i := range followBatch + 7 {
			many = append(many, [2]string{"x:ada", fmt.Sprintf("x:id:%d", i)})
		}
		must(t, f.Put(ctx, FollowImport{Group: "uk", Email: "A@example.org", Self: "x:ada", Aliases: []string{"x:id:99"},
			Format: "X archive", Edges: many, CreatedAt: t0}))
		must(t, f.Put(ctx, FollowImport{Group: "uk", Email: "a@example.org", Self: "bsky:did:plc:a", Format: "Bluesky repository",
			Edges: [][2]string{{"bsky:did:plc:a", "bsky:did:plc:b"}}}))
		must(t, f.Put(ctx, FollowImport{Group: "uk", Email: "b@example.org", Self: "fedi:@b@social.example",
			Edges: [][2]string{{"fedi:@b@social.example", "fedi:@a@social.example"}}}))
		list, err := f.List(ctx, "uk")
		must(t, err)
		if len(list) != 3 || list[0].Self != "bsky:did:plc:a" || len(list[0].Edges) != 1 || list[1].Self != "x:ada" ||
			len(list[1].Edges) != followBatch+7 || !reflect.DeepEqual(list[1].Aliases, []string{"x:id:99"}) ||
			!list[1].CreatedAt.Equal(t0UTC) || list[1].Email != "a@example.org" || list[2].Edges[0][1] != "fedi:@a@social.example" {
			t.Fatalf("list: %+v", list)
		}
		// A newer download of the same account replaces the older, and
		// the version changes.
		v0, err := f.Version(ctx, "uk")
		must(t, err)
		must(t, f.Put(ctx, FollowImport{Group: "uk", Email: "a@example.org", Self: "x:ada", Edges: many[:2]}))
		list, _ = f.List(ctx, "uk")
		if len(list) != 3 || len(list[1].Edges) != 2 || len(list[1].Aliases) != 0 {
			t.Fatalf("replaced: %+v", list[1])
		}
		if v, _ := f.Version(ctx, "uk"); v == v0 {
			t.Fatalf("version %s unchanged by a put", v)
		}
		v1, err := f.Version(ctx, "uk")
		must(t, err)
		n, err := f.Delete(ctx, "uk", "A@example.org")
		must(t, err)
		v2, err := f.Version(ctx, "uk")
		must(t, err)
		if v1 == v2 {
			t.Fatalf("version %s unchanged by a delete", v1)
		}
		list, _ = f.List(ctx, "uk")
		if n != 2 || len(list) != 1 || list[0].Email != "b@example.org" {
			t.Fatalf("after delete (%d): %+v", n, list)
		}
		if n, err := f.Delete(ctx, "uk", "a@example.org"); err != nil || n != 0 {
			t.Fatalf("delete again: %d, %v", n, err)
		}
		// The graph goes with its group.
		ss := s.(*sqlStore)
		_, err = ss.exec(ctx, "DELETE FROM groups WHERE name = ?", "uk")
		must(t, err)
		var left int
		must(t, ss.queryRow(ctx, "SELECT (SELECT COUNT(*) FROM follow_imports) + (SELECT COUNT(*) FROM follow_edges)").Scan(&left))
		if left != 0 {
			t.Fatalf("%d rows of follows outlive their group", left)
		}
	})
}
