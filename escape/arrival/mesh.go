package arrival

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lifeboat-social/lifeboat/escape/campaign"
	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/internal/workpool"
)

// Steps of the mesh, as progress events name them.
const (
	StepFollows = "follows"
	StepLists   = "lists"
	StepWelcome = "welcome"
)

// Stats counts what the mesh holds, from the journal. Members is the
// roster: the file's members and the people who joined and were let in.
// Follows and lists count every member's, wherever their account lives.
type Stats struct {
	Members  int `json:"members"`
	Arrived  int `json:"arrived"` // members with an account and a token
	Follows  int `json:"follows_seeded"`
	Lists    int `json:"lists_created"`
	Listed   int `json:"list_entries"`
	Welcomes int `json:"welcomes"`
	// Remote is how many of the arrived members kept their account on
	// another server.
	Remote int `json:"remote_members"`
}

// arrived is a member who can act: an account id and a token, on the
// member's own server.
type arrived struct {
	email    string
	id       string // on server
	server   string // base URL of the account's server
	acct     string // address, user@domain; empty for older rows (see address)
	username string
	c        *fedi.Client
}

// remote tells whether the member's account is on another server than
// the destination.
func (e *Engine) remote(m arrived) bool { return m.server != e.cfg.Server.URL }

func (e *Engine) arrivals(ctx context.Context) ([]arrived, error) {
	accs, err := e.cfg.Store.Accounts().List(ctx, e.cfg.Group.Name)
	if err != nil {
		return nil, err
	}
	// In the order they arrived (their account's record was written):
	// the mesh is seeded oldest pairs first.
	sort.SliceStable(accs, func(i, j int) bool {
		if !accs[i].CreatedAt.Equal(accs[j].CreatedAt) {
			return accs[i].CreatedAt.Before(accs[j].CreatedAt)
		}
		return accs[i].Email < accs[j].Email
	})
	var out []arrived
	for _, a := range accs {
		if !hasArrived(a) {
			continue
		}
		server := a.Server
		if server == "" {
			server = e.cfg.Server.URL
		}
		out = append(out, arrived{email: a.Email, id: a.ID, server: server, acct: strings.ToLower(a.Acct),
			username: a.Username, c: e.client(server).WithToken(a.Token)})
	}
	return out, nil
}

func followKey(a, b string) string { return "follow:" + a + ">" + b }
func listedKey(a, b string) string { return "listed:" + a + ">" + b }
func listKey(a string) string      { return "list:" + a }

// done returns the set of done journal keys with prefix.
func (e *Engine) done(ctx context.Context, prefix string) (map[string][]byte, error) {
	steps, err := e.journal().List(ctx, e.run, prefix)
	if err != nil {
		return nil, err
	}
	m := make(map[string][]byte, len(steps))
	for _, s := range steps {
		if s.Status == store.StepDone {
			m[s.Key] = s.Result
		}
	}
	return m, nil
}

// Seed makes the mesh whole for everyone who has arrived: each follows
// each other, each one's list holds the others, and the lead's welcome is
// posted once. Only what the journal does not record as done is sent, so
// Seed after every arrival costs what the arrival adds.
//
// One stuck pair never stops the room: a follow or a list the server
// keeps refusing is retried a few times within the run and then left
// out, the rest of the mesh is made around it, and Seed returns a
// *StuckError naming what is missing. The next Seed tries it again.
// Follows and list entries a server's rate limit holds back until its
// window reopens (Mastodon's 400 follows a day) are left for then: Seed
// journals the wait and returns a *LimitedError (joined with the
// StuckError when both); Resume waits and goes on.
//
// Members whose accounts live on other servers are in the mesh too (see
// remote.go): their follows cross servers by federation, and Seed waits
// up to Config.FollowWait for them to arrive, then returns a
// *StragglersError naming the ones still on their way.
func (e *Engine) Seed(ctx context.Context) error {
	e.seedMu.Lock()
	defer e.seedMu.Unlock()
	members, err := e.arrivals(ctx)
	if err != nil {
		return err
	}
	if err := e.loadKnown(ctx); err != nil {
		return err
	}
	stuck, held, late, err := e.follows(ctx, members)
	if err != nil {
		return err
	}
	more, heldLists, err := e.lists(ctx, members)
	if err != nil {
		return err
	}
	stuck = append(stuck, more...)
	held = held.join(heldLists)
	if err := e.welcome(ctx, members); fedi.IsRateLimited(err) {
		held = held.join(holds{n: 1, until: retryAt(err)})
	} else if err != nil {
		return err
	}
	if err := e.keepLimit(ctx, limitRecord{Until: held.until, Held: held.n}); err != nil {
		return err
	}
	var errs []error
	if len(stuck) > 0 {
		errs = append(errs, &StuckError{Stuck: stuck})
	}
	if len(late) > 0 {
		errs = append(errs, &StragglersError{Wait: e.cfg.FollowWait, Stragglers: late})
	}
	if held.n > 0 {
		errs = append(errs, &LimitedError{Until: held.until, Held: held.n})
	}
	return errors.Join(errs...)
}

// holds counts the pieces a rate limit held back in a run, and when the
// first of them may go again.
type holds struct {
	n     int
	until time.Time
}

func (h holds) join(o holds) holds {
	if o.n == 0 {
		return h
	}
	if h.n == 0 || o.until.Before(h.until) {
		h.until = o.until
	}
	h.n += o.n
	return h
}

// retryAt is when a rate-limited answer says to come back.
func retryAt(err error) time.Time {
	var fe *fedi.Error
	if errors.As(err, &fe) {
		return fe.RetryAt
	}
	return time.Time{}
}

// Stuck is one piece of the mesh the server would not make in this run,
// after retries and recovery: one member following another, or one
// member's list.
type Stuck struct {
	Step string // StepFollows or StepLists
	From string // the member who follows, or whose list it is
	To   string // the member to follow; empty for a list
	Err  error  // the server's last answer
}

func (s Stuck) String() string {
	if s.To == "" {
		return fmt.Sprintf("the list of %s: %v", s.From, s.Err)
	}
	return fmt.Sprintf("%s follows %s: %v", s.From, s.To, s.Err)
}

// ErrStuck matches (with errors.Is) the error of a Seed that made all it
// could and left some pieces stuck.
var ErrStuck = errors.New("part of the mesh is stuck")

// StuckError names the stuck pieces of a mesh, so the CLI and the TUI can
// say who is not connected yet.
type StuckError struct{ Stuck []Stuck }

// maxShown bounds how many stuck pieces an error message lists.
const maxShown = 20

func (e *StuckError) Error() string {
	return lines(fmt.Sprintf("%d of the mesh's follows and lists are stuck; the rest is made, and the next run tries these again:", len(e.Stuck)), e.Stuck)
}

// lines is head and then the first maxShown items, one a line.
func lines[T fmt.Stringer](head string, items []T) string {
	var b strings.Builder
	b.WriteString(head)
	for i, s := range items {
		if i == maxShown {
			fmt.Fprintf(&b, "\n  … and %d more", len(items)-i)
			break
		}
		b.WriteString("\n  " + s.String())
	}
	return b.String()
}

// Is makes errors.Is(err, ErrStuck) true.
func (e *StuckError) Is(target error) bool { return target == ErrStuck }

// piece is the failure of one piece of a step: the server answered about
// that piece, so the rest of the step goes on. Any other error (the
// journal, the context, a server that no longer answers) stops the step.
type piece struct {
	stuck Stuck
}

func (p *piece) Error() string { return p.stuck.String() }

// isolate marks err as the failure of one piece when the server answered
// (an HTTP error, or a follow it keeps neither made nor requested).
func isolate(err error, step, from, to string) error {
	var fe *fedi.Error
	if errors.As(err, &fe) || errors.Is(err, errNotMade) {
		return &piece{Stuck{Step: step, From: from, To: to, Err: err}}
	}
	return err
}

// pieces splits err (one error, or several joined with errors.Join) into
// the failures of single pieces and the rest, which is returned joined.
func pieces(err error) ([]*piece, error) {
	if err == nil {
		return nil, nil
	}
	if p, ok := err.(*piece); ok {
		return []*piece{p}, nil
	}
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return nil, err
	}
	var ps []*piece
	var rest []error
	for _, e := range j.Unwrap() {
		p, r := pieces(e)
		ps = append(ps, p...)
		if r != nil {
			rest = append(rest, r)
		}
	}
	return ps, errors.Join(rest...)
}

// Within a run, pieces that failed are tried again after a pause, at most
// stuckRounds more times: a pair refused now (a half-made request, a burst
// of errors, a rate limit) often goes through a moment later.
var (
	stuckRounds = 3
	stuckPause  = time.Second
	// maxPause bounds a wait for a rate limit's reset between rounds.
	maxPause = 2 * time.Minute
)

// rounds runs fn for 0..n-1 on workers goroutines, then again for the
// items that failed as one or more *piece (joined), after a growing pause,
// at most stuckRounds more times. It returns the pieces still failing.
// Pieces a rate limit refused until further than maxPause ahead (a
// Mastodon account's daily follows spent) are not tried again in this
// run: they are counted in held, for Resume to send when the window
// reopens. Any other error stops the work and is returned.
func (e *Engine) rounds(ctx context.Context, n int, fn func(ctx context.Context, i int) error) ([]Stuck, holds, error) {
	var held holds
	todo := make([]int, n)
	for i := range todo {
		todo[i] = i
	}
	for round := 0; ; round++ {
		var mu sync.Mutex
		failed := map[int][]*piece{}
		err := workpool.Run(ctx, e.cfg.Workers, len(todo), func(ctx context.Context, k int) error {
			ps, err := pieces(fn(ctx, todo[k]))
			if len(ps) > 0 {
				mu.Lock()
				failed[todo[k]] = ps
				mu.Unlock()
			}
			return err
		})
		if err != nil {
			return nil, held, err
		}
		now := e.clock.Now()
		for i, ps := range failed {
			kept := ps[:0]
			for _, p := range ps {
				if at := retryAt(p.stuck.Err); fedi.IsRateLimited(p.stuck.Err) && at.Sub(now) > maxPause {
					held = held.join(holds{n: 1, until: at})
					continue
				}
				kept = append(kept, p)
			}
			if len(kept) == 0 {
				delete(failed, i)
			} else {
				failed[i] = kept
			}
		}
		if len(failed) == 0 {
			return nil, held, nil
		}
		todo = todo[:0]
		for i := range failed {
			todo = append(todo, i)
		}
		sort.Ints(todo)
		if round == stuckRounds {
			var out []Stuck
			for _, i := range todo {
				for _, p := range failed[i] {
					out = append(out, p.stuck)
				}
			}
			return out, held, nil
		}
		pause := stuckPause << round
		for _, ps := range failed {
			for _, p := range ps {
				if fedi.IsRateLimited(p.stuck.Err) {
					pause = max(pause, min(retryAt(p.stuck.Err).Sub(now), maxPause))
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil, held, ctx.Err()
		case <-e.clock.After(pause):
		}
	}
}

// follows sends every missing follow. A follow is idempotent on the
// server (following again answers 200), so it needs no "started" record:
// finished follows are journaled in batches, and a crash at worst repeats
// a batch's worth of no-op follows. Follows between servers are sent,
// then confirmed (await). It returns the follows that stay stuck, counts
// those a rate limit holds back, and returns the follows between servers
// that have not arrived in Config.FollowWait.
func (e *Engine) follows(ctx context.Context, members []arrived) ([]Stuck, holds, []Straggler, error) {
	done, err := e.done(ctx, "follow:")
	if err != nil {
		return nil, holds{}, nil, err
	}
	// One job per pair of members, doing both directions one after the
	// other: GoToSocial v0.17.3 can cache "a does not follow b" for good
	// when it reads that follow (answering b's follow of a) at the moment
	// it stores it (accepting a's request), and then refuses to put b on
	// a's list. (v0.18.3 has the same cache code, go-structr v0.8.11:
	// a load that found nothing is stored after the fact, over what was
	// stored meanwhile.) The pairs come in pairOrder.
	type job struct{ a, b arrived }
	var todo []job
	missing := 0
	n := len(members)
	for _, p := range pairOrder(n) {
		a, b := members[p[1]], members[p[0]] // the later arrival follows first
		_, ab := done[followKey(a.email, b.email)]
		_, ba := done[followKey(b.email, a.email)]
		if !ab || !ba {
			todo = append(todo, job{a, b})
		}
		missing += btoi(!ab) + btoi(!ba)
	}
	total := n * (n - 1)
	emit := e.cfg.Emit
	emit.Emit(progress.Event{Kind: progress.StepStarted, Step: StepFollows, Done: total - missing, Total: total})
	if len(todo) == 0 {
		emit.Emit(progress.Event{Kind: progress.StepDone, Step: StepFollows, Done: total, Total: total})
		return nil, holds{}, nil, nil
	}
	rec := newRecorder(ctx, e.journal(), e.run, func(n int) {
		emit.Emit(progress.Event{Kind: progress.Advanced, Step: StepFollows, Done: total - missing + n, Total: total})
	})
	var mu sync.Mutex
	made := map[string]bool{} // in this run, so a later round skips them
	var inFlight []pair       // follows between servers, sent
	stuck, held, err := e.rounds(ctx, len(todo), func(ctx context.Context, i int) error {
		p := todo[i]
		var failed []error // one direction failing does not keep the other from being tried
		for _, d := range [2][2]arrived{{p.a, p.b}, {p.b, p.a}} {
			a, b := d[0], d[1]
			key := followKey(a.email, b.email)
			mu.Lock()
			_, ok := done[key]
			ok = ok || made[key]
			mu.Unlock()
			if ok {
				continue
			}
			var err error
			following := true
			if a.server == b.server {
				err = follow(ctx, a, b)
			} else {
				following, err = e.remoteFollow(ctx, a, b)
			}
			if err != nil {
				err = isolate(err, StepFollows, a.email, b.email)
				if _, ok := err.(*piece); !ok {
					return err
				}
				failed = append(failed, err)
				continue
			}
			if !following {
				// Sent: journaled as requested until a's server shows it.
				if err := e.record(ctx, []string{requestedKey(a.email, b.email)}); err != nil {
					return err
				}
			}
			mu.Lock()
			made[key] = true
			if !following {
				inFlight = append(inFlight, pair{a, b})
			}
			mu.Unlock()
			if following {
				rec.add(key)
			}
		}
		return errors.Join(failed...)
	})
	var late []Straggler
	if err == nil {
		late, err = e.await(ctx, inFlight, rec.add)
	}
	if ferr := rec.close(); err == nil {
		err = ferr
	}
	if err != nil {
		emit.Emit(progress.Event{Kind: progress.Failed, Step: StepFollows, Message: err.Error(), Err: err})
		return nil, held, nil, err
	}
	for _, s := range stuck {
		emit.Emit(progress.Event{Kind: progress.Failed, Step: StepFollows, Item: s.From, Message: s.String()})
	}
	if len(stuck) == 0 && held.n == 0 && len(late) == 0 {
		emit.Emit(progress.Event{Kind: progress.StepDone, Step: StepFollows, Done: total, Total: total})
	}
	return stuck, held, late, nil
}

// pairOrder is the order in which the mesh of n members (by arrival
// rank) is seeded: each pair {i, j}, i < j, once, by the sum of the
// ranks, then i. Pairs of one sum share no member, so many tokens are
// busy at once; and each member still follows everyone who arrived
// before them first (oldest first), then the later arrivals in the order
// they came, the newest pairs last. Where a server allows an account
// only so many follows a day (Mastodon: 400), what waits for the next
// day is each member's newest pairs.
func pairOrder(n int) [][2]int {
	out := make([][2]int, 0, n*(n-1)/2)
	for sum := 1; sum <= 2*n-3; sum++ {
		for i := max(0, sum-(n-1)); 2*i < sum; i++ {
			out = append(out, [2]int{i, sum - i})
		}
	}
	return out
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// errNotMade: the server answers a follow but keeps it neither made nor
// requested.
var errNotMade = errors.New("the server keeps the follow neither made nor requested")

// follow makes a follow b, and clears a follow the server keeps half made
// (see unstick) when plain retries do not get it through.
func follow(ctx context.Context, a, b arrived) error {
	err := transient(ctx, func() error { return followOnce(ctx, a, b) })
	var fe *fedi.Error
	if err == nil || !(errors.Is(err, errNotMade) || errors.As(err, &fe) && fe.Status >= 500 && !fedi.IsRateLimited(fe)) {
		return err
	}
	if uerr := unstick(ctx, a, b); uerr != nil {
		return fmt.Errorf("%w (and clearing it: %v)", err, uerr)
	}
	return nil
}

// followOnce makes a follow b. Where b's account is locked (GoToSocial's
// default) the follow is only a request, and b — a member of the same
// group, who asked to be followed by it by joining — accepts it. The
// server may file the request a moment after answering, so a request not
// yet visible is looked for again before giving up.
func followOnce(ctx context.Context, a, b arrived) error {
	wait := 20 * time.Millisecond
	for attempt := 0; ; attempt++ {
		r, err := a.c.Follow(ctx, b.id)
		if err != nil {
			return fmt.Errorf("%s follows %s: %w", a.email, b.email, err)
		}
		if r.Following && r.Requested {
			// A follow and a's request both stand: an acceptance cut
			// short stored the follow but never removed the request,
			// which b would see waiting for good. Accepting it again
			// removes it and changes nothing else.
			if _, err := b.c.AuthorizeFollowRequest(ctx, a.id); err != nil && !fedi.IsStatus(err, http.StatusNotFound) {
				return fmt.Errorf("%s accepts %s: %w", b.email, a.email, err)
			}
			return nil
		}
		if r.Following {
			return nil
		}
		_, err = b.c.AuthorizeFollowRequest(ctx, a.id)
		if err == nil {
			return nil
		}
		if !fedi.IsStatus(err, http.StatusNotFound) {
			return fmt.Errorf("%s accepts %s: %w", b.email, a.email, err)
		}
		// No request to accept: accepted already, or not filed yet.
		if rel, err := a.c.Relationship(ctx, b.id); err == nil && rel.Following {
			return nil
		}
		if attempt == 6 {
			return fmt.Errorf("%s follows %s: %w", a.email, b.email, errNotMade)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
			wait *= 2
		}
	}
}

// unstick clears a follow the server keeps half made. GoToSocial v0.17.3
// (and v0.18.3, whose code here is the same) looks for a's request to b
// before storing a new one and caches "none"; when the request is then
// stored but its handling is cut short (the connection drops mid-request,
// as when Lifeboat is killed), the request is in the database yet the
// cache still says "none", so every follow again tries to store it and
// answers 500 "already exists", and accepting it answers 404. Listing b's
// follow requests reads them from the database by id, which puts the
// request back in the cache under the pair too; b then accepts it like
// any other. Where a has no pending request at all, the follow is undone
// and made again. Both work through the API alone, on any server.
func unstick(ctx context.Context, a, b arrived) error {
	reqs, err := b.c.FollowRequests(ctx)
	if err != nil {
		return fmt.Errorf("follow requests of %s: %w", b.email, err)
	}
	if slices.ContainsFunc(reqs, func(x fedi.Account) bool { return x.ID == a.id }) {
		if _, err := b.c.AuthorizeFollowRequest(ctx, a.id); err != nil && !fedi.IsStatus(err, http.StatusNotFound) {
			return fmt.Errorf("%s accepts %s: %w", b.email, a.email, err)
		}
	} else {
		if _, err := a.c.Unfollow(ctx, b.id); err != nil {
			return fmt.Errorf("%s unfollows %s: %w", a.email, b.email, err)
		}
		if err := followOnce(ctx, a, b); err != nil {
			return err
		}
	}
	rel, err := a.c.Relationship(ctx, b.id)
	if err != nil {
		return err
	}
	if !rel.Following {
		return fmt.Errorf("%s follows %s: %w", a.email, b.email, errNotMade)
	}
	return nil
}

// lists gives every arrived member a list titled after the group holding
// everyone they follow in it. The list itself is found by title before it
// is made, so a crash between making it and journaling it makes no second
// list; entries already present count as added. It returns the lists
// that stay stuck.
func (e *Engine) lists(ctx context.Context, members []arrived) ([]Stuck, holds, error) {
	follows, err := e.done(ctx, "follow:")
	if err != nil {
		return nil, holds{}, err
	}
	listed, err := e.done(ctx, "listed:")
	if err != nil {
		return nil, holds{}, err
	}
	emit := e.cfg.Emit
	emit.Emit(progress.Event{Kind: progress.StepStarted, Step: StepLists, Total: len(members)})
	var mu sync.Mutex
	finished := 0
	stuck, held, err := e.rounds(ctx, len(members), func(ctx context.Context, i int) error {
		a := members[i]
		var add []arrived
		for _, b := range members {
			if b.email == a.email {
				continue
			}
			if _, ok := follows[followKey(a.email, b.email)]; !ok {
				continue // lists may only hold accounts one follows
			}
			mu.Lock()
			_, ok := listed[listedKey(a.email, b.email)]
			mu.Unlock()
			if !ok {
				add = append(add, b)
			}
		}
		res, err := e.once(ctx, listKey(a.email), func(store.StepStatus) (id []byte, err error) {
			err = transient(ctx, func() (err error) { id, err = e.ensureList(ctx, a); return err })
			return id, err
		})
		if err != nil {
			return isolate(err, StepLists, a.email, "")
		}
		listID := string(res)
		for start := 0; start < len(add); start += listBatch {
			batch := add[start:min(start+listBatch, len(add))]
			ids := make([]string, len(batch))
			keys := make([]string, len(batch))
			for k, b := range batch {
				id, err := e.idOn(ctx, a, b) // resolved when a followed b
				if err != nil {
					return isolate(err, StepLists, a.email, "")
				}
				ids[k], keys[k] = id, listedKey(a.email, b.email)
			}
			if err := addToList(ctx, a, listID, ids); err != nil {
				return isolate(fmt.Errorf("list of %s: %w", a.email, err), StepLists, a.email, "")
			}
			if err := e.record(ctx, keys); err != nil {
				return err
			}
			mu.Lock()
			for _, k := range keys {
				listed[k] = nil
			}
			mu.Unlock()
		}
		mu.Lock()
		finished++
		emit.Emit(progress.Event{Kind: progress.Advanced, Step: StepLists, Item: a.email, Done: finished, Total: len(members)})
		mu.Unlock()
		return nil
	})
	if err != nil {
		emit.Emit(progress.Event{Kind: progress.Failed, Step: StepLists, Message: err.Error(), Err: err})
		return nil, held, err
	}
	for _, s := range stuck {
		emit.Emit(progress.Event{Kind: progress.Failed, Step: StepLists, Item: s.From, Message: s.String()})
	}
	if len(stuck) == 0 && held.n == 0 {
		emit.Emit(progress.Event{Kind: progress.StepDone, Step: StepLists, Done: len(members), Total: len(members)})
	}
	return stuck, held, nil
}

// addToList adds ids to a's list. A list only takes accounts its owner
// follows, and GoToSocial may hold "a does not follow b" in its cache
// though the follow is stored (the race described in follows). Reading
// a's follows loads them by id, which puts the follow back in the cache,
// so a refused batch is tried once more after that.
func addToList(ctx context.Context, a arrived, listID string, ids []string) error {
	err := transient(ctx, func() error { return a.c.AddToList(ctx, listID, ids) })
	var fe *fedi.Error
	if err == nil || !errors.As(err, &fe) || fedi.IsRateLimited(fe) {
		return err
	}
	if _, ferr := a.c.Following(ctx, a.id); ferr != nil {
		return err
	}
	return transient(ctx, func() error { return a.c.AddToList(ctx, listID, ids) })
}

// transient runs fn again while it fails with a server error (5xx) or
// without an answer (a connection refused or cut, or a proxy's 502, 503
// or 504): a busy server answers some requests of a bulk run that way,
// and a restarted one answers none for a while. Other server errors are
// tried five times; a server that does not answer is waited for up to
// unreachable, after which the error is
// returned as it is (not as one piece's failure: the whole step stops).
// Only steps that are safe to repeat go through it — follows, accepting
// requests, adding to a list, finding-or-making a list and posting the
// welcome, which look before they make, signing in, reading a token's
// account, and registering the member app (a second registration only
// leaves an unused app).
func transient(ctx context.Context, fn func() error) error { return retry(ctx, nil, fn) }

// retry is transient that calls down(true) when it starts waiting for a
// server that does not answer, and down(false) once it answers again.
func retry(ctx context.Context, down func(bool), fn func() error) error {
	wait := 100 * time.Millisecond
	start := time.Now()
	waiting := false
	for attempt := 1; ; attempt++ {
		err := fn()
		if waiting && (err == nil || isAnswer(err)) {
			waiting = false
			down(false)
		}
		if err == nil || ctx.Err() != nil {
			return err
		}
		var fe *fedi.Error
		switch {
		case errors.As(err, &fe) && gateway(fe.Status) && !fedi.IsRateLimited(fe):
			// A proxy in front of the server answers for it while it
			// does not answer: as good as no answer.
			if time.Since(start) > unreachable {
				return err
			}
		case errors.As(err, &fe):
			if attempt >= 5 || fe.Status < 500 || fedi.IsRateLimited(fe) {
				return err
			}
		case errors.Is(err, errNotMade) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
			return err
		case time.Since(start) > unreachable:
			return err
		}
		if !waiting && !isAnswer(err) && down != nil {
			waiting = true
			down(true)
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
			wait = min(2*wait, 2*time.Second)
		}
	}
}

// unreachable is how long a server that does not answer is waited for:
// longer than a GoToSocial restart takes (15 s on an idle machine, a
// minute or more on a busy one).
var unreachable = 2 * time.Minute

// gateway reports whether status is what a reverse proxy answers while
// the server behind it is down or restarting.
func gateway(status int) bool {
	return status == http.StatusBadGateway || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout
}

// listBatch is how many accounts one add-to-list request carries.
const listBatch = 50

func (e *Engine) ensureList(ctx context.Context, a arrived) ([]byte, error) {
	title := e.ListTitle()
	lists, err := a.c.Lists(ctx)
	if err != nil {
		return nil, fmt.Errorf("lists of %s: %w", a.email, err)
	}
	for _, l := range lists {
		if l.Title == title {
			return []byte(l.ID), nil
		}
	}
	l, err := a.c.CreateList(ctx, title)
	if err != nil {
		return nil, fmt.Errorf("create list for %s: %w", a.email, err)
	}
	return []byte(l.ID), nil
}

// ListTitle is the title of each member's list of the group.
func (e *Engine) ListTitle() string {
	if e.cfg.Group.Title != "" {
		return e.cfg.Group.Title
	}
	return e.cfg.Group.Name
}

// WelcomeText is the lead's one post when the group has arrived.
func (e *Engine) WelcomeText() string {
	return fmt.Sprintf("Welcome, everyone: %s has arrived together with Lifeboat. You already follow each other, and the list %q on your account holds the whole group.",
		e.ListTitle(), e.ListTitle())
}

// welcome posts the lead's welcome once the lead has arrived, unless the
// post is already among the lead's statuses.
func (e *Engine) welcome(ctx context.Context, members []arrived) error {
	lead := strings.ToLower(e.cfg.Group.Lead.Email)
	var me *arrived
	for i := range members {
		if members[i].email == lead {
			me = &members[i]
		}
	}
	if me == nil {
		return nil // the lead has not arrived (or is not a member)
	}
	text := e.WelcomeText()
	_, err := e.once(ctx, "welcome", func(store.StepStatus) (id []byte, err error) {
		// Look first even on a first attempt, and on every retry: the
		// journal may be newer than the post (a restored or lost state),
		// an answer may be lost after the post was made, and a post
		// cannot be taken back.
		err = transient(ctx, func() error {
			sts, err := me.c.AccountStatuses(ctx, me.id)
			if err != nil {
				return err
			}
			for _, s := range sts {
				if strings.Contains(stripTags(s.Content), text[:40]) {
					id = []byte(s.ID)
					return nil
				}
			}
			s, err := me.c.PostStatus(ctx, text, "public")
			if err != nil {
				return fmt.Errorf("post the welcome: %w", err)
			}
			id = []byte(s.ID)
			return nil
		})
		return id, err
	})
	if err == nil {
		e.cfg.Emit.Emit(progress.Event{Kind: progress.StepDone, Step: StepWelcome, Done: 1, Total: 1})
	}
	return err
}

func stripTags(html string) string {
	var b strings.Builder
	in := false
	for _, r := range html {
		switch {
		case r == '<':
			in = true
		case r == '>':
			in = false
		case !in:
			b.WriteRune(r)
		}
	}
	return strings.NewReplacer("&quot;", `"`, "&#34;", `"`, "&#39;", "'", "&amp;", "&").Replace(b.String())
}

// Stats reads the mesh's counts from the journal and the store.
func (e *Engine) Stats(ctx context.Context) (Stats, error) {
	var s Stats
	r, err := campaign.Roster(ctx, e.cfg.Store, e.cfg.Group)
	if err != nil {
		return s, err
	}
	s.Members = len(r.Members)
	members, err := e.arrivals(ctx)
	if err != nil {
		return s, err
	}
	s.Arrived = len(members)
	for _, m := range members {
		s.Remote += btoi(e.remote(m))
	}
	for prefix, n := range map[string]*int{"follow:": &s.Follows, "list:": &s.Lists, "listed:": &s.Listed, "welcome": &s.Welcomes} {
		d, err := e.done(ctx, prefix)
		if err != nil {
			return s, err
		}
		*n = len(d)
	}
	return s, nil
}

// Counts is one member's place in the group's mesh, read from the server.
type Counts struct {
	Following int // group members the member follows
	Followers int // group members who follow the member
	// Remote is how many of the other arrived members keep their accounts
	// on servers other than the destination; they are counted in
	// Following and Followers like everyone else.
	Remote int
}

// MemberCounts reads, with the member's own token on their own server,
// how many of the group's arrived members they follow and are followed by: from the
// follows themselves, so a page shown right after seeding is right even
// while the server is still updating the counts on the account.
func (e *Engine) MemberCounts(ctx context.Context, email string) (Counts, error) {
	var c Counts
	members, err := e.arrivals(ctx)
	if err != nil {
		return c, err
	}
	var me *arrived
	for i, m := range members {
		if strings.EqualFold(m.email, email) {
			me = &members[i]
		}
	}
	if me == nil {
		return c, fmt.Errorf("%s has not arrived", email)
	}
	var ids []string
	for _, m := range members {
		if m.email == me.email {
			continue
		}
		if e.remote(m) {
			c.Remote++
		}
		id, err := e.idOn(ctx, *me, m) // on the member's own server
		if err != nil {
			return c, err
		}
		ids = append(ids, id)
	}
	rs, err := me.c.Relationships(ctx, ids)
	if err != nil {
		return c, err
	}
	for _, r := range rs {
		if r.Following {
			c.Following++
		}
		if r.FollowedBy {
			c.Followers++
		}
	}
	return c, nil
}

// record journals keys as done in one write.
func (e *Engine) record(ctx context.Context, keys []string) error {
	return e.journal().Record(ctx, e.run, keys)
}

// recorder batches done keys into few journal writes.
type recorder struct {
	j       store.Journal
	run     string
	ch      chan string
	errc    chan error
	advance func(n int)
}

func newRecorder(ctx context.Context, j store.Journal, run string, advance func(int)) *recorder {
	r := &recorder{j: j, run: run, ch: make(chan string, 1024), errc: make(chan error, 1), advance: advance}
	go r.loop(context.WithoutCancel(ctx))
	return r
}

func (r *recorder) add(key string) { r.ch <- key }

// close flushes what is pending and reports the first write error.
func (r *recorder) close() error {
	close(r.ch)
	return <-r.errc
}

func (r *recorder) loop(ctx context.Context) {
	var (
		batch []string
		n     int
		first error
		tick  = time.NewTicker(100 * time.Millisecond)
	)
	defer tick.Stop()
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if err := r.j.Record(ctx, r.run, batch); err != nil && first == nil {
			first = err
		}
		n += len(batch)
		r.advance(n)
		batch = batch[:0]
	}
	for {
		select {
		case k, ok := <-r.ch:
			if !ok {
				flush()
				r.errc <- first
				return
			}
			batch = append(batch, k)
			if len(batch) >= 256 {
				flush()
			}
		case <-tick.C:
			flush()
		}
	}
}
