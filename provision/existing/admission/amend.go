package admission

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/store"
)

// AmendmentVersion is the amendment document's format version.
const AmendmentVersion = 1

// AmendmentPrefix starts the one-line form of an amendment.
const AmendmentPrefix = "lifeboat-amendment:"

// Amendment changes the roster of an accepted request: members who
// pledged late are added, members who left are removed. It is signed
// with the request's own key and bound to the request's identity, so
// nobody else can amend a group, and an amendment of one request means
// nothing for another. The admin accepts (or rejects) its additions;
// its removals apply as soon as the admin has read it, since they only
// narrow what the admin already allowed.
type Amendment struct {
	Format    int       `json:"lifeboat_admission_amendment"` // AmendmentVersion
	Request   string    `json:"request"`                      // the amended request's ID
	Add       []string  `json:"add,omitempty"`                // member entries, sorted
	Remove    []string  `json:"remove,omitempty"`             // member entries, sorted
	CreatedAt time.Time `json:"created_at"`
	Signature string    `json:"signature,omitempty"`
}

// Errors of amendments.
var (
	ErrNoChange    = errors.New("the roster is unchanged: nothing to amend")
	ErrNotAccepted = errors.New("the request has not been accepted")
)

func (a *Amendment) signed() []byte {
	c := *a
	c.Signature = ""
	b, _ := json.Marshal(c)
	return append([]byte("lifeboat-admission-amendment\x00"), b...)
}

// ID is the amendment's identity, derived like a request's.
func (a *Amendment) ID() string {
	s := sha256.Sum256(append([]byte("lifeboat-admission-id\x00"), a.signed()...))
	return hex.EncodeToString(s[:16])
}

// Encode is the document as indented JSON, for a file.
func (a *Amendment) Encode() []byte { return encode(a) }

// Verify checks the amendment's shape and that base's key signed it for
// base.
func (a *Amendment) Verify(base *Request) error {
	if a.Format != AmendmentVersion {
		return fmt.Errorf("%w: amendment format %d, this Lifeboat reads %d", ErrMalformed, a.Format, AmendmentVersion)
	}
	if a.Request != base.ID() {
		return fmt.Errorf("%w: the amendment is for request %s, not %s", ErrMalformed, a.Request, base.ID())
	}
	if len(a.Add)+len(a.Remove) == 0 {
		return fmt.Errorf("%w: the amendment changes nothing", ErrMalformed)
	}
	for _, es := range [][]string{a.Add, a.Remove} {
		if err := checkEntries(es); err != nil {
			return err
		}
	}
	for _, e := range a.Add {
		if _, ok := slices.BinarySearch(a.Remove, e); ok {
			return fmt.Errorf("%w: the amendment adds and removes the same member", ErrMalformed)
		}
	}
	k, err := base.Key()
	if err != nil {
		return err
	}
	sig, err := b64.DecodeString(a.Signature)
	if err != nil || !ed25519.Verify(k, a.signed(), sig) {
		return ErrBadSignature
	}
	return nil
}

// IsAmendment reports whether data holds an amendment rather than a
// request.
func IsAmendment(data []byte) bool {
	raw, err := unwrap(data, AmendmentPrefix)
	if err != nil {
		return false
	}
	var head struct {
		Format int `json:"lifeboat_admission_amendment"`
	}
	return json.Unmarshal(raw, &head) == nil && head.Format != 0
}

// DecodeAmendment reads an amendment's JSON or one-line form. It checks
// only the shape: Verify needs the request it amends.
func DecodeAmendment(data []byte) (*Amendment, error) {
	raw, err := unwrap(data, AmendmentPrefix)
	if err != nil {
		return nil, err
	}
	var a Amendment
	if err := strict(raw, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// apply applies amendments to roster in the order they were made: their
// removals always, their additions when added says so.
func apply(roster Roster, as []*Amendment, added func(*Amendment) bool) Roster {
	sort.SliceStable(as, func(i, j int) bool {
		if !as[i].CreatedAt.Equal(as[j].CreatedAt) {
			return as[i].CreatedAt.Before(as[j].CreatedAt)
		}
		return as[i].ID() < as[j].ID()
	})
	for _, a := range as {
		for _, e := range a.Remove {
			delete(roster, e)
		}
		if added(a) {
			for _, e := range a.Add {
				roster[e] = true
			}
		}
	}
	return roster
}

// The lead's side.

// Amend makes, signs and keeps the amendment that brings the roster of
// the group's latest request to server to emails. The request must have
// been accepted (the admin's answer imported with ImportAnswer).
func Amend(ctx context.Context, st store.Store, group, server string, emails []string, now time.Time) (*Amendment, *Request, error) {
	key, req, current, err := acceptedRoster(ctx, st, group, server)
	if err != nil {
		return nil, req, fmt.Errorf("amend: %w", err)
	}
	nonce, _ := b64.DecodeString(req.Nonce)
	want := entries(key, nonce, emails)
	a := &Amendment{Format: AmendmentVersion, Request: req.ID(), CreatedAt: now.UTC().Truncate(time.Second)}
	for _, e := range want {
		if !current[e] {
			a.Add = append(a.Add, e)
		}
	}
	for e := range current {
		if _, ok := slices.BinarySearch(want, e); !ok {
			a.Remove = append(a.Remove, e)
		}
	}
	if len(a.Add)+len(a.Remove) == 0 {
		return nil, req, ErrNoChange
	}
	slices.Sort(a.Remove)
	a.Signature = b64.EncodeToString(ed25519.Sign(key, a.signed()))
	if err := put(ctx, st.Journal(), leadRun+group, amendmentKey+req.ID()+"/"+a.ID(), a.Encode()); err != nil {
		return nil, req, fmt.Errorf("save amendment: %w", err)
	}
	return a, req, nil
}

// acceptedRoster is the group's key, its latest request to server
// (any server when "") and that request's roster with the lead's
// amendments; the request must be accepted and signed by the key.
func acceptedRoster(ctx context.Context, st store.Store, group, server string) (ed25519.PrivateKey, *Request, Roster, error) {
	g, err := st.Groups().Get(ctx, group)
	if err != nil {
		return nil, nil, nil, err
	}
	req, err := LatestRequest(ctx, st.Journal(), group, server)
	if err != nil {
		return nil, nil, nil, err
	}
	ans, err := answerFor(ctx, st.Journal(), group, req.ID())
	if err != nil || !ans.Accepted {
		return nil, req, nil, fmt.Errorf("request %s: %w (import the admin's answer with lifeboat request accepted)", req.ID(), ErrNotAccepted)
	}
	key := ed25519.PrivateKey(g.SigningKey)
	if pub, err := req.Key(); err != nil || len(key) != ed25519.PrivateKeySize || !pub.Equal(key.Public()) {
		return nil, req, nil, fmt.Errorf("the group's key is not the one that signed request %s", req.ID())
	}
	current, err := leadRoster(ctx, st.Journal(), req)
	if err != nil {
		return nil, req, nil, err
	}
	return key, req, current, nil
}

// Drift is how the group's roster now differs from what its accepted
// request admits (the request with the lead's amendments): people who
// joined since are not approved by the admin's watcher until an
// amendment adds them.
type Drift struct {
	Request *Request
	Missing []string // emails on the roster the request does not admit
	Gone    int      // people the request admits who are off the roster
}

// RosterDrift compares emails, the group's roster, with the roster of
// its latest accepted request to server (any server when ""). A group
// with no request, or whose latest request is not accepted, is
// store.ErrNotFound or ErrNotAccepted: a new request carries the roster
// whole.
func RosterDrift(ctx context.Context, st store.Store, group, server string, emails []string) (Drift, error) {
	key, req, current, err := acceptedRoster(ctx, st, group, server)
	if err != nil {
		return Drift{Request: req}, err
	}
	d := Drift{Request: req}
	want := map[string]bool{}
	for _, email := range emails {
		e := memberEntry(key, req, email)
		if want[e] {
			continue
		}
		want[e] = true
		if !current[e] {
			d.Missing = append(d.Missing, normEmail(email))
		}
	}
	for e := range current {
		if !want[e] {
			d.Gone++
		}
	}
	return d, nil
}

// leadAmendments are the amendments the lead made to req.
func leadAmendments(ctx context.Context, j store.Journal, req *Request) ([]*Amendment, error) {
	steps, err := done(ctx, j, leadRun+req.Group.Name, amendmentKey+req.ID()+"/")
	if err != nil {
		return nil, err
	}
	var out []*Amendment
	for _, st := range steps {
		a, err := DecodeAmendment(st.Result)
		if err != nil {
			return nil, fmt.Errorf("read amendment %s: %w", st.Key, err)
		}
		if err := a.Verify(req); err != nil {
			return nil, fmt.Errorf("read amendment %s: %w", st.Key, err)
		}
		out = append(out, a)
	}
	return out, nil
}

// leadRoster is req's roster with every amendment the lead made to it:
// the lead issues proofs to added members at once, and the admin's
// watcher admits them once the admin accepts the amendment.
func leadRoster(ctx context.Context, j store.Journal, req *Request) (Roster, error) {
	as, err := leadAmendments(ctx, j, req)
	if err != nil {
		return nil, err
	}
	return apply(req.Roster(), as, func(*Amendment) bool { return true }), nil
}

// The admin's side.

// AmendmentRecord is an amendment as the admin's store keeps it.
type AmendmentRecord struct {
	Amendment *Amendment `json:"amendment"`
	Decided   bool       `json:"decided"`  // the admin answered its additions
	Accepted  bool       `json:"accepted"` // ... and accepted them
	Message   string     `json:"message,omitempty"`
	At        time.Time  `json:"at"`
}

// AmendmentBase returns the admin's decision on the request a amends,
// after checking that its key signed a. The request must be one the
// admin accepted.
func AmendmentBase(ctx context.Context, j store.Journal, a *Amendment) (Decision, error) {
	d, err := DecisionFor(ctx, j, a.Request)
	if errors.Is(err, store.ErrNotFound) {
		return Decision{}, fmt.Errorf("the amendment is for request %s, which you have not reviewed: %w", a.Request, ErrNotAccepted)
	}
	if err != nil {
		return Decision{}, err
	}
	if err := a.Verify(d.Request); err != nil {
		return d, err
	}
	if !d.Accepted {
		return d, fmt.Errorf("the amendment is for request %s, which you rejected: %w", a.Request, ErrNotAccepted)
	}
	return d, nil
}

// RecordAmendment keeps an amendment of an accepted request. With
// decide nil it only records that the admin read it (its removals apply
// at once; an earlier answer is kept); otherwise *decide answers its
// additions.
func RecordAmendment(ctx context.Context, j store.Journal, a *Amendment, decide *bool, message string, at time.Time) (AmendmentRecord, error) {
	if _, err := AmendmentBase(ctx, j, a); err != nil {
		return AmendmentRecord{}, err
	}
	key := amendmentKey + a.Request + "/" + a.ID()
	rec := AmendmentRecord{Amendment: a, At: at.UTC()}
	if prev, err := j.Get(ctx, adminRun, key); err == nil && prev.Status == store.StepDone {
		var p AmendmentRecord
		if json.Unmarshal(prev.Result, &p) == nil && p.Decided {
			if decide == nil {
				return p, nil
			}
		}
	}
	if decide != nil {
		rec.Decided, rec.Accepted, rec.Message = true, *decide, message
	}
	b, _ := json.Marshal(rec)
	if err := put(ctx, j, adminRun, key, b); err != nil {
		return rec, fmt.Errorf("record amendment: %w", err)
	}
	return rec, nil
}

// AmendmentFor returns the admin's record of an amendment, or
// store.ErrNotFound.
func AmendmentFor(ctx context.Context, j store.Journal, a *Amendment) (AmendmentRecord, error) {
	st, err := j.Get(ctx, adminRun, amendmentKey+a.Request+"/"+a.ID())
	if err != nil {
		return AmendmentRecord{}, err
	}
	var rec AmendmentRecord
	if st.Status != store.StepDone || json.Unmarshal(st.Result, &rec) != nil || rec.Amendment == nil {
		return AmendmentRecord{}, store.ErrNotFound
	}
	return rec, nil
}

// Members is the roster the admin's watcher admits for an accepted
// request: its own members, with the additions the admin accepted and
// every removal the admin has read.
func Members(ctx context.Context, j store.Journal, d Decision) (Roster, error) {
	steps, err := done(ctx, j, adminRun, amendmentKey+d.Request.ID()+"/")
	if err != nil {
		return nil, err
	}
	var as []*Amendment
	accepted := map[*Amendment]bool{}
	for _, st := range steps {
		var rec AmendmentRecord
		if json.Unmarshal(st.Result, &rec) != nil || rec.Amendment == nil {
			return nil, fmt.Errorf("read amendment %s: bad record", st.Key)
		}
		// The store is not the place to trust a signature either.
		if err := rec.Amendment.Verify(d.Request); err != nil {
			return nil, fmt.Errorf("read amendment %s: %w", st.Key, err)
		}
		as = append(as, rec.Amendment)
		accepted[rec.Amendment] = rec.Decided && rec.Accepted
	}
	return apply(d.Request.Roster(), as, func(a *Amendment) bool { return accepted[a] }), nil
}
