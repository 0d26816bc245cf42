// Package groupgraph is a group's follow graph as the store holds it: the
// follows members uploaded from their data exports, or the lead imported
// for them, matched across networks to the group's members.
//
// A member is known by the handles they gave (the group file's handle,
// those typed on the join page) and by the identities inside their own
// exports (their X id and username, their Bluesky DID, their fediverse
// address). Every label that names a member becomes that member's node,
// so a member's follows on X and on Bluesky meet in one graph, and another
// member's X archive that lists them by id finds them.
//
// Of an export only what the group's questions need is kept: the owner's
// identities, everyone the owner follows (the people they would miss, and
// the lead's growth suggestions), and those of their followers who are
// members. The people named who are not members are for the lead's eyes
// only: nothing here is shown on a public page.
package groupgraph

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/lifeboat-social/lifeboat/analyze"
	"github.com/lifeboat-social/lifeboat/analyze/follows"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

// ErrNotMember: the email is neither a member's nor the lead's.
var ErrNotMember = errors.New("not a member of the group")

// ErrOtherMember: the export belongs to another member of the group.
var ErrOtherMember = errors.New("the export is another member's")

// Limits for exports imported into a group: a person follows at most a
// few thousand accounts (X and Bluesky cap following near there), so the
// caps are well below those of a whole-network import.
var Limits = follows.Limits{MaxBytes: 256 << 20, MaxEntries: 1_000_000, MaxAccounts: 200_000}

// Imported says what an import kept.
type Imported struct {
	Self      string // the export's owner, as a label
	Format    string
	Follows   int // accounts the member follows
	Followers int // members among their followers
}

// Import keeps of ex what the group's graph needs, as the follows of the
// person with email, replacing an earlier import of the same account.
// g is the group's roster (campaign.Roster: the file's members and the
// joins let in). The person is the lead, on the roster, or joined and
// waiting to be let in (their follows join the graph once they are).
// An export that does not say whose it is (a Mastodon CSV, Instagram's
// files) is the person's account named by a handle they gave (in the
// group file, or on the join page) when one is on the export's network;
// otherwise, unless the caller named its owner (SetOwner), it is refused
// with follows.ErrNoOwner.
func Import(ctx context.Context, st store.Store, g *groups.Group, email string, ex *follows.Export, now time.Time) (Imported, error) {
	email = strings.ToLower(email)
	ps, err := readPeople(ctx, st, g)
	if err != nil {
		return Imported{}, err
	}
	if !candidate(g, email) && !ps.waiting[email] {
		return Imported{}, fmt.Errorf("%s: %w", email, ErrNotMember)
	}
	if len(ex.Identities()) == 0 {
		if err := ownByHandle(ex, ps.labels[email]); err != nil {
			return Imported{}, err
		}
	}
	ids := ex.Identities()
	if len(ids) == 0 {
		return Imported{}, &follows.Error{File: ex.File, Err: follows.ErrNoOwner, Msg: fmt.Sprintf("a %s does not say whose it is", ex.Format)}
	}
	imps, err := st.Follows().List(ctx, g.Name)
	if err != nil {
		return Imported{}, err
	}
	// Only what the lead wrote and what exports prove count here: a
	// handle typed on the join page is a claim, and must not keep the
	// account's owner from uploading their own export.
	known := identitiesOf(g, nil, imps)
	for _, id := range ids {
		if other, ok := known[id]; ok && other != email {
			return Imported{}, fmt.Errorf("%s names %s, who is %s in the group: %w", ex.File, id, other, ErrOtherMember)
		}
	}
	known = identitiesOf(g, ps, imps)
	self := ids[0]
	imp := store.FollowImport{Group: g.Name, Email: email, Self: self, Aliases: ids[1:], Format: ex.Format, CreatedAt: now}
	seen := map[string]bool{}
	for _, a := range ex.Following {
		l := follows.Label(ex.Network, a)
		if l != self && !seen[l] {
			seen[l] = true
			imp.Edges = append(imp.Edges, [2]string{self, l})
		}
	}
	out := Imported{Self: self, Format: ex.Format, Follows: len(imp.Edges)}
	clear(seen)
	for _, a := range ex.Followers {
		l := follows.Label(ex.Network, a)
		if who, ok := known[l]; ok && who != email && !seen[l] {
			seen[l] = true
			imp.Edges = append(imp.Edges, [2]string{l, self})
			out.Followers++
		}
	}
	if err := st.Follows().Put(ctx, imp); err != nil {
		return Imported{}, err
	}
	return out, nil
}

// ownByHandle names the owner of an export that does not say whose it
// is by the first of the person's handle labels on its network.
func ownByHandle(ex *follows.Export, labels []string) error {
	for _, l := range labels {
		if rest, ok := strings.CutPrefix(l, string(ex.Network)+":"); ok {
			return ex.SetOwner(rest)
		}
	}
	return nil
}

// Delete removes every follow imported for the member: what the delete
// button on their pledge page does. It returns how many exports it
// removed.
func Delete(ctx context.Context, st store.Store, g *groups.Group, email string) (int, error) {
	return st.Follows().Delete(ctx, g.Name, email)
}

// candidate: the roster's members and the lead, who may be no member.
func candidate(g *groups.Group, email string) bool {
	_, ok := g.Member(email)
	return ok || strings.EqualFold(g.Lead.Email, email)
}

// candidates are the lower-case emails of the members and the lead, in
// the roster's order, the lead first.
func candidates(g *groups.Group) []string {
	out := []string{strings.ToLower(g.Lead.Email)}
	for _, m := range g.Members {
		if e := strings.ToLower(m.Email); e != out[0] {
			out = append(out, e)
		}
	}
	return out
}

// people is what the store adds to the roster about its people: the
// labels of the handles each gave, and who joined and waits to be let in.
type people struct {
	// labels are each candidate's handle labels, by lower-case email:
	// the group file's handle, then those typed on the join page.
	labels map[string][]string
	// typed are the labels of the handles the roster's people typed on
	// the join page, each with their lower-case email, in the order they
	// joined.
	typed []claim
	// waiting: joined, neither let in nor declined yet.
	waiting map[string]bool
}

type claim struct{ email, label string }

// readPeople reads the joins of the roster g's group.
func readPeople(ctx context.Context, st store.Store, g *groups.Group) (*people, error) {
	joins, err := st.Joins().List(ctx, g.Name)
	if err != nil {
		return nil, err
	}
	ps := &people{labels: map[string][]string{}, waiting: map[string]bool{}}
	for _, m := range g.Members {
		email := strings.ToLower(m.Email)
		ps.labels[email] = append(ps.labels[email], follows.HandleLabels(m.Handle)...)
	}
	for _, j := range joins {
		email := strings.ToLower(j.Email)
		if !candidate(g, email) {
			// Their handles name the owner of what they upload; they
			// claim no label in the graph until they are let in.
			if j.Decision != store.JoinDeclined {
				ps.waiting[email] = true
				ps.labels[email] = joinLabels(j)
			}
			continue
		}
		for _, l := range joinLabels(j) {
			ps.labels[email] = append(ps.labels[email], l)
			ps.typed = append(ps.typed, claim{email, l})
		}
	}
	return ps, nil
}

// joinLabels are the labels of the handles a person typed on the join
// page (web's join form checked their shapes). A Bluesky handle names no
// label (repositories hold DIDs): such a person is matched through their
// own repository.
func joinLabels(j store.Join) []string {
	var out []string
	for _, h := range []struct {
		n follows.Network
		v string
	}{{follows.X, j.X}, {follows.Meta, j.Instagram}} {
		if v := strings.TrimPrefix(h.v, "@"); v != "" {
			out = append(out, follows.HandleLabels(string(h.n)+":"+v)...)
		}
	}
	if j.Fediverse != "" {
		out = append(out, follows.HandleLabels(j.Fediverse)...)
	}
	return out
}

// identitiesOf maps every label that names a candidate to their email,
// the stronger claim winning: the handles typed on the join page (the
// first to claim a label keeps it), then the handles in the group file,
// then the identities of the exports imported for each. ps nil leaves
// the typed handles out.
func identitiesOf(g *groups.Group, ps *people, imps []store.FollowImport) map[string]string {
	known := map[string]string{}
	if ps != nil {
		for _, c := range ps.typed {
			if _, ok := known[c.label]; !ok {
				known[c.label] = c.email
			}
		}
	}
	for _, m := range g.Members {
		for _, l := range follows.HandleLabels(m.Handle) {
			known[l] = strings.ToLower(m.Email)
		}
	}
	for _, imp := range imps {
		if !candidate(g, imp.Email) {
			continue
		}
		for _, l := range append([]string{imp.Self}, imp.Aliases...) {
			known[l] = imp.Email
		}
	}
	return known
}

// Graph is the group's follow graph. Its first nodes are the candidates
// (the lead, then the roster's members: the file's, then the joins let
// in), each labelled with their email; everyone else keeps their network label (x:…,
// bsky:…), which only the lead may see.
type Graph struct {
	*analyze.Graph
	// Members is the number of candidate nodes: ids 0 to Members-1.
	Members int
	// Node is each candidate's node, by lower-case email.
	Node map[string]int32
	// Imported is whether a candidate has follows of their own imported,
	// by node: only then does "of the people you follow" mean something.
	Imported []bool
	// Imports are what was imported for each candidate, by lower-case
	// email: for their own page.
	Imports map[string][]Imported
}

// Lead is the lead's node: the centre of the lead's own data.
const Lead int32 = 0

// Load reads the group's graph from the store. g is the group's roster
// (campaign.Roster): the file's members and the joins let in. Imports of
// people not on it are left out. The graph is kept while the group's
// imports, people and their handles stay the same (every page and every
// tick asks for it), and shared: callers must not change it.
func Load(ctx context.Context, st store.Store, g *groups.Group) (*Graph, error) {
	version, err := st.Follows().Version(ctx, g.Name)
	if err != nil {
		return nil, err
	}
	ps, err := readPeople(ctx, st, g)
	if err != nil {
		return nil, err
	}
	key := cacheKey{st: st, group: g.Name}
	stamp := version + "\x00" + membersStamp(g, ps)
	cache.Lock()
	c, ok := cache.m[key]
	cache.Unlock()
	if ok && c.stamp == stamp {
		return c.graph, nil
	}
	imps, err := st.Follows().List(ctx, g.Name)
	if err != nil {
		return nil, err
	}
	gg := build(g, ps, imps)
	cache.Lock()
	if len(cache.m) >= maxCached {
		clear(cache.m) // transactions' stores come and go
	}
	cache.m[key] = cached{stamp: stamp, graph: gg}
	cache.Unlock()
	return gg, nil
}

// The graphs built, by store and group.
var cache = struct {
	sync.Mutex
	m map[cacheKey]cached
}{m: map[cacheKey]cached{}}

const maxCached = 64

type cacheKey struct {
	st    store.Store
	group string
}

type cached struct {
	stamp string
	graph *Graph
}

// membersStamp changes whenever the roster's people or their handles do.
func membersStamp(g *groups.Group, ps *people) string {
	var b strings.Builder
	b.WriteString(g.Lead.Email)
	for _, m := range g.Members {
		b.WriteString("\x00" + m.Email + "\x01" + m.Handle)
	}
	for _, c := range ps.typed {
		b.WriteString("\x00" + c.email + "\x01" + c.label)
	}
	return b.String()
}

func build(g *groups.Group, ps *people, imps []store.FollowImport) *Graph {
	known := identitiesOf(g, ps, imps)
	cands := candidates(g)
	name := func(l string) string {
		if email, ok := known[l]; ok {
			return email
		}
		return l
	}
	var edges [][2]string
	mine := map[string][]Imported{}
	for _, imp := range imps {
		if !candidate(g, imp.Email) {
			continue
		}
		info := Imported{Self: imp.Self, Format: imp.Format}
		for _, e := range imp.Edges {
			edges = append(edges, [2]string{name(e[0]), name(e[1])})
			if e[0] == imp.Self {
				info.Follows++
			} else {
				info.Followers++
			}
		}
		mine[imp.Email] = append(mine[imp.Email], info)
	}
	gg := &Graph{Graph: analyze.FromEdges(cands, edges), Members: len(cands), Node: map[string]int32{},
		Imported: make([]bool, len(cands)), Imports: mine}
	for i, email := range cands {
		gg.Node[email] = int32(i)
		gg.Imported[i] = len(mine[email]) > 0
	}
	return gg
}

// FollowsAmong lists, for each of emails, the indices in emails of those
// they follow: the follows LaunchSet takes.
func (gg *Graph) FollowsAmong(emails []string) [][]int32 {
	at := make([]int32, gg.Members)
	for i := range at {
		at[i] = -1
	}
	for i, e := range emails {
		if v, ok := gg.Node[strings.ToLower(e)]; ok {
			at[v] = int32(i)
		}
	}
	out := make([][]int32, len(emails))
	for i, e := range emails {
		v, ok := gg.Node[strings.ToLower(e)]
		if !ok {
			continue
		}
		for _, u := range gg.Out(v) {
			if int(u) < gg.Members && at[u] >= 0 {
				out[i] = append(out[i], at[u])
			}
		}
	}
	return out
}

// Kept is one member's retention: of the Follows people they follow,
// Going are in the launch set. "34 of the 80 people you follow are going."
type Kept struct {
	Going   int `json:"going"`
	Follows int `json:"follows"`
}

func (k Kept) String() string {
	return fmt.Sprintf("%d of the %d %s you follow %s going", k.Going, k.Follows, plural(k.Follows, "person", "people"), plural(k.Going, "is", "are"))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Retention is each candidate's Kept for the launch set going (by
// lower-case email), for those with follows of their own imported.
func (gg *Graph) Retention(going map[string]bool) map[string]Kept {
	in := make([]bool, gg.Members)
	for email, v := range gg.Node {
		in[v] = going[email]
	}
	out := map[string]Kept{}
	for email, v := range gg.Node {
		if !gg.Imported[v] {
			continue
		}
		k := Kept{Follows: len(gg.Out(v))}
		for _, u := range gg.Out(v) {
			if int(u) < gg.Members && in[u] {
				k.Going++
			}
		}
		out[email] = k
	}
	return out
}

// Analyze answers analyze's questions on the group's imported graph
// (the TUI's analysis screen and `lifeboat analyze GROUP.yaml` call it),
// g being the group's roster (campaign.Roster).
// The lead's network is the starting point: the viable set is sought
// among the lead and the members, whose node labels are their emails;
// the people they follow outside the group are there for the communities
// and the growth suggestions, and only the lead may see them. Draw the
// picture with the report's WriteSVG and LeadLabel at the centre.
func Analyze(ctx context.Context, st store.Store, g *groups.Group, o analyze.Options) (*analyze.Report, error) {
	start := time.Now()
	gg, err := Load(ctx, st, g)
	if err != nil {
		return nil, err
	}
	o.Within = make([]bool, gg.N())
	for v := range gg.Members {
		o.Within[v] = true
	}
	return analyze.Analyze(gg.Graph, o, start), nil
}

// LeadLabel is the lead's label in the group's graph.
func LeadLabel(g *groups.Group) string { return strings.ToLower(g.Lead.Email) }
