package arrival

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/internal/workpool"
)

// Members who kept their account on another server (remote members) are
// in the mesh like everyone else. Between two servers a follow is made in
// three places: the follower's server sends it (a request, since
// GoToSocial's accounts are locked by default), the followed member's
// server receives it by federation and the member accepts it there, and
// the acceptance travels back until the follower's server shows the
// follow. The journal keeps the sent request (requestedKey) until the
// follower's server shows following (followKey); a rerun looks at the
// relationship before sending, so a request in flight is confirmed, never
// sent twice.

func requestedKey(a, b string) string { return "requested:" + a + ">" + b }

// resolveKey is the journal entry of acct's id on the server at base.
func resolveKey(base, acct string) string { return "resolve:" + base + " " + acct }

// domainKey is the journal entry of the domain of the server at base.
func domainKey(base string) string { return "domain:" + base }

// DefaultFollowWait is how long Seed waits for follows between servers to
// arrive by federation before it reports them: federation between two
// healthy servers takes seconds, a busy server's queue minutes.
const DefaultFollowWait = 3 * time.Minute

// client returns the API client of the server at base, one per server,
// so that every token on a server shares that server's rate-limit
// budgets, and the client's waits are reported.
func (e *Engine) client(base string) *fedi.Client {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c, ok := e.clients[base]; ok {
		return c
	}
	c := e.cfg.Client(base)
	emit := e.cfg.Emit
	c.ReportWaits(func(w fedi.Wait) {
		emit.Emit(progress.Event{Kind: progress.Log, Step: StepFollows,
			Message: fmt.Sprintf("%s answers %d: waiting until %s", w.Host, w.Status, w.Until.UTC().Format("15:04:05 MST"))})
	})
	e.clients[base] = c
	return c
}

// remembered runs once under key, keeping its result in memory too: a
// resolved id or a domain is asked of a server once, ever, and read from
// the journal once per engine.
func (e *Engine) remembered(ctx context.Context, key string, fn func() (string, error)) (string, error) {
	e.mu.Lock()
	v, ok := e.known[key]
	e.mu.Unlock()
	if ok {
		return v, nil
	}
	res, err := e.once(ctx, key, func(store.StepStatus) ([]byte, error) {
		v, err := fn()
		return []byte(v), err
	})
	if err != nil {
		return "", err
	}
	e.mu.Lock()
	e.known[key] = string(res)
	e.mu.Unlock()
	return string(res), nil
}

// loadKnown reads the journaled ids and domains into memory, so a Seed
// over a large mesh does not read them one by one.
func (e *Engine) loadKnown(ctx context.Context) error {
	for _, prefix := range []string{"resolve:", "domain:"} {
		d, err := e.done(ctx, prefix)
		if err != nil {
			return err
		}
		e.mu.Lock()
		for k, v := range d {
			e.known[k] = string(v)
		}
		e.mu.Unlock()
	}
	return nil
}

// address is m's address, user@domain: the account's Acct, else (the
// destination's accounts made before addresses were kept) its username at
// the domain its server gives (which need not be its URL's host).
func (e *Engine) address(ctx context.Context, m arrived) (string, error) {
	if m.acct != "" {
		return m.acct, nil
	}
	domain, err := e.remembered(ctx, domainKey(m.server), func() (d string, err error) {
		err = e.patient(ctx, m.server, func() (err error) { d, err = m.c.Domain(ctx); return err })
		return d, err
	})
	if err != nil {
		return "", fmt.Errorf("domain of %s: %w", m.server, err)
	}
	user := m.username
	if user == "" {
		err := e.patient(ctx, m.server, func() error {
			me, err := m.c.VerifyCredentials(ctx)
			user = me.Username
			return err
		})
		if err != nil {
			return "", fmt.Errorf("account of %s: %w", m.email, err)
		}
	}
	return strings.ToLower(user) + "@" + domain, nil
}

// idOn is target's account id on on's server: its own id there, else the
// id on's server gives it when on resolves its address. A server that
// cannot find the account may not reach the account's own server: that
// server is waited for (transient) and asked again.
func (e *Engine) idOn(ctx context.Context, on, target arrived) (string, error) {
	if on.server == target.server {
		return target.id, nil
	}
	acct, err := e.address(ctx, target)
	if err != nil {
		return "", err
	}
	return e.remembered(ctx, resolveKey(on.server, acct), func() (id string, err error) {
		for attempt := 0; ; attempt++ {
			var a fedi.Account
			err = e.patient(ctx, on.server, func() (err error) { a, err = on.c.ResolveAccount(ctx, acct); return err })
			if err == nil {
				return a.ID, nil
			}
			if !fedi.IsStatus(err, http.StatusNotFound) || attempt == 3 {
				return "", fmt.Errorf("%s finds %s on %s: %w", on.email, acct, on.server, err)
			}
			// on's server may not have reached target's: wait while
			// target's server does not answer us either.
			if err := e.patient(ctx, target.server, func() error { _, err := target.c.VerifyCredentials(ctx); return err }); err != nil {
				return "", fmt.Errorf("reach %s: %w", target.server, err)
			}
			if err := sleepCtx(ctx, time.Duration(attempt+1)*time.Second); err != nil {
				return "", err
			}
		}
	})
}

// patient is transient for a request to server, reporting (Config.Emit)
// while the server does not answer and when it answers again.
func (e *Engine) patient(ctx context.Context, server string, fn func() error) error {
	return retry(ctx, func(down bool) {
		// Many workers wait for one server: it is reported once.
		e.mu.Lock()
		n := e.waiting[server]
		if down {
			e.waiting[server] = n + 1
		} else {
			e.waiting[server] = n - 1
		}
		e.mu.Unlock()
		switch {
		case down && n == 0:
			e.cfg.Emit.Emit(progress.Event{Kind: progress.Log, Step: StepFollows,
				Message: fmt.Sprintf("%s does not answer; waiting up to %s for it to come back", server, unreachable)})
		case !down && n == 1:
			e.cfg.Emit.Emit(progress.Event{Kind: progress.Log, Step: StepFollows, Message: server + " answers again"})
		}
	}, fn)
}

// isAnswer reports whether err is the server's own answer (not a
// connection that failed or a proxy answering for a server that is down).
func isAnswer(err error) bool {
	var fe *fedi.Error
	return errors.As(err, &fe) && !gateway(fe.Status)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// remoteFollow makes a, on one server, follow b, on another. It looks at
// the relationship on a's server first, so a request sent by an earlier
// run (killed before it journaled it) is not sent again. made is true
// once a's server shows the follow; otherwise the request is on its way
// and await confirms it.
func (e *Engine) remoteFollow(ctx context.Context, a, b arrived) (made bool, err error) {
	bx, err := e.idOn(ctx, a, b)
	if err != nil {
		return false, err
	}
	var rel fedi.Relationship
	err = e.patient(ctx, a.server, func() (err error) { rel, err = a.c.Relationship(ctx, bx); return err })
	if err != nil {
		return false, fmt.Errorf("%s follows %s: %w", a.email, b.email, err)
	}
	if !rel.Following && !rel.Requested {
		err = e.patient(ctx, a.server, func() (err error) { rel, err = a.c.Follow(ctx, bx); return err })
		if err != nil {
			return false, fmt.Errorf("%s follows %s: %w", a.email, b.email, err)
		}
	}
	return rel.Following, nil
}

// pair is one direction of the mesh: a follows b.
type pair struct{ a, b arrived }

// Straggler is a follow between servers that has not arrived in the time
// Seed waits: sent by the follower's server, and not yet accepted on the
// followed member's server (Accepted false), or accepted there but not yet
// shown by the follower's server.
type Straggler struct {
	From, To string // members' emails
	FromAcct string // the follower's address
	ToAcct   string
	Accepted bool
	Err      error // the last error while checking, if any
}

func (s Straggler) String() string {
	where := "has not reached " + s.To + "'s server"
	if s.Accepted {
		where = s.To + " accepted it, and " + s.From + "'s server does not show it yet"
	}
	line := fmt.Sprintf("%s (%s) asked to follow %s (%s): the request %s", s.From, s.FromAcct, s.To, s.ToAcct, where)
	if s.Err != nil {
		line += fmt.Sprintf(" (last check: %v)", s.Err)
	}
	return line
}

// ErrNotArrived matches (with errors.Is) the error of a Seed whose follows
// between servers have not all arrived in the time it waits.
var ErrNotArrived = errors.New("follows between servers have not arrived")

// StragglersError names the follows between servers that have not arrived
// after Wait. They stay requested; the next Seed checks them again and
// sends none twice.
type StragglersError struct {
	Wait       time.Duration
	Stragglers []Straggler
}

func (e *StragglersError) Error() string {
	return lines(fmt.Sprintf("%d follows between servers have not arrived after %s; they stay requested, and the next run checks them again without sending them twice:",
		len(e.Stragglers), e.Wait.Round(time.Second)), e.Stragglers)
}

// Is makes errors.Is(err, ErrNotArrived) true.
func (e *StragglersError) Is(target error) bool { return target == ErrNotArrived }

// Members is who is still waiting to be connected: the followers and the
// followed of the stragglers, by email, sorted.
func (e *StragglersError) Members() []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range e.Stragglers {
		for _, m := range []string{s.From, s.To} {
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
		}
	}
	sort.Strings(out)
	return out
}

// pollPause is the first pause between checks of follows in flight; it
// grows to maxPoll.
var (
	pollPause = 500 * time.Millisecond
	maxPoll   = 5 * time.Second
)

// await confirms follows between servers: the followed member accepts the
// request on their own server once it has arrived there, and the follow
// is journaled once the follower's server shows it. It checks until every
// follow is confirmed or Config.FollowWait has passed, and returns the
// ones still in flight then. A server that does not answer or answers 429
// meanwhile is waited for (and reported) within the same time.
func (e *Engine) await(ctx context.Context, pending []pair, confirmed func(key string)) ([]Straggler, error) {
	if len(pending) == 0 {
		return nil, nil
	}
	emit := e.cfg.Emit
	emit.Emit(progress.Event{Kind: progress.Log, Step: StepFollows,
		Message: fmt.Sprintf("%d follows between servers are on their way; waiting for them to arrive (up to %s)", len(pending), e.cfg.FollowWait)})
	start := e.clock.Now()
	deadline, every := start.Add(e.cfg.FollowWait), e.cfg.FollowWait/resendShare
	accepted := make([]bool, len(pending))
	sentAt := make([]time.Time, len(pending)) // when each was last sent
	for i := range sentAt {
		sentAt[i] = start
	}
	lastErr := make([]error, len(pending))
	todo := make([]int, len(pending))
	for i := range todo {
		todo[i] = i
	}
	pause := pollPause
	for round := 0; ; round++ {
		var mu sync.Mutex
		var still []int
		err := workpool.Run(ctx, e.cfg.Workers, len(todo), func(ctx context.Context, k int) error {
			i := todo[k]
			mu.Lock()
			now := e.clock.Now()
			acc, resend := accepted[i], round > 0 && now.Sub(sentAt[i]) >= every
			mu.Unlock()
			done, acc, err := e.confirm(ctx, pending[i], acc, resend)
			mu.Lock()
			defer mu.Unlock()
			accepted[i] = acc
			if resend {
				sentAt[i] = now
			}
			switch {
			case ctx.Err() != nil:
				return ctx.Err()
			case done:
				confirmed(followKey(pending[i].a.email, pending[i].b.email))
			default:
				// Any other error only means "not yet": the servers
				// are asked again until the wait is over.
				lastErr[i] = err
				still = append(still, i)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(still) == 0 {
			return nil, nil
		}
		sort.Ints(still)
		todo = still
		if !e.clock.Now().Before(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-e.clock.After(min(pause, deadline.Sub(e.clock.Now())+time.Millisecond)):
		}
		pause = min(2*pause, maxPoll)
	}
	out := make([]Straggler, 0, len(todo))
	for _, i := range todo {
		p := pending[i]
		fa, _ := e.address(ctx, p.a) // known: found when the follow was sent
		ta, _ := e.address(ctx, p.b)
		out = append(out, Straggler{From: p.a.email, To: p.b.email, FromAcct: fa, ToAcct: ta, Accepted: accepted[i], Err: lastErr[i]})
		emit.Emit(progress.Event{Kind: progress.Failed, Step: StepFollows, Item: p.a.email, Message: out[len(out)-1].String()})
	}
	return out, nil
}

// resendShare: a follow in flight that has not arrived after
// FollowWait/resendShare is sent again (see confirm), and again each time
// that much more has passed, until FollowWait. Once is not always enough:
// a GoToSocial busy dereferencing an account drops what that account
// sends it meanwhile (its "handshake"), and on a loaded machine that can
// outlast the first resend.
const resendShare = 6

// confirm checks one follow in flight: b accepts a's request on b's
// server (once it is there), and a's server is asked whether a follows b.
// A request neither following nor requested on a's server any more (lost,
// or refused) is sent again.
//
// With resend, a request still not following is undone and sent anew.
// A server can keep a request it never delivers: GoToSocial v0.17.3
// stores the request, then reads the relationship for its answer, and
// only then queues the delivery; a caller that goes away in between (a
// Lifeboat killed mid-request) cancels the request's context, and the
// follow stays "requested" on the follower's server and unknown on the
// other. Accepting has the same shape, leaving the follow made on b's
// server and requested on a's. Undoing the request and sending it again
// delivers both; a request that was only slow is undone on b's server
// by the same delivery queue before the new one arrives.
func (e *Engine) confirm(ctx context.Context, p pair, accepted, resend bool) (done, acc bool, err error) {
	a, b := p.a, p.b
	bx, err := e.idOn(ctx, a, b)
	if err != nil {
		return false, accepted, err
	}
	if resend {
		var rel fedi.Relationship
		err := e.patient(ctx, a.server, func() (err error) { rel, err = a.c.Relationship(ctx, bx); return err })
		if err != nil || rel.Following {
			return rel.Following, accepted, err
		}
		e.cfg.Emit.Emit(progress.Event{Kind: progress.Log, Step: StepFollows, Item: a.email,
			Message: fmt.Sprintf("%s's follow of %s has not arrived after %s: sending it again", a.email, b.email, e.cfg.FollowWait/resendShare)})
		err = e.patient(ctx, a.server, func() error { _, err := a.c.Unfollow(ctx, bx); return err })
		if err == nil {
			err = e.patient(ctx, a.server, func() (err error) { rel, err = a.c.Follow(ctx, bx); return err })
		}
		return rel.Following, false, err
	}
	if !accepted {
		ay, err := e.idOn(ctx, b, a)
		if err != nil {
			return false, false, err
		}
		err = e.patient(ctx, b.server, func() error { _, err := b.c.AuthorizeFollowRequest(ctx, ay); return err })
		switch {
		case err == nil:
			accepted = true
		case fedi.IsStatus(err, http.StatusNotFound):
			// Not arrived yet, or accepted by an earlier run: b's side
			// says which.
			var rel fedi.Relationship
			err := e.patient(ctx, b.server, func() (err error) { rel, err = b.c.Relationship(ctx, ay); return err })
			if err != nil {
				return false, false, err
			}
			accepted = rel.FollowedBy
		default:
			return false, false, fmt.Errorf("%s accepts %s: %w", b.email, a.email, err)
		}
	}
	var rel fedi.Relationship
	err = e.patient(ctx, a.server, func() (err error) { rel, err = a.c.Relationship(ctx, bx); return err })
	if err != nil {
		return false, accepted, err
	}
	if rel.Following {
		return true, accepted, nil
	}
	if !rel.Requested {
		err = e.patient(ctx, a.server, func() (err error) { rel, err = a.c.Follow(ctx, bx); return err })
		if err != nil {
			return false, accepted, err
		}
		return rel.Following, false, nil // a new request, for b to accept
	}
	return false, accepted, nil
}
