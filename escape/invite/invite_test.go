package invite

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/pgtest"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func newKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func pub(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

func TestSignParse(t *testing.T) {
	k := newKey(t)
	now := time.Now()
	c := Claims{Purpose: Invite, Group: "river-birders", Member: MemberID("river-birders", "Ben@Example.org"), Expires: now.Add(time.Hour)}
	tok, err := Sign(k, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) > MaxLen {
		t.Fatalf("token of %d chars", len(tok))
	}
	got, err := Parse(pub(k), Invite, tok, now)
	if err != nil {
		t.Fatal(err)
	}
	if !got.SameMember("river-birders", "ben@example.org") || got.SameMember("river-birders", "ada@example.org") {
		t.Fatalf("member binding wrong: %+v", got)
	}
	if got.Expires.Unix() != c.Expires.Unix() || got.Purpose != Invite || got.Group != "river-birders" {
		t.Fatalf("claims %+v", got)
	}
	again, _ := Sign(k, c)
	if again != tok {
		t.Fatal("signing the same claims twice gave two tokens")
	}
	c.Expires = c.Expires.Add(time.Second)
	if other, _ := Sign(k, c); other == tok {
		t.Fatal("different expiry, same token")
	}
}

func TestParseRefuses(t *testing.T) {
	k, other := newKey(t), newKey(t)
	now := time.Now()
	c := Claims{Purpose: Invite, Group: "g-one", Member: MemberID("g-one", "a@b.c"), Expires: now.Add(time.Hour)}
	tok, _ := Sign(k, c)
	forged, _ := Sign(other, c)
	expired, _ := Sign(k, Claims{Purpose: Invite, Group: "g-one", Member: c.Member, Expires: now.Add(-time.Second)})
	pledge, _ := Sign(k, Claims{Purpose: Pledge, Group: "g-one", Member: c.Member, Expires: now.Add(time.Hour)})

	cases := map[string]struct {
		tok  string
		want error
	}{
		"empty":         {"", ErrMalformed},
		"too long":      {tok + string(make([]byte, MaxLen)), ErrMalformed},
		"not base64":    {"<script>alert(1)</script>", ErrMalformed},
		"truncated":     {tok[:40], ErrMalformed},
		"other key":     {forged, ErrForged},
		"expired":       {expired, ErrExpired},
		"wrong purpose": {pledge, ErrPurpose},
		"padding added": {tok + "=", ErrMalformed},
		"trailing char": {tok + "A", ErrMalformed},
	}
	for name, tc := range cases {
		if _, err := Parse(pub(k), Invite, tc.tok, now); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", name, err, tc.want)
		}
	}
	// Flip every bit of every byte: never accepted.
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	for i := range raw {
		for bit := 0; bit < 8; bit++ {
			b := append([]byte(nil), raw...)
			b[i] ^= 1 << bit
			if _, err := Parse(pub(k), Invite, base64.RawURLEncoding.EncodeToString(b), now); err == nil {
				t.Fatalf("tampered byte %d bit %d accepted", i, bit)
			}
		}
	}
}

func openSQLite(t *testing.T) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func openPostgres(t *testing.T) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{URL: pgtest.URL(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func setup(t *testing.T, st store.Store) ed25519.PrivateKey {
	t.Helper()
	ctx := context.Background()
	if err := st.Groups().Put(ctx, store.Group{Name: "g-one", Title: "G"}); err != nil {
		t.Fatal(err)
	}
	if err := st.Members().Sync(ctx, "g-one", []store.Member{{Group: "g-one", Email: "a@b.c", Name: "A"}, {Group: "g-one", Email: "d@e.f", Name: "D"}}); err != nil {
		t.Fatal(err)
	}
	g, err := st.Groups().Get(ctx, "g-one")
	if err != nil {
		t.Fatal(err)
	}
	return ed25519.PrivateKey(g.SigningKey)
}

func TestIssueCheckRedeem(t *testing.T) {
	for name, open := range map[string]func(*testing.T) store.Store{"sqlite": openSQLite, "postgres": openPostgres} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := open(t)
			k := setup(t, st)
			now := time.Now()
			tok, err := Issue(ctx, st.Invites(), k, "g-one", "a@b.c", now.Add(48*time.Hour), now)
			if err != nil {
				t.Fatal(err)
			}
			again, err := Issue(ctx, st.Invites(), k, "g-one", "a@b.c", now.Add(48*time.Hour), now)
			if err != nil || again != tok {
				t.Fatalf("reissue: %v, same=%v", err, again == tok)
			}
			invs, _ := st.Invites().List(ctx, "g-one")
			if len(invs) != 1 {
				t.Fatalf("%d invites stored", len(invs))
			}
			if invs[0].TokenHash == tok || invs[0].TokenHash != Hash(tok) {
				t.Fatal("store must hold the hash, not the token")
			}
			if re, err := Token(k, invs[0]); err != nil || re != tok {
				t.Fatalf("Token from store: %v", err)
			}
			// A well-signed token the store does not know.
			stray, _ := Sign(k, Claims{Purpose: Invite, Group: "g-one", Member: MemberID("g-one", "d@e.f"), Expires: now.Add(time.Hour)})
			if _, err := Check(ctx, st.Invites(), pub(k), stray, now); !errors.Is(err, ErrUnknown) {
				t.Fatalf("stray: %v", err)
			}
			if _, err := Check(ctx, st.Invites(), pub(k), tok, now.Add(49*time.Hour)); !errors.Is(err, ErrExpired) {
				t.Fatalf("late: %v", err)
			}
			inv, err := Check(ctx, st.Invites(), pub(k), tok, now)
			if err != nil || inv.Email != "a@b.c" {
				t.Fatalf("check: %+v %v", inv, err)
			}

			// 100 concurrent redemptions of one token: exactly one wins.
			var wins, used atomic.Int32
			var wg sync.WaitGroup
			for i := 0; i < 100; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := Redeem(ctx, st.Invites(), pub(k), tok, time.Now())
					switch {
					case err == nil:
						wins.Add(1)
					case errors.Is(err, ErrUsed):
						used.Add(1)
					default:
						t.Errorf("redeem: %v", err)
					}
				}()
			}
			wg.Wait()
			if wins.Load() != 1 || used.Load() != 99 {
				t.Fatalf("wins %d, used %d", wins.Load(), used.Load())
			}
			if _, err := Redeem(ctx, st.Invites(), pub(k), tok, time.Now()); !errors.Is(err, ErrUsed) {
				t.Fatalf("replay: %v", err)
			}
		})
	}
}

// A superseded invite stops working at once, with ErrUnknown (not
// "expired"), while the newer one works; a used invite is left as it is.
func TestSupersede(t *testing.T) {
	ctx := context.Background()
	st := openSQLite(t)
	k := setup(t, st)
	now := time.Now()
	old, err := Issue(ctx, st.Invites(), k, "g-one", "a@b.c", now.Add(48*time.Hour), now)
	if err != nil {
		t.Fatal(err)
	}
	later := now.Add(time.Hour)
	fresh, err := Issue(ctx, st.Invites(), k, "g-one", "a@b.c", later.Add(48*time.Hour), later)
	if err != nil || fresh == old {
		t.Fatalf("fresh invite: %v (same token: %v)", err, fresh == old)
	}
	inv, err := st.Invites().GetByHash(ctx, Hash(old))
	if err != nil {
		t.Fatal(err)
	}
	if err := Supersede(ctx, st.Invites(), inv, later); err != nil {
		t.Fatal(err)
	}
	if _, err := Check(ctx, st.Invites(), pub(k), old, later.Add(time.Minute)); !errors.Is(err, ErrUnknown) {
		t.Errorf("old invite after Supersede: %v, want ErrUnknown", err)
	}
	if _, err := Redeem(ctx, st.Invites(), pub(k), old, later.Add(time.Minute)); !errors.Is(err, ErrUnknown) {
		t.Errorf("redeem the old invite: %v, want ErrUnknown", err)
	}
	if _, err := Redeem(ctx, st.Invites(), pub(k), fresh, later.Add(time.Minute)); err != nil {
		t.Errorf("the fresh invite: %v", err)
	}
	used, _ := st.Invites().GetByHash(ctx, Hash(fresh))
	if err := Supersede(ctx, st.Invites(), used, later.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if again, _ := st.Invites().GetByHash(ctx, Hash(fresh)); !again.ExpiresAt.Equal(used.ExpiresAt) {
		t.Errorf("a used invite's expiry moved: %v -> %v", used.ExpiresAt, again.ExpiresAt)
	}
}
