package admission

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func draft(server string, emails ...string) Draft {
	return Draft{
		Server: server,
		Group:  Group{Name: "uk-public-digital", Title: "UK public digital"},
		Lead:   Contact{Name: "Ada", Email: "ada@example.org"},
		Emails: emails,
		Window: Window{From: t0.Add(-time.Hour), Until: t0.Add(24 * time.Hour)},
		Rules:  []string{"Be kind", "No spam"},
	}
}

func TestRequestSignVerifyEncode(t *testing.T) {
	key := newKey(t)
	r, err := New(draft("https://social.example/", "Alice@Example.org", "bob@example.org", "alice@example.org"), key, t0)
	if err != nil {
		t.Fatal(err)
	}
	if r.Size != 2 || r.Server != "https://social.example" {
		t.Fatalf("size %d server %q", r.Size, r.Server)
	}
	if err := r.Verify(); err != nil {
		t.Fatal(err)
	}
	if ro := r.Roster(); !ro[memberEntry(key, r, "ALICE@example.org ")] || ro[memberEntry(key, r, "carol@example.org")] {
		t.Fatal("roster")
	}
	if strings.Contains(string(r.Encode()), "alice") {
		t.Fatal("the document shows an email")
	}
	for name, data := range map[string][]byte{"json": r.Encode(), "token": []byte("see " + r.Token() + "\n")} {
		got, err := Decode(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.ID() != r.ID() || got.Fingerprint() != r.Fingerprint() {
			t.Fatalf("%s: decoded another request", name)
		}
	}
	// Tampering with anything signed breaks the signature.
	for name, edit := range map[string]func(*Request){
		"size": func(r *Request) {
			r.Members = append(r.Members, b64.EncodeToString(make([]byte, entryLen)))
			slices.Sort(r.Members)
			r.Size++
		},
		"window": func(r *Request) { r.Window.Until = r.Window.Until.Add(time.Hour) },
		"rules":  func(r *Request) { r.Rules = r.Rules[:1] },
		"key": func(r *Request) {
			r.PublicKey = b64.EncodeToString(newKey(t).Public().(ed25519.PublicKey))
		},
	} {
		var c Request
		json.Unmarshal(r.Encode(), &c)
		edit(&c)
		if _, err := Decode(c.Encode()); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s changed: Decode = %v, want ErrBadSignature", name, err)
		}
	}
	if _, err := Decode([]byte("<html>")); !errors.Is(err, ErrMalformed) {
		t.Errorf("html: %v", err)
	}
}

func TestProofCheck(t *testing.T) {
	key := newKey(t)
	req, _ := New(draft("https://social.example", "alice@example.org", "bob@example.org"), key, t0)
	p, err := IssueProof(req, key, "alice@example.org", Window{})
	if err != nil {
		t.Fatal(err)
	}
	// The reason fits every server's field (40 to 420 characters), even
	// for a title of quotes and control characters.
	for _, title := range []string{"", strings.Repeat(`"`, 200), strings.Repeat("\x1b\u202e", 100), strings.Repeat("é", 300)} {
		if n := utf8.RuneCountInString(Reason(title, p)); n < 40 || n > 420 {
			t.Fatalf("reason of %d characters for title %q", n, title)
		}
	}
	if strings.ContainsAny(Reason("a\x1b]0;x\x07b", p), "\x1b\x07") {
		t.Fatal("a control character reached the reason")
	}
	if _, err := IssueProof(req, newKey(t), "alice@example.org", Window{}); err == nil {
		t.Fatal("proof issued with another key")
	}
	// A forger who knows the request (it is public) signs with their key.
	forged := forge(t, req, newKey(t), "alice@example.org")
	expired, _ := IssueProof(req, key, "alice@example.org", Window{Until: t0.Add(-30 * time.Minute)})
	other, _ := New(draft("https://social.example", "alice@example.org"), key, t0)
	// A proof for someone not on the roster is genuine, but names no
	// member: the watcher refuses it.
	nonMember, _ := IssueProof(req, key, "mallory@example.org", Window{})
	if pr, _ := ParseProof(nonMember); pr.Check(req, "mallory@example.org", t0) != nil || req.Roster()[pr.Member] {
		t.Fatal("a non-member's proof")
	}

	tests := []struct {
		name, reason, email string
		at                  time.Time
		req                 *Request
		want                error
	}{
		{"valid", Reason("UK", p), "alice@example.org", t0, req, nil},
		{"valid, case", "proof:" + p + ".", "ALICE@example.org", t0, req, nil},
		{"no proof", "let me in please, I am a real person", "alice@example.org", t0, req, ErrNoProof},
		{"garbage", ProofPrefix + "AAAA", "alice@example.org", t0, req, ErrBadProof},
		{"copied to another email", Reason("UK", p), "mallory@example.org", t0, req, ErrOtherEmail},
		{"forged", Reason("UK", forged), "alice@example.org", t0, req, ErrForged},
		{"expired", Reason("UK", expired), "alice@example.org", t0, req, ErrOutsideWindow},
		{"before the window", Reason("UK", p), "alice@example.org", t0.Add(-2 * time.Hour), req, ErrOutsideWindow},
		{"another request", Reason("UK", p), "alice@example.org", t0, other, ErrUnknownGroup},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pr, err := ParseProof(tc.reason)
			if err == nil {
				err = pr.Check(tc.req, tc.email, tc.at)
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// forge makes a well-formed proof naming req, for email, signed by a key
// that is not the group's.
func forge(t *testing.T, req *Request, k ed25519.PrivateKey, email string) string {
	t.Helper()
	return mintProof(req.ID(), make([]byte, 16), email, req.Window, k)
}

// fakeAdmin is an in-memory admin API.
type fakeAdmin struct {
	mu       sync.Mutex
	accounts []fedi.AdminAccount
	approved []string
	denyAll  *fedi.Error
}

func (f *fakeAdmin) PendingAccounts(context.Context) ([]fedi.AdminAccount, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.denyAll != nil {
		return nil, f.denyAll
	}
	var out []fedi.AdminAccount
	for _, a := range f.accounts {
		if !a.Approved {
			out = append(out, a)
		}
	}
	return out, nil
}

func (f *fakeAdmin) AdminAccount(_ context.Context, id string) (fedi.AdminAccount, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range f.accounts {
		if a.ID == id {
			return a, nil
		}
	}
	return fedi.AdminAccount{}, &fedi.Error{Status: 404}
}

func (f *fakeAdmin) Approve(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, a := range f.accounts {
		if a.ID == id {
			if a.Approved {
				return &fedi.Error{Status: 403, Message: "not pending"}
			}
			f.accounts[i].Approved = true
			f.approved = append(f.approved, a.Username)
			return nil
		}
	}
	return &fedi.Error{Status: 404, Message: "Record not found"}
}

func (f *fakeAdmin) add(id, username, email, reason string, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.accounts = append(f.accounts, fedi.AdminAccount{ID: id, Username: username, Email: email, InviteRequest: reason, CreatedAt: at, Confirmed: true})
}

func TestWatcher(t *testing.T) {
	ctx := context.Background()
	const server = "https://social.example"
	st := openStore(t)
	key, rkey := newKey(t), newKey(t)
	req, _ := New(draft(server, "alice@example.org", "bob@example.org", "dora@example.org"), key, t0)
	rreq, _ := New(draft(server, "carol@example.org"), rkey, t0)
	elsewhere, _ := New(draft("https://other.example", "erin@example.org"), key, t0)
	must(t, Decide(ctx, st.Journal(), req, true, "welcome", t0))
	must(t, Decide(ctx, st.Journal(), rreq, false, "too many", t0))
	must(t, Decide(ctx, st.Journal(), elsewhere, true, "", t0))

	proof := func(r *Request, k ed25519.PrivateKey, email string, w Window) string {
		p, err := IssueProof(r, k, email, w)
		if err != nil {
			t.Fatal(err)
		}
		return Reason(r.Group.Title, p)
	}
	alice := proof(req, key, "alice@example.org", Window{})
	api := &fakeAdmin{}
	api.add("1", "alice", "alice@example.org", alice, t0)
	api.add("2", "mallory", "mallory@example.org", alice, t0.Add(-time.Minute)) // copied, earlier
	api.add("3", "forger", "bob@example.org", Reason("x", forge(t, req, newKey(t), "bob@example.org")), t0)
	api.add("4", "late", "bob@example.org", proof(req, key, "bob@example.org", Window{Until: t0.Add(-time.Minute)}), t0)
	api.add("5", "carol", "carol@example.org", proof(rreq, rkey, "carol@example.org", Window{}), t0)
	api.add("6", "stranger", "s@example.org", "I would like to join this lovely server please", t0)
	api.add("7", "erin", "erin@example.org", proof(elsewhere, key, "erin@example.org", Window{}), t0)
	api.add("8", "Alice2", "Alice@Example.org", alice, t0.Add(time.Minute)) // the same proof again
	api.add("9", "dora", "dora@example.org", proof(req, key, "dora@example.org", Window{}), t0)

	w := &Watcher{API: api, Journal: st.Journal(), Server: server + "/", Now: func() time.Time { return t0 }}

	dry := *w
	dry.DryRun = true
	vs, err := dry.Poll(ctx)
	must(t, err)
	if len(api.approved) != 0 {
		t.Fatalf("dry run approved %v", api.approved)
	}
	if got := actions(vs); got != "mallory:leave alice:approve forger:leave late:leave carol:leave stranger:leave erin:leave dora:approve Alice2:leave" {
		t.Fatalf("dry run: %s", got)
	}

	vs, err = w.Poll(ctx)
	must(t, err)
	if got := strings.Join(api.approved, " "); got != "alice dora" {
		t.Fatalf("approved %q, want alice dora; verdicts %s", got, actions(vs))
	}
	why := map[string]string{}
	for _, v := range vs {
		why[v.Username] = v.Why
	}
	for user, want := range map[string]error{"mallory": ErrOtherEmail, "forger": ErrForged, "late": ErrOutsideWindow,
		"carol": ErrRejected, "stranger": ErrNoProof, "erin": ErrUnknownGroup, "Alice2": ErrReplayed} {
		if why[user] != want.Error() {
			t.Errorf("%s: why %q, want %q", user, why[user], want)
		}
	}

	// A second poll approves nobody new and logs nothing twice.
	before, _ := st.Journal().List(ctx, w.run(), "")
	_, err = w.Poll(ctx)
	must(t, err)
	if len(api.approved) != 2 {
		t.Fatalf("second poll approved %v", api.approved)
	}
	after, _ := st.Journal().List(ctx, w.run(), "")
	if len(before) != len(after) {
		t.Fatalf("journal grew from %d to %d entries", len(before), len(after))
	}
	log, err := st.Journal().List(ctx, w.run(), verdictKey)
	must(t, err)
	if len(log) != 9 {
		t.Fatalf("log has %d verdicts, want 9", len(log))
	}

	// A replay after the first sign-up was approved: still refused.
	api.add("10", "alice3", "alice@example.org", alice, t0.Add(2*time.Minute))
	_, err = w.Poll(ctx)
	must(t, err)
	if len(api.approved) != 2 {
		t.Fatalf("replay approved: %v", api.approved)
	}
}

// TestWatcherCrashBeforeRecord: approved on the server, but the claim was
// not marked approved (a crash): the next poll finds it approved and
// records it, without approving anyone else.
func TestWatcherResume(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	key := newKey(t)
	req, _ := New(draft("https://s.example", "alice@example.org"), key, t0)
	must(t, Decide(ctx, st.Journal(), req, true, "", t0))
	p, _ := IssueProof(req, key, "alice@example.org", Window{})
	api := &fakeAdmin{}
	api.add("1", "alice", "alice@example.org", p, t0)
	w := &Watcher{API: api, Journal: st.Journal(), Server: "s.example", Now: func() time.Time { return t0 }}
	// A claim left half-made long ago (crash between Start and Finish).
	pr, _ := ParseProof(p)
	if _, err := st.Journal().Start(ctx, w.run(), claimKey+pr.RequestID+"/"+pr.Member); !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	w.Now = func() time.Time { return time.Now().Add(time.Hour) }
	vs, err := w.Poll(ctx)
	must(t, err)
	if len(vs) != 1 || vs[0].Action != Approve {
		t.Fatalf("verdicts %s", actions(vs))
	}
}

func TestScopeErrors(t *testing.T) {
	ctx := context.Background()
	outside := &fedi.Error{Status: 403, Message: "This action is outside the authorized scopes"}
	api := &fakeAdmin{denyAll: outside}
	err := CheckScopes(ctx, api)
	var se *ScopeError
	if !errors.As(err, &se) || se.Scope != ScopeRead || se.NotStaff || !strings.Contains(err.Error(), "lacks scope admin:read:accounts") {
		t.Fatalf("read: %v", err)
	}
	ok := &fakeAdmin{}
	if err := CheckScopes(ctx, ok); err != nil {
		t.Fatalf("admin: %v", err)
	}
	noWrite := &writeDenied{fakeAdmin: &fakeAdmin{}, err: outside}
	if err := CheckScopes(ctx, noWrite); !errors.As(err, &se) || se.Scope != ScopeWrite {
		t.Fatalf("write: %v", err)
	}
	notStaff := &fakeAdmin{denyAll: &fedi.Error{Status: 403, Message: "This action is not allowed"}}
	if err := CheckScopes(ctx, notStaff); !errors.As(err, &se) || !se.NotStaff || !strings.Contains(err.Error(), ScopeRead) {
		t.Fatalf("not staff: %v", err)
	}
	if err := CheckScopes(ctx, &fakeAdmin{denyAll: &fedi.Error{Status: http.StatusUnauthorized}}); err == nil ||
		!strings.Contains(err.Error(), "refused") {
		t.Fatalf("401: %v", err)
	}
}

type writeDenied struct {
	*fakeAdmin
	err error
}

func (w *writeDenied) Approve(context.Context, string) error { return w.err }

func TestMemberProof(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	must(t, st.Groups().Put(ctx, store.Group{Name: "uk-public-digital", Title: "UK"}))
	g, _ := st.Groups().Get(ctx, "uk-public-digital")
	req, err := New(draft("https://s.example", "alice@example.org"), ed25519.PrivateKey(g.SigningKey), t0)
	must(t, err)
	if _, _, err := MemberProof(ctx, st, "uk-public-digital", "", "alice@example.org"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("before saving: %v", err)
	}
	must(t, SaveRequest(ctx, st.Journal(), req))
	p, got, err := MemberProof(ctx, st, "uk-public-digital", "https://S.example/", "alice@example.org")
	must(t, err)
	pr, err := ParseProof(p)
	must(t, err)
	if got.ID() != req.ID() || pr.Check(req, "alice@example.org", t0) != nil {
		t.Fatal("proof does not check")
	}
}

func actions(vs []Verdict) string {
	var s []string
	for _, v := range vs {
		s = append(s, v.Username+":"+v.Action)
	}
	return strings.Join(s, " ")
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestWatchSaysEachVerdictOnce: polling again repeats nothing unchanged;
// a sign-up that arrives later is reported when it comes; the count of
// accepted groups is per server.
func TestWatchSaysEachVerdictOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := openStore(t)
	key := newKey(t)
	req, _ := New(draft("https://s.example", "alice@example.org", "bob@example.org"), key, t0)
	must(t, Decide(ctx, st.Journal(), req, true, "", t0))
	if n, err := AcceptedGroups(ctx, st.Journal(), "https://s.example/"); err != nil || n != 1 {
		t.Fatalf("accepted for s.example: %d, %v", n, err)
	}
	if n, _ := AcceptedGroups(ctx, st.Journal(), "https://other.example"); n != 0 {
		t.Fatalf("accepted for another server: %d", n)
	}
	alice, _ := IssueProof(req, key, "alice@example.org", Window{})
	bob, _ := IssueProof(req, key, "bob@example.org", Window{})
	api := &fakeAdmin{}
	api.add("1", "alice", "alice@example.org", alice, t0)
	api.add("2", "stranger", "s@example.org", "hello there, may I join?", t0)
	w := &Watcher{API: api, Journal: st.Journal(), Server: "https://s.example", Now: func() time.Time { return t0 }}

	said := make(chan string, 10)
	done := make(chan error, 1)
	go func() {
		done <- w.Watch(ctx, 5*time.Millisecond, func(v Verdict) { said <- v.Username + ":" + v.Action })
	}()
	next := func() string {
		select {
		case s := <-said:
			return s
		case <-time.After(10 * time.Second):
			t.Fatal("no verdict")
			return ""
		}
	}
	var got []string
	got = append(got, next(), next())
	time.Sleep(100 * time.Millisecond) // many polls; the stranger stays pending
	api.add("3", "bob", "bob@example.org", bob, t0)
	got = append(got, next())
	time.Sleep(50 * time.Millisecond)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("watch ended with %v", err)
	}
	close(said)
	for s := range said {
		got = append(got, s)
	}
	if strings.Join(got, " ") != "alice:approve stranger:leave bob:approve" {
		t.Fatalf("reported %v", got)
	}

	// Once (interval 0): one poll, then nil.
	if err := w.Watch(context.Background(), 0, func(Verdict) {}); err != nil {
		t.Fatal(err)
	}
}
