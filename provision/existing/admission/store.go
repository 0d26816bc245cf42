package admission

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/store"
)

// Both sides keep their records in the store's journal, every record
// under the identity of the document it is about (Request.ID,
// Amendment.ID), never under a name an author chose. The admin keeps the
// decisions (for the watcher); the lead keeps the requests and
// amendments it made (to issue proofs later) and the admin's answers.
const (
	adminRun     = "admission/admin"
	leadRun      = "admission/lead "  // + group name
	watchRun     = "admission/watch " // + server host
	requestKey   = "request/"         // + request id
	decisionKey  = "decision/"        // + request id
	amendmentKey = "amendment/"       // + request id + "/" + amendment id
	answerKey    = "answer/"          // + document id
	adminKeyKey  = "admin-key/"       // + server host: the admin key the lead pinned
	claimKey     = "member/"          // + request id + "/" + member entry
	verdictKey   = "account/"         // + account id
	staleClaim   = 2 * time.Minute    // a claim left half-made this long ago was a crash
)

// put records result under run and key, replacing what was there.
func put(ctx context.Context, j store.Journal, run, key string, result []byte) error {
	if _, err := j.Start(ctx, run, key); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return j.Finish(ctx, run, key, result)
}

// done lists the finished records of run under prefix.
func done(ctx context.Context, j store.Journal, run, prefix string) ([]store.Step, error) {
	steps, err := j.List(ctx, run, prefix)
	if err != nil {
		return nil, err
	}
	out := steps[:0]
	for _, st := range steps {
		if st.Status == store.StepDone {
			out = append(out, st)
		}
	}
	return out, nil
}

// Decision is an admin's answer to a request.
type Decision struct {
	Request  *Request  `json:"request"`
	Accepted bool      `json:"accepted"`
	Message  string    `json:"message,omitempty"`
	At       time.Time `json:"at"`
}

// Decide records the admin's accept or reject of a request (a later
// decision replaces an earlier one), under the request's identity: no
// other document can read or replace it. The request must verify.
func Decide(ctx context.Context, j store.Journal, req *Request, accepted bool, message string, at time.Time) error {
	if err := req.Verify(); err != nil {
		return err
	}
	b, err := json.Marshal(Decision{Request: req, Accepted: accepted, Message: message, At: at.UTC()})
	if err != nil {
		return err
	}
	if err := put(ctx, j, adminRun, decisionKey+req.ID(), b); err != nil {
		return fmt.Errorf("record decision: %w", err)
	}
	return nil
}

// DecisionFor returns the recorded decision on the request with
// identity requestID, or store.ErrNotFound.
func DecisionFor(ctx context.Context, j store.Journal, requestID string) (Decision, error) {
	st, err := j.Get(ctx, adminRun, decisionKey+requestID)
	if err != nil {
		return Decision{}, err
	}
	if st.Status != store.StepDone {
		return Decision{}, store.ErrNotFound
	}
	return decodeDecision(st)
}

// Decisions returns every recorded decision.
func Decisions(ctx context.Context, j store.Journal) ([]Decision, error) {
	steps, err := done(ctx, j, adminRun, decisionKey)
	if err != nil {
		return nil, err
	}
	var out []Decision
	for _, st := range steps {
		d, err := decodeDecision(st)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

func decodeDecision(st store.Step) (Decision, error) {
	var d Decision
	if err := json.Unmarshal(st.Result, &d); err != nil || d.Request == nil {
		return Decision{}, fmt.Errorf("read decision %s: bad record", st.Key)
	}
	// Stored by Decide after verifying; verify again, the store is not
	// the place to trust a signature, and the key must be the identity.
	if err := d.Request.Verify(); err != nil {
		return Decision{}, fmt.Errorf("read decision %s: %w", st.Key, err)
	}
	if st.Key != decisionKey+d.Request.ID() {
		return Decision{}, fmt.Errorf("read decision %s: recorded under another request's identity", st.Key)
	}
	return d, nil
}

// AcceptedGroups counts the admission requests for server that its admin
// accepted: the groups whose members the watcher can approve.
func AcceptedGroups(ctx context.Context, j store.Journal, server string) (int, error) {
	ds, err := Decisions(ctx, j)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, d := range ds {
		if d.Accepted && SameServer(d.Request.Server, server) {
			n++
		}
	}
	return n, nil
}

// SaveRequest keeps a request the lead made, so that member proofs can
// be issued for it later (when invites go out).
func SaveRequest(ctx context.Context, j store.Journal, r *Request) error {
	if err := put(ctx, j, leadRun+r.Group.Name, requestKey+r.ID(), r.Encode()); err != nil {
		return fmt.Errorf("save request: %w", err)
	}
	return nil
}

// LatestRequest returns the group's newest request to server (any server
// when server is ""), or store.ErrNotFound.
func LatestRequest(ctx context.Context, j store.Journal, group, server string) (*Request, error) {
	steps, err := done(ctx, j, leadRun+group, requestKey)
	if err != nil {
		return nil, err
	}
	var best *Request
	for _, st := range steps {
		r, err := Decode(st.Result)
		if err != nil {
			continue
		}
		if server != "" && !SameServer(r.Server, server) {
			continue
		}
		if best == nil || r.CreatedAt.After(best.CreatedAt) {
			best = r
		}
	}
	if best == nil {
		return nil, fmt.Errorf("no admission request of group %s%s: %w", group, forServer(server), store.ErrNotFound)
	}
	return best, nil
}

func forServer(s string) string {
	if s == "" {
		return ""
	}
	return " to " + s
}

// MemberProof issues the proof for one member of a group that joins an
// existing server: the group's key from the store, the group's latest
// request to server (any when ""), its roster grown or shrunk by the
// lead's amendments. The web's invite page calls it and passes the proof
// to the member's sign-up door (existing.Door). The same member always gets
// the same proof.
func MemberProof(ctx context.Context, st store.Store, group, server, email string) (string, *Request, error) {
	g, err := st.Groups().Get(ctx, group)
	if err != nil {
		return "", nil, fmt.Errorf("member proof: %w", err)
	}
	req, err := LatestRequest(ctx, st.Journal(), group, server)
	if err != nil {
		return "", nil, fmt.Errorf("member proof: %w", err)
	}
	key := ed25519.PrivateKey(g.SigningKey)
	if len(key) != ed25519.PrivateKeySize {
		return "", nil, fmt.Errorf("member proof: group %s has no signing key", group)
	}
	roster, err := leadRoster(ctx, st.Journal(), req)
	if err != nil {
		return "", nil, fmt.Errorf("member proof: %w", err)
	}
	if !roster[memberEntry(key, req, email)] {
		return "", nil, fmt.Errorf("member proof: %s is not on the roster of request %s (amend it: lifeboat request --amend): %w", email, req.ID(), ErrNotMember)
	}
	p, err := IssueProof(req, key, email, Window{})
	if err != nil {
		return "", nil, fmt.Errorf("member proof: %w", err)
	}
	return p, req, nil
}

// memberEntry is email's entry in req, computed with the group's key.
func memberEntry(key ed25519.PrivateKey, req *Request, email string) string {
	nonce, _ := b64.DecodeString(req.Nonce)
	return entry(memberSecret(key, nonce, email), email)
}

// SameServer reports whether two server URLs name the same host
// (scheme, case, trailing slashes and a default port aside).
func SameServer(a, b string) bool { return serverHost(a) == serverHost(b) }

func serverHost(s string) string {
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return strings.ToLower(s)
	}
	h := strings.ToLower(u.Host)
	for _, p := range []string{":443", ":80"} {
		h = strings.TrimSuffix(h, p)
	}
	return h
}
