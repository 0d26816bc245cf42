package admission

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

// AdminAPI is the part of the Mastodon admin API the watcher uses;
// *fedi.Client with an admin token has it.
type AdminAPI interface {
	PendingAccounts(ctx context.Context) ([]fedi.AdminAccount, error)
	AdminAccount(ctx context.Context, id string) (fedi.AdminAccount, error)
	Approve(ctx context.Context, id string) error
}

var _ AdminAPI = (*fedi.Client)(nil)

// Scopes the watcher's token needs.
const (
	ScopeRead  = "admin:read:accounts"
	ScopeWrite = "admin:write:accounts"
)

// ScopeError says the admin token cannot do what the watcher needs.
type ScopeError struct {
	Scope string // the scope that is missing (or not usable by the account's role)
	// NotStaff is set when the server says the token has the scope but
	// its account may not moderate, or cannot say which (GoToSocial).
	NotStaff bool
	Err      error
}

func (e *ScopeError) Error() string {
	if e.NotStaff {
		return fmt.Sprintf("the admin token cannot use scope %s: it must belong to an admin (or a moderator with Manage Users) and carry %s (%v)", e.Scope, e.Scope, e.Err)
	}
	return fmt.Sprintf("the admin token lacks scope %s (%v)", e.Scope, e.Err)
}

func (e *ScopeError) Unwrap() error { return e.Err }

// CheckScopes finds out, without changing anything, whether the token can
// list pending sign-ups (admin:read:accounts) and approve them
// (admin:write:accounts): it lists, then approves an account id that
// does not exist — a server that allows the call answers 404, one that
// does not answers 403 before looking.
func CheckScopes(ctx context.Context, api AdminAPI) error {
	if _, err := api.PendingAccounts(ctx); err != nil {
		return scopeErr(ScopeRead, err)
	}
	err := api.Approve(ctx, "0")
	if err == nil || fedi.IsStatus(err, http.StatusNotFound) || fedi.IsStatus(err, http.StatusUnprocessableEntity) ||
		fedi.IsStatus(err, http.StatusBadRequest) {
		return nil
	}
	return scopeErr(ScopeWrite, err)
}

func scopeErr(scope string, err error) error {
	var fe *fedi.Error
	if !errors.As(err, &fe) || (fe.Status != http.StatusForbidden && fe.Status != http.StatusUnauthorized) {
		return err
	}
	if fe.Status == http.StatusUnauthorized {
		return fmt.Errorf("the admin token was refused (it needs %s and %s): %w", ScopeRead, ScopeWrite, err)
	}
	m := strings.ToLower(fe.Message)
	// Doorkeeper (Mastodon) says "This action is outside the authorized
	// scopes"; a token with the scope but no staff role gets "This action
	// is not allowed".
	notStaff := !strings.Contains(m, "scope")
	return &ScopeError{Scope: scope, NotStaff: notStaff, Err: err}
}

// Actions of a Verdict.
const (
	Approve = "approve" // approved now (or would be, in a dry run)
	Already = "already" // approved by an earlier poll
	Leave   = "leave"   // left for the admin
)

// Verdict is what the watcher decided about one pending sign-up.
type Verdict struct {
	AccountID string `json:"account_id"`
	Username  string `json:"username"`
	Action    string `json:"action"`
	Group     string `json:"group,omitempty"`   // the group's name, when the proof named an accepted one
	Request   string `json:"request,omitempty"` // the request id
	Why       string `json:"why,omitempty"`     // for Leave
	DryRun    bool   `json:"dry_run,omitempty"`
}

func (v Verdict) String() string {
	s := v.Action + " @" + v.Username + " (" + v.AccountID + ")"
	if v.Group != "" {
		s += " group " + v.Group
	}
	if v.Why != "" {
		s += ": " + v.Why
	}
	if v.DryRun {
		s += " [dry run]"
	}
	return s
}

// Watcher approves pending sign-ups that carry a valid member proof for
// a request the admin accepted for this server, on an account whose
// email the server has confirmed, one account per member; it leaves
// every other sign-up alone.
type Watcher struct {
	API     AdminAPI
	Journal store.Journal // the admin's store: decisions, claims, the log
	Server  string        // the server's base URL, as in the requests
	DryRun  bool          // decide and report, change nothing
	Now     func() time.Time
}

// Watch polls until ctx ends, every interval (once, when interval is 0),
// and calls report with each verdict that is new or changed since it was
// last reported: a sign-up left for the admin is said once, not at every
// poll. It returns ctx's error when ctx ends, nil after a single poll.
func (w *Watcher) Watch(ctx context.Context, interval time.Duration, report func(Verdict)) error {
	said := map[string]string{}
	for {
		vs, err := w.Poll(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		for _, v := range vs {
			if line := v.String(); said[v.AccountID] != line {
				said[v.AccountID] = line
				report(v)
			}
		}
		if interval == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}

// claim is the journal record of a member's one approved account.
type claim struct {
	Account  string `json:"account"`
	Username string `json:"username"`
	Approved bool   `json:"approved"`
}

// accepted is an accepted request with the roster the watcher admits.
type accepted struct {
	Decision
	roster Roster
}

// Poll looks at every pending sign-up once and returns what it decided,
// oldest sign-up first.
func (w *Watcher) Poll(ctx context.Context) ([]Verdict, error) {
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	ds, err := Decisions(ctx, w.Journal)
	if err != nil {
		return nil, err
	}
	byID := map[string]accepted{}
	for _, d := range ds {
		if !SameServer(d.Request.Server, w.Server) {
			continue
		}
		a := accepted{Decision: d}
		if d.Accepted {
			if a.roster, err = Members(ctx, w.Journal, d); err != nil {
				return nil, err
			}
		}
		byID[d.Request.ID()] = a
	}
	pending, err := w.API.PendingAccounts(ctx)
	if err != nil {
		return nil, scopeErr(ScopeRead, err)
	}
	// The oldest sign-up of a member is approved first: a copy made
	// later loses. Servers give created_at to the second (GoToSocial) and
	// may give random ids, so two sign-ups of one second are ordered by
	// id alone. Either is the member's own: only an account that
	// confirmed the member's address claims them.
	sort.SliceStable(pending, func(i, j int) bool {
		if !pending[i].CreatedAt.Equal(pending[j].CreatedAt) {
			return pending[i].CreatedAt.Before(pending[j].CreatedAt)
		}
		return pending[i].ID < pending[j].ID
	})
	var out []Verdict
	dryClaims := map[string]string{} // member → account, for a dry run's own bookkeeping
	for _, a := range pending {
		if a.Approved {
			continue
		}
		v, err := w.judge(ctx, a, byID, dryClaims, now())
		if err != nil {
			return out, err
		}
		if err := w.log(ctx, v); err != nil {
			return out, err
		}
		out = append(out, v)
	}
	return out, nil
}

func (w *Watcher) judge(ctx context.Context, a fedi.AdminAccount, byID map[string]accepted, dryClaims map[string]string, now time.Time) (Verdict, error) {
	v := Verdict{AccountID: a.ID, Username: a.Username, Action: Leave, DryRun: w.DryRun}
	leave := func(err error) (Verdict, error) { v.Why = err.Error(); return v, nil }
	p, err := ParseProof(a.InviteRequest)
	if err != nil {
		return leave(err)
	}
	v.Request = p.RequestID
	d, ok := byID[p.RequestID]
	if !ok {
		return leave(ErrUnknownGroup)
	}
	v.Group = d.Request.Group.Name
	if !d.Accepted {
		return leave(ErrRejected)
	}
	at := a.CreatedAt
	if at.IsZero() {
		at = now
	}
	if err := p.Check(d.Request, a.Email, at); err != nil {
		return leave(err)
	}
	if !d.roster[p.Member] {
		return leave(ErrNotMember)
	}
	// Only the server knows that whoever signed up can read the mail of
	// the address the proof is for: until then the account may be anyone
	// who copied the proof, and it claims nothing.
	if !a.Confirmed {
		return leave(ErrUnconfirmed)
	}
	key := claimKey + p.RequestID + "/" + p.Member
	if w.DryRun {
		if st, err := w.Journal.Get(ctx, w.run(), key); err == nil {
			var c claim
			if json.Unmarshal(st.Result, &c) == nil && c.Account != "" {
				dryClaims[key] = c.Account
			}
		}
		if c, ok := dryClaims[key]; ok && c != a.ID {
			return leave(ErrReplayed)
		}
		dryClaims[key] = a.ID
		v.Action = Approve
		return v, nil
	}
	mine, err := w.claim(ctx, key, a, now)
	if err != nil {
		return v, err
	}
	if !mine {
		return leave(ErrReplayed)
	}
	already, err := w.approve(ctx, a.ID)
	if err != nil {
		return v, err
	}
	if already {
		v.Action = Already
	} else {
		v.Action = Approve
	}
	b, _ := json.Marshal(claim{Account: a.ID, Username: a.Username, Approved: true})
	if err := w.Journal.Finish(ctx, w.run(), key, b); err != nil {
		return v, err
	}
	return v, nil
}

func (w *Watcher) run() string { return watchRun + serverHost(w.Server) }

// claim makes the member's one approval durable before approving: the
// first account to claim the member keeps it, whatever the case of its
// email or the proof it carries. It reports whether a's claim holds.
func (w *Watcher) claim(ctx context.Context, key string, a fedi.AdminAccount, now time.Time) (bool, error) {
	mine, _ := json.Marshal(claim{Account: a.ID, Username: a.Username})
	prev, err := w.Journal.Start(ctx, w.run(), key)
	if errors.Is(err, store.ErrNotFound) {
		return true, w.Journal.Finish(ctx, w.run(), key, mine)
	}
	if err != nil {
		return false, err
	}
	var c claim
	_ = json.Unmarshal(prev.Result, &c)
	switch {
	case c.Account == a.ID:
		return true, w.Journal.Finish(ctx, w.run(), key, prev.Result)
	case c.Account != "":
		// Another account holds it: put the record back as it was.
		if prev.Status == store.StepDone {
			return false, w.Journal.Finish(ctx, w.run(), key, prev.Result)
		}
		return false, nil
	case prev.Status == store.StepStarted && now.Sub(prev.UpdatedAt) < staleClaim:
		// Someone is claiming it right now (another watcher).
		return false, nil
	default:
		// A claim abandoned before it named its account (a crash).
		return true, w.Journal.Finish(ctx, w.run(), key, mine)
	}
}

// approve approves a sign-up; already is true when the server says it was
// approved before (an earlier poll that crashed before recording it).
func (w *Watcher) approve(ctx context.Context, id string) (already bool, err error) {
	err = w.API.Approve(ctx, id)
	if err == nil {
		return false, nil
	}
	var fe *fedi.Error
	if errors.As(err, &fe) && fe.Status >= 400 && fe.Status < 500 {
		if a, gerr := w.API.AdminAccount(ctx, id); gerr == nil && a.Approved {
			return true, nil
		}
		if fe.Status == http.StatusForbidden || fe.Status == http.StatusUnauthorized {
			return false, scopeErr(ScopeWrite, err)
		}
	}
	return false, fmt.Errorf("approve %s: %w", id, err)
}

// log journals the verdict once per account and outcome, so the journal
// holds every decision without growing on each poll.
func (w *Watcher) log(ctx context.Context, v Verdict) error {
	if w.DryRun {
		return nil
	}
	key := verdictKey + v.AccountID
	b, _ := json.Marshal(v)
	if st, err := w.Journal.Get(ctx, w.run(), key); err == nil && st.Status == store.StepDone && string(st.Result) == string(b) {
		return nil
	}
	if _, err := w.Journal.Start(ctx, w.run(), key); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return w.Journal.Finish(ctx, w.run(), key, b)
}
