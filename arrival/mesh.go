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

	"github.com/lifeboat-social/lifeboat/fedi"
	"github.com/lifeboat-social/lifeboat/internal/workpool"
	"github.com/lifeboat-social/lifeboat/progress"
	"github.com/lifeboat-social/lifeboat/store"
)

// Steps of the mesh, as progress events name them.
const (
	StepFollows = "follows"
	StepLists   = "lists"
	StepWelcome = "welcome"
)

// Stats counts what the mesh holds, from the journal.
type Stats struct {
	Members  int `json:"members"`
	Arrived  int `json:"arrived"` // members with an account and a token
	Follows  int `json:"follows_seeded"`
	Lists    int `json:"lists_created"`
	Listed   int `json:"list_entries"`
	Welcomes int `json:"welcomes"`
}

// arrived is a member who can act: an account id and a token.
type arrived struct {
	email string
	id    string
	c     *fedi.Client
}

func (e *Engine) arrivals(ctx context.Context) ([]arrived, error) {
	accs, err := e.cfg.Store.Accounts().List(ctx, e.cfg.Group.Name)
	if err != nil {
		return nil, err
	}
	var out []arrived
	for _, a := range accs {
		if a.Token == "" || a.ID == "" || a.Server != e.cfg.Server.URL {
			continue
		}
		out = append(out, arrived{email: a.Email, id: a.ID, c: e.base.WithToken(a.Token)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].email < out[j].email })
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
func (e *Engine) Seed(ctx context.Context) error {
	members, err := e.arrivals(ctx)
	if err != nil {
		return err
	}
	if err := e.follows(ctx, members); err != nil {
		return err
	}
	if err := e.lists(ctx, members); err != nil {
		return err
	}
	return e.welcome(ctx, members)
}

// follows sends every missing follow. A follow is idempotent on the
// server (following again answers 200), so it needs no "started" record:
// finished follows are journaled in batches, and a crash at worst repeats
// a batch's worth of no-op follows.
func (e *Engine) follows(ctx context.Context, members []arrived) error {
	done, err := e.done(ctx, "follow:")
	if err != nil {
		return err
	}
	// One job per pair of members, doing both directions one after the
	// other: GoToSocial v0.17.3 can cache "a does not follow b" for good
	// when it reads that follow (answering b's follow of a) at the moment
	// it stores it (accepting a's request), and then refuses to put b on
	// a's list. Pairs are interleaved so many tokens are busy at once.
	type job struct{ a, b arrived }
	var todo []job
	missing := 0
	n := len(members)
	for k := 1; 2*k <= n; k++ {
		for i := range members {
			j := (i + k) % n
			if 2*k == n && i >= j {
				continue // the pair {i, i+n/2} comes twice; keep one
			}
			a, b := members[i], members[j]
			_, ab := done[followKey(a.email, b.email)]
			_, ba := done[followKey(b.email, a.email)]
			if !ab || !ba {
				todo = append(todo, job{a, b})
			}
			missing += btoi(!ab) + btoi(!ba)
		}
	}
	total := n * (n - 1)
	emit := e.cfg.Emit
	emit.Emit(progress.Event{Kind: progress.StepStarted, Step: StepFollows, Done: total - missing, Total: total})
	if len(todo) == 0 {
		emit.Emit(progress.Event{Kind: progress.StepDone, Step: StepFollows, Done: total, Total: total})
		return nil
	}
	rec := newRecorder(ctx, e.journal(), e.run, func(n int) {
		emit.Emit(progress.Event{Kind: progress.Advanced, Step: StepFollows, Done: total - missing + n, Total: total})
	})
	err = workpool.Run(ctx, e.cfg.Workers, len(todo), func(ctx context.Context, i int) error {
		p := todo[i]
		for _, d := range [2][2]arrived{{p.a, p.b}, {p.b, p.a}} {
			a, b := d[0], d[1]
			if _, ok := done[followKey(a.email, b.email)]; ok {
				continue
			}
			if err := transient(ctx, func() error { return follow(ctx, a, b) }); err != nil {
				return err
			}
			rec.add(followKey(a.email, b.email))
		}
		return nil
	})
	if ferr := rec.close(); err == nil {
		err = ferr
	}
	if err != nil {
		emit.Emit(progress.Event{Kind: progress.Failed, Step: StepFollows, Message: err.Error(), Err: err})
		return err
	}
	emit.Emit(progress.Event{Kind: progress.StepDone, Step: StepFollows, Done: total, Total: total})
	return nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// follow makes a follow b. Where b's account is locked (GoToSocial's
// default) the follow is only a request, and b — a member of the same
// group, who asked to be followed by it by joining — accepts it. The
// server may file the request a moment after answering, so a request not
// yet visible is looked for again before giving up.
func follow(ctx context.Context, a, b arrived) error {
	wait := 20 * time.Millisecond
	for attempt := 0; ; attempt++ {
		r, err := a.c.Follow(ctx, b.id)
		if err != nil {
			return fmt.Errorf("%s follows %s: %w", a.email, b.email, err)
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
			return fmt.Errorf("%s follows %s: the server keeps the follow neither made nor requested", a.email, b.email)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
			wait *= 2
		}
	}
}

// lists gives every arrived member a list titled after the group holding
// everyone they follow in it. The list itself is found by title before it
// is made, so a crash between making it and journaling it makes no second
// list; entries already present count as added.
func (e *Engine) lists(ctx context.Context, members []arrived) error {
	follows, err := e.done(ctx, "follow:")
	if err != nil {
		return err
	}
	listed, err := e.done(ctx, "listed:")
	if err != nil {
		return err
	}
	emit := e.cfg.Emit
	emit.Emit(progress.Event{Kind: progress.StepStarted, Step: StepLists, Total: len(members)})
	var mu sync.Mutex
	finished := 0
	err = workpool.Run(ctx, e.cfg.Workers, len(members), func(ctx context.Context, i int) error {
		a := members[i]
		var add []arrived
		for _, b := range members {
			if b.email == a.email {
				continue
			}
			if _, ok := follows[followKey(a.email, b.email)]; !ok {
				continue // lists may only hold accounts one follows
			}
			if _, ok := listed[listedKey(a.email, b.email)]; !ok {
				add = append(add, b)
			}
		}
		res, err := e.once(ctx, listKey(a.email), func(store.StepStatus) (id []byte, err error) {
			err = transient(ctx, func() (err error) { id, err = e.ensureList(ctx, a); return err })
			return id, err
		})
		if err != nil {
			return err
		}
		listID := string(res)
		for start := 0; start < len(add); start += listBatch {
			batch := add[start:min(start+listBatch, len(add))]
			ids := make([]string, len(batch))
			keys := make([]string, len(batch))
			for k, b := range batch {
				ids[k], keys[k] = b.id, listedKey(a.email, b.email)
			}
			if err := transient(ctx, func() error { return a.c.AddToList(ctx, listID, ids) }); err != nil {
				return fmt.Errorf("list of %s: %w", a.email, err)
			}
			if err := e.record(ctx, keys); err != nil {
				return err
			}
		}
		mu.Lock()
		finished++
		emit.Emit(progress.Event{Kind: progress.Advanced, Step: StepLists, Item: a.email, Done: finished, Total: len(members)})
		mu.Unlock()
		return nil
	})
	if err != nil {
		emit.Emit(progress.Event{Kind: progress.Failed, Step: StepLists, Message: err.Error(), Err: err})
		return err
	}
	emit.Emit(progress.Event{Kind: progress.StepDone, Step: StepLists, Done: len(members), Total: len(members)})
	return nil
}

// transient runs fn again while it fails with a server error (5xx): a busy
// server answers some requests of a bulk run that way. Only steps that are
// safe to repeat go through it — follows, accepting requests, adding to a
// list, and finding-or-making a list, which looks before it makes.
func transient(ctx context.Context, fn func() error) error {
	wait := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := fn()
		var fe *fedi.Error
		if err == nil || attempt == 5 || !errors.As(err, &fe) || fe.Status < 500 {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
			wait *= 2
		}
	}
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
	_, err := e.once(ctx, "welcome", func(store.StepStatus) ([]byte, error) {
		// Look first even on a first attempt: the journal may be newer
		// than the post (a restored or lost state), and a post cannot be
		// taken back.
		sts, err := me.c.AccountStatuses(ctx, me.id)
		if err != nil {
			return nil, err
		}
		for _, s := range sts {
			if strings.Contains(stripTags(s.Content), text[:40]) {
				return []byte(s.ID), nil
			}
		}
		s, err := me.c.PostStatus(ctx, text, "public")
		if err != nil {
			return nil, fmt.Errorf("post the welcome: %w", err)
		}
		return []byte(s.ID), nil
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
	s.Members = len(e.cfg.Group.Members)
	members, err := e.arrivals(ctx)
	if err != nil {
		return s, err
	}
	s.Arrived = len(members)
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
}

// MemberCounts reads, with the member's own token, how many of the
// group's arrived members they follow and are followed by: from the
// follows themselves, so a page shown right after seeding is right even
// while the server is still updating the counts on the account.
func (e *Engine) MemberCounts(ctx context.Context, email string) (Counts, error) {
	var c Counts
	members, err := e.arrivals(ctx)
	if err != nil {
		return c, err
	}
	var me *arrived
	var ids []string
	for i, m := range members {
		if strings.EqualFold(m.email, email) {
			me = &members[i]
		} else {
			ids = append(ids, m.id)
		}
	}
	if me == nil {
		return c, fmt.Errorf("%s has not arrived", email)
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
