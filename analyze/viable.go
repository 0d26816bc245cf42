package analyze

import "slices"

// Viable is the largest set of nodes in which everyone follows at least k
// others inside the set. Being in it is monotone (a member who qualifies
// in a set still qualifies in any larger one), so the largest set is
// unique and peeling finds it: drop everyone who follows fewer than k of
// those left, until nobody does. Each follow is looked at once, O(edges).
// On a graph whose follows all go both ways it is the k-core.
//
// The set may fall into several parts that do not touch each other; each
// part holds on its own, and the whole set is returned.
func (g *Graph) Viable(k int) []bool { return g.ViableWithin(k, nil) }

// ViableWithin is Viable with the peeling started from the nodes in start
// (nil: every node): the largest set inside start in which everyone
// follows at least k others inside the set. A group's graph starts from
// its members, since the people they follow who are not members cannot
// be in it.
func (g *Graph) ViableWithin(k int, start []bool) []bool {
	n := g.N()
	in := make([]bool, n)
	deg := make([]int32, n) // follows inside the set
	queue := make([]int32, 0, n)
	for v := range int32(n) {
		in[v] = start == nil || start[v]
	}
	for v := range int32(n) {
		if !in[v] {
			continue
		}
		if start == nil {
			deg[v] = int32(len(g.Out(v)))
		} else {
			// Against start, not in: those dropped in this loop are
			// taken off their followers' counts from the queue.
			for _, u := range g.Out(v) {
				if start[u] {
					deg[v]++
				}
			}
		}
		if int(deg[v]) < k {
			in[v] = false
			queue = append(queue, v)
		}
	}
	for len(queue) > 0 {
		v := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		// v has left: whoever follows v now follows one fewer inside.
		for _, u := range g.In(v) {
			if !in[u] {
				continue
			}
			deg[u]--
			if int(deg[u]) < k {
				in[u] = false
				queue = append(queue, u)
			}
		}
	}
	return in
}

// Retention is, for each node in set, the share of the people it follows
// who are in the set too ("34 of the 80 people you follow are going");
// nodes outside the set, and nodes that follow nobody, get -1.
func (g *Graph) Retention(set []bool) []float64 {
	r := make([]float64, g.N())
	for v := range int32(g.N()) {
		out := g.Out(v)
		if !set[v] || len(out) == 0 {
			r[v] = -1
			continue
		}
		kept := 0
		for _, u := range out {
			if set[u] {
				kept++
			}
		}
		r[v] = float64(kept) / float64(len(out))
	}
	return r
}

// Spread is the smallest and the median retention over the set.
type Spread struct {
	Min    float64 `json:"min"`
	Median float64 `json:"median"`
}

// SpreadOf summarises retention values, ignoring the -1 of outsiders.
func SpreadOf(r []float64) Spread {
	var xs []float64
	for _, x := range r {
		if x >= 0 {
			xs = append(xs, x)
		}
	}
	if len(xs) == 0 {
		return Spread{}
	}
	slices.Sort(xs)
	mid := len(xs) / 2
	med := xs[mid]
	if len(xs)%2 == 0 {
		med = (xs[mid-1] + xs[mid]) / 2
	}
	return Spread{Min: xs[0], Median: med}
}

// Suggestion is someone outside the set whom many inside follow.
type Suggestion struct {
	Node       int32
	FollowedBy int     // members of the set who follow them
	MinAfter   float64 // the set's smallest retention if they came too
}

// Suggest names up to limit people outside set, those followed by the
// most members first, with what adding each alone would do to the weakest
// member's retention: the lead's list of whom to invite next.
func (g *Graph) Suggest(set []bool, limit int) []Suggestion {
	count := make([]int32, g.N())
	for v := range int32(g.N()) {
		if set[v] {
			continue
		}
		for _, u := range g.In(v) {
			if set[u] {
				count[v]++
			}
		}
	}
	var cand []int32
	for v, c := range count {
		if c > 0 {
			cand = append(cand, int32(v))
		}
	}
	slices.SortStableFunc(cand, func(a, b int32) int { return int(count[b] - count[a]) })
	if len(cand) > limit {
		cand = cand[:limit]
	}
	out := make([]Suggestion, 0, len(cand))
	for _, c := range cand {
		set[c] = true
		after := SpreadOf(g.Retention(set)).Min
		set[c] = false
		out = append(out, Suggestion{Node: c, FollowedBy: int(count[c]), MinAfter: after})
	}
	return out
}
