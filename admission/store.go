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

	"github.com/lifeboat-social/lifeboat/store"
)

// Both sides keep their records in the store's journal: the lead the
// requests it made (to issue proofs later), the admin the decisions (for
// the watcher). No table of their own is needed.
const (
	decisionsRun = "admission-decisions"
	requestsRun  = "admission-requests " // + group name
	watchRun     = "admission-watch "    // + server host
	requestKey   = "request/"            // + request id
	decisionKey  = "decision/"           // + request id
	claimKey     = "proof/"              // + request id + "/" + proof id
	verdictKey   = "account/"            // + account id
	staleClaim   = 2 * time.Minute       // a claim left half-made this long ago was a crash
)

// Decision is an admin's answer to a request.
type Decision struct {
	Request  *Request  `json:"request"`
	Accepted bool      `json:"accepted"`
	Message  string    `json:"message,omitempty"`
	At       time.Time `json:"at"`
}

// Decide records the admin's accept or reject of a request (a later
// decision replaces an earlier one). The request must verify.
func Decide(ctx context.Context, j store.Journal, req *Request, accepted bool, message string, at time.Time) error {
	if err := req.Verify(); err != nil {
		return err
	}
	b, err := json.Marshal(Decision{Request: req, Accepted: accepted, Message: message, At: at.UTC()})
	if err != nil {
		return err
	}
	if _, err := j.Start(ctx, decisionsRun, decisionKey+req.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("record decision: %w", err)
	}
	if err := j.Finish(ctx, decisionsRun, decisionKey+req.ID, b); err != nil {
		return fmt.Errorf("record decision: %w", err)
	}
	return nil
}

// DecisionFor returns the recorded decision on a request, or
// store.ErrNotFound.
func DecisionFor(ctx context.Context, j store.Journal, requestID string) (Decision, error) {
	st, err := j.Get(ctx, decisionsRun, decisionKey+requestID)
	if err != nil {
		return Decision{}, err
	}
	return decodeDecision(st)
}

// Decisions returns every recorded decision.
func Decisions(ctx context.Context, j store.Journal) ([]Decision, error) {
	steps, err := j.List(ctx, decisionsRun, decisionKey)
	if err != nil {
		return nil, err
	}
	var out []Decision
	for _, st := range steps {
		if st.Status != store.StepDone {
			continue
		}
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
	// the place to trust a signature.
	if err := d.Request.Verify(); err != nil {
		return Decision{}, fmt.Errorf("read decision %s: %w", st.Key, err)
	}
	return d, nil
}

// SaveRequest keeps a request the lead made, so that member proofs can
// be issued for it later (when invites go out).
func SaveRequest(ctx context.Context, j store.Journal, r *Request) error {
	if _, err := j.Start(ctx, requestsRun+r.Group.Name, requestKey+r.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("save request: %w", err)
	}
	if err := j.Finish(ctx, requestsRun+r.Group.Name, requestKey+r.ID, r.Encode()); err != nil {
		return fmt.Errorf("save request: %w", err)
	}
	return nil
}

// LatestRequest returns the group's newest request to server (any server
// when server is ""), or store.ErrNotFound.
func LatestRequest(ctx context.Context, j store.Journal, group, server string) (*Request, error) {
	steps, err := j.List(ctx, requestsRun+group, requestKey)
	if err != nil {
		return nil, err
	}
	var best *Request
	for _, st := range steps {
		if st.Status != store.StepDone {
			continue
		}
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
// request to server (any when ""). The web's invite page calls it and
// shows the member the proof as the sign-up reason to paste.
func MemberProof(ctx context.Context, st store.Store, group, server, email string) (string, *Request, error) {
	g, err := st.Groups().Get(ctx, group)
	if err != nil {
		return "", nil, fmt.Errorf("member proof: %w", err)
	}
	req, err := LatestRequest(ctx, st.Journal(), group, server)
	if err != nil {
		return "", nil, fmt.Errorf("member proof: %w", err)
	}
	p, err := IssueProof(req, ed25519.PrivateKey(g.SigningKey), email, Window{})
	if err != nil {
		return "", nil, fmt.Errorf("member proof: %w", err)
	}
	return p, req, nil
}

// SameServer reports whether two server URLs name the same host
// (scheme, case, trailing slashes and a default port aside).
func SameServer(a, b string) bool { return serverHost(a) == serverHost(b) }

// AcceptedFor counts the admission requests for server that its admin
// accepted: the groups whose members the watcher can approve.
func AcceptedFor(ctx context.Context, j store.Journal, server string) (int, error) {
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
