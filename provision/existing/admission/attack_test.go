package admission

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/store"
)

// Each test here is one attack on the admin's promise ("exactly these
// people, nobody else"), tried as the attacker would.

// leadGroup makes the lead's store with the group and a saved request of
// emails to server; it returns the store, the group's key and the request.
func leadGroup(t *testing.T, server string, emails ...string) (store.Store, ed25519.PrivateKey, *Request) {
	t.Helper()
	ctx := context.Background()
	st := openStore(t)
	must(t, st.Groups().Put(ctx, store.Group{Name: "uk-public-digital", Title: "UK public digital"}))
	g, err := st.Groups().Get(ctx, "uk-public-digital")
	must(t, err)
	key := ed25519.PrivateKey(g.SigningKey)
	req, err := New(draft(server, emails...), key, t0)
	must(t, err)
	must(t, SaveRequest(ctx, st.Journal(), req))
	return st, key, req
}

func why(vs []Verdict) map[string]string {
	m := map[string]string{}
	for _, v := range vs {
		m[v.Username] = v.Action
		if v.Why != "" {
			m[v.Username] += ": " + v.Why
		}
	}
	return m
}

// TestOneApprovalPerMember: the invite page mints a proof at each load;
// a member (or whoever holds their link) signs up three times with
// ada@, ADA@ and Ada@, each with the proof of another load, and holds a
// second, narrower proof too. One account is approved.
func TestOneApprovalPerMember(t *testing.T) {
	ctx := context.Background()
	const server = "https://s.example"
	lead, key, req := leadGroup(t, server, "ada@example.org", "bob@example.org")
	admin := openStore(t)
	must(t, Decide(ctx, admin.Journal(), req, true, "", t0))

	var proofs []string
	for range 3 { // three loads of /invite/TOKEN
		p, _, err := MemberProof(ctx, lead, "uk-public-digital", server, "ada@example.org")
		must(t, err)
		proofs = append(proofs, p)
	}
	if proofs[0] != proofs[1] || proofs[1] != proofs[2] {
		t.Fatal("each load minted another proof")
	}
	narrow, err := IssueProof(req, key, "Ada@Example.org", Window{Until: t0.Add(time.Hour)})
	must(t, err)
	if narrow == proofs[0] {
		t.Fatal("the narrower proof is the same proof")
	}
	api := &fakeAdmin{}
	api.add("1", "ada1", "ada@example.org", Reason("UK", proofs[0]), t0)
	api.add("2", "ada2", "ADA@example.org", Reason("UK", proofs[1]), t0.Add(time.Second))
	api.add("3", "ada3", "Ada@example.org", Reason("UK", proofs[2]), t0.Add(2*time.Second))
	api.add("4", "ada4", "Ada@Example.org", Reason("UK", narrow), t0.Add(3*time.Second))
	w := &Watcher{API: api, Journal: admin.Journal(), Server: server, Now: func() time.Time { return t0 }}
	for poll := range 2 {
		vs, err := w.Poll(ctx)
		must(t, err)
		if got := strings.Join(api.approved, " "); got != "ada1" {
			t.Fatalf("poll %d approved %q, want ada1 only; %v", poll, got, why(vs))
		}
		for _, u := range []string{"ada2", "ada3", "ada4"} {
			if why(vs)[u] != Leave+": "+ErrReplayed.Error() {
				t.Fatalf("poll %d: %s: %q", poll, u, why(vs)[u])
			}
		}
	}
}

// rekey is the attacker's copy of req: the same content (and, on the old
// format, the same claimed id), signed with the attacker's key.
func rekey(t *testing.T, req *Request, k ed25519.PrivateKey) *Request {
	t.Helper()
	var c Request
	must(t, json.Unmarshal(req.Encode(), &c))
	c.PublicKey = b64.EncodeToString(k.Public().(ed25519.PublicKey))
	c.Signature = b64.EncodeToString(ed25519.Sign(k, c.signed()))
	must(t, c.Verify())
	return &c
}

// TestRequestIdentityCannotBeClaimed: whoever holds a group's request
// (every proof names it) makes a request of their own that claims it:
// the same id field, or the same content re-signed. It can neither see
// nor change the group's decision.
func TestRequestIdentityCannotBeClaimed(t *testing.T) {
	ctx := context.Background()
	const server = "https://s.example"
	_, key, req := leadGroup(t, server, "ada@example.org")
	admin := openStore(t)
	must(t, Decide(ctx, admin.Journal(), req, true, "welcome", t0))

	// An id field of the attacker's choosing is refused: nothing
	// unsigned rides along.
	var doc map[string]any
	must(t, json.Unmarshal(req.Encode(), &doc))
	doc["id"] = req.ID()
	b, _ := json.Marshal(doc)
	if _, err := Decode(b); !errors.Is(err, ErrMalformed) {
		t.Fatalf("a request with an id field: %v", err)
	}

	copyOf := rekey(t, req, newKey(t))
	if copyOf.ID() == req.ID() {
		t.Fatal("a re-keyed copy has the group's identity")
	}
	if _, err := DecisionFor(ctx, admin.Journal(), copyOf.ID()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the copy sees a decision: %v", err)
	}
	// The admin rejects the copy: the group stays accepted.
	must(t, Decide(ctx, admin.Journal(), copyOf, false, "impostor", t0.Add(time.Minute)))
	d, err := DecisionFor(ctx, admin.Journal(), req.ID())
	must(t, err)
	if !d.Accepted || d.Message != "welcome" || d.Request.Fingerprint() != req.Fingerprint() {
		t.Fatalf("the group's decision changed: %+v", d)
	}
	// ... and its member is still approved.
	p, err := IssueProof(req, key, "ada@example.org", Window{})
	must(t, err)
	api := &fakeAdmin{}
	api.add("1", "ada", "ada@example.org", Reason("UK", p), t0)
	w := &Watcher{API: api, Journal: admin.Journal(), Server: server, Now: func() time.Time { return t0 }}
	vs, err := w.Poll(ctx)
	must(t, err)
	if len(api.approved) != 1 {
		t.Fatalf("the group's member was not approved: %v", why(vs))
	}

	// A record moved under another identity in the admin's store is not
	// believed either.
	moved, _ := json.Marshal(Decision{Request: copyOf, Accepted: true, At: t0})
	must(t, put(ctx, admin.Journal(), adminRun, decisionKey+req.ID(), moved))
	if _, err := DecisionFor(ctx, admin.Journal(), req.ID()); err == nil {
		t.Fatal("a decision stored under another request's identity was read")
	}
}

// TestRekeyedCopyCannotGetMembersApproved: the admin is even fooled into
// accepting the attacker's re-keyed copy of a group's request. The
// attacker mints proofs with their key for the group's members and signs
// up with a member's email (which the attacker cannot confirm) and with
// their own: none is approved.
func TestRekeyedCopyCannotGetMembersApproved(t *testing.T) {
	ctx := context.Background()
	const server = "https://s.example"
	_, key, req := leadGroup(t, server, "ada@example.org", "bob@example.org")
	evil := newKey(t)
	copyOf := rekey(t, req, evil)
	admin := openStore(t)
	must(t, Decide(ctx, admin.Journal(), req, true, "", t0))
	must(t, Decide(ctx, admin.Journal(), copyOf, true, "", t0))

	secret := make([]byte, 16)
	api := &fakeAdmin{}
	// Proofs naming the copy, for a member and for the attacker.
	api.add("1", "m1", "ada@example.org", Reason("UK", mintProof(copyOf.ID(), secret, "ada@example.org", req.Window, evil)), t0)
	api.add("2", "m2", "mallory@evil.example", Reason("UK", mintProof(copyOf.ID(), secret, "mallory@evil.example", req.Window, evil)), t0)
	// A proof naming the group's request, signed by the attacker.
	api.add("3", "m3", "bob@example.org", Reason("UK", mintProof(req.ID(), secret, "bob@example.org", req.Window, evil)), t0)
	// The member's real proof, on an account the attacker made with the
	// member's email but cannot confirm.
	real, err := IssueProof(req, key, "bob@example.org", Window{})
	must(t, err)
	api.add("4", "m4", "BOB@example.org", Reason("UK", real), t0)
	api.accounts[3].Confirmed = false

	w := &Watcher{API: api, Journal: admin.Journal(), Server: server, Now: func() time.Time { return t0 }}
	vs, err := w.Poll(ctx)
	must(t, err)
	if len(api.approved) != 0 {
		t.Fatalf("approved %v: %v", api.approved, why(vs))
	}
	for user, want := range map[string]error{"m1": ErrNotMember, "m2": ErrNotMember, "m3": ErrForged, "m4": ErrUnconfirmed} {
		if why(vs)[user] != Leave+": "+want.Error() {
			t.Errorf("%s: %q, want %v", user, why(vs)[user], want)
		}
	}
}

// TestUnconfirmedAccountNotApproved: a valid proof on an account whose
// email the server has not confirmed waits, and claims nothing: the
// member's own confirmed account, made later, is the one approved.
func TestUnconfirmedAccountNotApproved(t *testing.T) {
	ctx := context.Background()
	const server = "https://s.example"
	_, key, req := leadGroup(t, server, "ada@example.org")
	admin := openStore(t)
	must(t, Decide(ctx, admin.Journal(), req, true, "", t0))
	p, err := IssueProof(req, key, "ada@example.org", Window{})
	must(t, err)
	api := &fakeAdmin{}
	api.add("1", "squatter", "ada@example.org", Reason("UK", p), t0)
	api.accounts[0].Confirmed = false
	w := &Watcher{API: api, Journal: admin.Journal(), Server: server, Now: func() time.Time { return t0 }}
	vs, err := w.Poll(ctx)
	must(t, err)
	if len(api.approved) != 0 || why(vs)["squatter"] != Leave+": "+ErrUnconfirmed.Error() {
		t.Fatalf("unconfirmed: approved %v, %v", api.approved, why(vs))
	}
	api.add("2", "ada", "Ada@example.org", Reason("UK", p), t0.Add(time.Minute))
	vs, err = w.Poll(ctx)
	must(t, err)
	if strings.Join(api.approved, " ") != "ada" {
		t.Fatalf("approved %v: %v", api.approved, why(vs))
	}
	// The squatter confirms later (it was the member after all): still
	// one account per member.
	api.accounts[0].Confirmed = true
	vs, err = w.Poll(ctx)
	must(t, err)
	if len(api.approved) != 1 || why(vs)["squatter"] != Leave+": "+ErrReplayed.Error() {
		t.Fatalf("approved %v: %v", api.approved, why(vs))
	}
}

// TestNoOfflineMembershipTest: whoever holds the request document tries
// the attack that worked on format 1: hash each guessed email with every
// value the document publishes, as salt, and look for it among the
// members. Nothing matches; the roster says nothing about who is in it.
func TestNoOfflineMembershipTest(t *testing.T) {
	emails := []string{"ada@example.org", "bob@example.org", "carol@example.org"}
	_, _, req := leadGroup(t, "https://s.example", emails...)
	var doc map[string]any
	must(t, json.Unmarshal(req.Encode(), &doc))
	members := map[string]bool{}
	for _, m := range doc["members"].([]any) {
		members[m.(string)] = true
	}
	var salts [][]byte
	for k, v := range doc {
		if s, ok := v.(string); ok {
			salts = append(salts, []byte(s))
			if b, err := base64.RawURLEncoding.DecodeString(s); err == nil {
				salts = append(salts, b)
			}
			if k == "email_salt" {
				t.Errorf("the document publishes a salt")
			}
		}
	}
	salts = append(salts, nil)
	for _, email := range append(emails, "ADA@example.org") {
		for _, salt := range salts {
			for _, msg := range [][]byte{
				append(append(append([]byte{}, salt...), 0), strings.ToLower(email)...), // format 1
				append(append([]byte{}, salt...), strings.ToLower(email)...),
			} {
				sum := sha256.Sum256(msg)
				for _, n := range []int{16, 32} {
					if members[base64.RawURLEncoding.EncodeToString(sum[:n])] {
						t.Fatalf("%s tested for membership offline", email)
					}
				}
			}
		}
	}
	if len(members) != len(emails) {
		t.Fatalf("%d members", len(members))
	}
}

// TestAmendment: members who join after acceptance are an amendment
// signed with the group's key and bound to the accepted request; the
// admin's decision covers only its additions; its removals apply as
// soon as the admin has read it. Amendments by another key, or of
// another request, are refused.
func TestAmendment(t *testing.T) {
	ctx := context.Background()
	const server = "https://s.example"
	lead, key, req := leadGroup(t, server, "ada@example.org", "bob@example.org")
	admin := openStore(t)

	// Not before the lead holds the admin's acceptance.
	if _, _, err := Amend(ctx, lead, "uk-public-digital", server, []string{"ada@example.org"}, t0); !errors.Is(err, ErrNotAccepted) {
		t.Fatalf("amend before acceptance: %v", err)
	}
	must(t, Decide(ctx, admin.Journal(), req, true, "", t0))
	adminKey := newKey(t)
	_, err := ImportAnswer(ctx, lead, "uk-public-digital", NewAnswer(adminKey, req.ID(), server, "uk-public-digital", true, "", t0))
	must(t, err)
	if _, _, err := Amend(ctx, lead, "uk-public-digital", server, []string{"bob@example.org", "ADA@example.org"}, t0); !errors.Is(err, ErrNoChange) {
		t.Fatalf("same roster: %v", err)
	}
	// Carol joins; Bob leaves.
	a, _, err := Amend(ctx, lead, "uk-public-digital", server, []string{"ada@example.org", "carol@example.org"}, t0.Add(time.Hour))
	must(t, err)
	if len(a.Add) != 1 || len(a.Remove) != 1 || a.Request != req.ID() {
		t.Fatalf("amendment %+v", a)
	}
	if strings.Contains(string(a.Encode()), "carol") {
		t.Fatal("the amendment shows an email")
	}
	proof := func(email string) string {
		p, _, err := MemberProof(ctx, lead, "uk-public-digital", server, email)
		if err != nil {
			t.Fatalf("%s: %v", email, err)
		}
		return Reason("UK", p)
	}
	carol, bob := proof("carol@example.org"), Reason("UK", mustProof(t, req, key, "bob@example.org"))
	if _, _, err := MemberProof(ctx, lead, "uk-public-digital", server, "bob@example.org"); !errors.Is(err, ErrNotMember) {
		t.Fatalf("a removed member got a proof: %v", err)
	}

	api := &fakeAdmin{}
	api.add("1", "carol", "carol@example.org", carol, t0.Add(2*time.Hour))
	w := &Watcher{API: api, Journal: admin.Journal(), Server: server, Now: func() time.Time { return t0 }}
	poll := func() map[string]string {
		vs, err := w.Poll(ctx)
		must(t, err)
		return why(vs)
	}
	if v := poll(); v["carol"] != Leave+": "+ErrNotMember.Error() {
		t.Fatalf("before the amendment: %v", v)
	}
	// Bob still holds his proof, good before the amendment.
	pb, _ := ParseProof(bob)
	if err := pb.Check(req, "bob@example.org", t0); err != nil {
		t.Fatal(err)
	}
	api.add("2", "bob", "bob@example.org", bob, t0.Add(2*time.Hour))

	// Forged amendments: another key; bound to another request.
	evil := *a
	evil.Signature = b64.EncodeToString(ed25519.Sign(newKey(t), evil.signed()))
	if _, err := RecordAmendment(ctx, admin.Journal(), &evil, nil, "", t0); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("amendment by another key: %v", err)
	}
	other := rekey(t, req, newKey(t))
	must(t, Decide(ctx, admin.Journal(), other, true, "", t0))
	moved := *a
	moved.Request = other.ID()
	if _, err := RecordAmendment(ctx, admin.Journal(), &moved, nil, "", t0); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("amendment moved to another request: %v", err)
	}

	// Read, not answered: the removal applies, the addition waits.
	data := a.Encode()
	if !IsAmendment(data) || IsAmendment(req.Encode()) {
		t.Fatal("IsAmendment")
	}
	got, err := DecodeAmendment(data)
	must(t, err)
	_, err = RecordAmendment(ctx, admin.Journal(), got, nil, "", t0)
	must(t, err)
	if v := poll(); v["carol"] != Leave+": "+ErrNotMember.Error() || v["bob"] != Leave+": "+ErrNotMember.Error() {
		t.Fatalf("amendment read: %v", v)
	}
	yes := true
	_, err = RecordAmendment(ctx, admin.Journal(), got, &yes, "", t0)
	must(t, err)
	// Reading it again keeps the answer.
	rec, err := RecordAmendment(ctx, admin.Journal(), got, nil, "", t0)
	must(t, err)
	if !rec.Decided || !rec.Accepted {
		t.Fatalf("record %+v", rec)
	}
	if v := poll(); v["carol"] != Approve || v["bob"] != Leave+": "+ErrNotMember.Error() {
		t.Fatalf("amendment accepted: %v", v)
	}
	d, _ := DecisionFor(ctx, admin.Journal(), req.ID())
	if ro, _ := Members(ctx, admin.Journal(), d); len(ro) != 2 {
		t.Fatalf("%d members", len(ro))
	}
}

func mustProof(t *testing.T, req *Request, key ed25519.PrivateKey, email string) string {
	t.Helper()
	p, err := IssueProof(req, key, email, Window{})
	must(t, err)
	return p
}

// TestAnswerReachesLead: the admin's decision, signed with the admin's
// key (0600 in the admin's state), is imported by the lead; the launch
// check reads it. Forged, misdirected and tampered answers are refused.
func TestAnswerReachesLead(t *testing.T) {
	ctx := context.Background()
	const server = "https://s.example"
	lead, _, req := leadGroup(t, server, "ada@example.org")
	if ok, err := AcceptedFor(ctx, lead, "uk-public-digital"); ok || err != nil {
		t.Fatalf("before any answer: %v, %v", ok, err)
	}
	if ok, err := AcceptedFor(ctx, lead, "no-such-group"); ok || err != nil {
		t.Fatalf("no request: %v, %v", ok, err)
	}

	t.Setenv(store.EnvSecretKey, "")
	t.Setenv(store.EnvSecretKeyFile, filepath.Join(t.TempDir(), "secret.key"))
	dir := t.TempDir()
	key, err := AdminKey(dir)
	must(t, err)
	// Sealed: the file does not hold the key's seed.
	raw, err := os.ReadFile(filepath.Join(dir, AdminKeyFile))
	must(t, err)
	if strings.Contains(string(raw), b64.EncodeToString(key.Seed())) {
		t.Fatal("the admin key is stored in clear")
	}
	fi, err := os.Stat(filepath.Join(dir, AdminKeyFile))
	must(t, err)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin key mode %v", fi.Mode())
	}
	again, err := AdminKey(dir)
	must(t, err)
	if !again.Equal(key) {
		t.Fatal("the admin key changed")
	}
	// A key an earlier Lifeboat wrote in clear still opens, and is
	// sealed by that read.
	clear := t.TempDir()
	must(t, os.WriteFile(filepath.Join(clear, AdminKeyFile), []byte(b64.EncodeToString(key.Seed())+"\n"), 0o600))
	old, err := AdminKey(clear)
	must(t, err)
	raw, err = os.ReadFile(filepath.Join(clear, AdminKeyFile))
	must(t, err)
	if !old.Equal(key) || strings.Contains(string(raw), b64.EncodeToString(key.Seed())) {
		t.Fatalf("a clear admin key: same key %v, sealed %v", old.Equal(key), !strings.Contains(string(raw), b64.EncodeToString(key.Seed())))
	}
	must(t, os.Chmod(filepath.Join(dir, AdminKeyFile), 0o644))
	if _, err := AdminKey(dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a readable key: %v", err)
	}

	yes := NewAnswer(key, req.ID(), server, "uk-public-digital", true, "welcome", t0)
	// Tampered in transit: refused.
	tampered := strings.Replace(string(yes.Encode()), `"accepted": true`, `"accepted": false`, 1)
	if _, err := DecodeAnswer([]byte(tampered)); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("tampered: %v", err)
	}
	// For another group's request, or another group: refused.
	_, _, otherReq := leadGroup(t, server, "zed@example.org")
	if _, err := ImportAnswer(ctx, lead, "uk-public-digital", NewAnswer(key, otherReq.ID(), server, "uk-public-digital", true, "", t0)); !errors.Is(err, ErrNotOurs) {
		t.Fatalf("another request: %v", err)
	}
	if _, err := ImportAnswer(ctx, lead, "uk-public-digital", NewAnswer(key, req.ID(), "https://other.example", "uk-public-digital", true, "", t0)); !errors.Is(err, ErrNotOurs) {
		t.Fatalf("another server: %v", err)
	}

	got, err := DecodeAnswer(yes.Encode())
	must(t, err)
	_, err = ImportAnswer(ctx, lead, "uk-public-digital", got)
	must(t, err)
	if ok, err := AcceptedFor(ctx, lead, "uk-public-digital"); !ok || err != nil {
		t.Fatalf("after the answer: %v, %v", ok, err)
	}
	// Someone else's key cannot overturn it.
	if _, err := ImportAnswer(ctx, lead, "uk-public-digital", NewAnswer(newKey(t), req.ID(), server, "uk-public-digital", false, "", t0)); !errors.Is(err, ErrAdminKeyChanged) {
		t.Fatalf("another admin key: %v", err)
	}
	if ok, _ := AcceptedFor(ctx, lead, "uk-public-digital"); !ok {
		t.Fatal("overturned")
	}
	// The admin's own later rejection does.
	_, err = ImportAnswer(ctx, lead, "uk-public-digital", NewAnswer(key, req.ID(), server, "uk-public-digital", false, "", t0.Add(time.Hour)))
	must(t, err)
	if ok, _ := AcceptedFor(ctx, lead, "uk-public-digital"); ok {
		t.Fatal("a rejection reads as accepted")
	}
	// A newer request needs its own answer.
	_, err = ImportAnswer(ctx, lead, "uk-public-digital", yes)
	must(t, err)
	g, _ := lead.Groups().Get(ctx, "uk-public-digital")
	newer, err := New(draft(server, "ada@example.org"), ed25519.PrivateKey(g.SigningKey), t0.Add(time.Hour))
	must(t, err)
	must(t, SaveRequest(ctx, lead.Journal(), newer))
	if ok, _ := AcceptedFor(ctx, lead, "uk-public-digital"); ok {
		t.Fatal("a newer request reads as accepted")
	}
}
