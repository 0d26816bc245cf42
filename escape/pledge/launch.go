package pledge

import "sort"

// Condition is what one pledge asks before its member goes: at least
// Others other pledgers going, and at least Follows of the people the
// member follows (counted in their own imported follows). Zero or less is
// no condition.
type Condition struct {
	Others  int
	Follows int
}

// LaunchSet is who would go: the largest set S of pledgers in which every
// member's conditions hold, with |S|-1 others going and, of the pledgers
// they follow (follows[i] lists the indices i follows; nil for nobody), at
// least Follows in S.
//
// Both conditions are monotone (whoever is satisfied in a set is
// satisfied in any larger one), so S is unique: the union of all sets
// that work works too. Peeling finds it: start from everyone and drop
// whoever is not satisfied, until nobody is left to drop. Each pledger
// leaves once and each follow is looked at once when its followee leaves,
// so the work is O(pledgers + follows).
func LaunchSet(conds []Condition, follows [][]int32) (going []bool, n int) {
	return peel(conds, followersOf(len(conds), follows), 0)
}

// followers is the reverse of follows in CSR form: who follows pledger v
// is adj[start[v]:start[v+1]]. Follows outside the pledgers, of oneself
// and repeated are dropped, so each counts once.
type followers struct {
	start, adj []int32
	follows    []int32 // distinct pledgers each pledger follows
}

func followersOf(n int, follows [][]int32) followers {
	f := followers{start: make([]int32, n+1), follows: make([]int32, n)}
	seen := make([]int32, n) // the last follower to have counted v, plus one
	for u := range min(n, len(follows)) {
		for _, v := range follows[u] {
			if v < 0 || int(v) >= n || int(v) == u || seen[v] == int32(u)+1 {
				continue
			}
			seen[v] = int32(u) + 1
			f.start[v+1]++
			f.follows[u]++
		}
	}
	for i := range n {
		f.start[i+1] += f.start[i]
	}
	f.adj = make([]int32, f.start[n])
	next := append([]int32(nil), f.start[:n]...)
	clear(seen)
	for u := range min(n, len(follows)) {
		for _, v := range follows[u] {
			if v < 0 || int(v) >= n || int(v) == u || seen[v] == int32(u)+1 {
				continue
			}
			seen[v] = int32(u) + 1
			f.adj[next[v]] = int32(u)
			next[v]++
		}
	}
	return f
}

// peel is the launch set of the pledgers with extra more who pledge
// unconditionally and follow nobody (the "what if m more pledged" of
// Explain). The extra never leave: with them the set is never empty, so
// an Others of 0 always holds. n counts the extra too.
func peel(conds []Condition, f followers, extra int) (going []bool, n int) {
	size := len(conds)
	going = make([]bool, size)
	n = size + extra
	// Pledgers by Others, so that each drop in size removes exactly those
	// whose threshold it breaks: byOthers[k] holds those wanting k others.
	// Others above size+extra-1 can never hold: they share the top bucket.
	top := size + extra
	bucketStart := make([]int32, top+2)
	others := func(i int) int { return min(max(conds[i].Others, 0), top) }
	for i := range conds {
		bucketStart[others(i)+1]++
	}
	for k := range top + 1 {
		bucketStart[k+1] += bucketStart[k]
	}
	byOthers := make([]int32, size)
	next := append([]int32(nil), bucketStart[:top+1]...)
	for i := range conds {
		byOthers[next[others(i)]] = int32(i)
		next[others(i)]++
	}
	kept := make([]int32, size) // followees still in the set
	queue := make([]int32, 0, size)
	drop := func(i int32) {
		going[i] = false
		n--
		queue = append(queue, i)
	}
	for i := range conds {
		going[i] = true
		kept[i] = f.follows[i]
	}
	for i := range conds {
		if int(kept[i]) < conds[i].Follows {
			drop(int32(i))
		}
	}
	hi := top // the largest Others not yet dropped for
	for {
		for hi >= 0 && hi > n-1 {
			for _, i := range byOthers[bucketStart[hi]:bucketStart[hi+1]] {
				if going[i] {
					drop(i)
				}
			}
			hi--
		}
		if len(queue) == 0 {
			return going, n
		}
		v := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		// v has left: whoever follows v keeps one followee fewer.
		for _, u := range f.adj[f.start[v]:f.start[v+1]] {
			if !going[u] {
				continue
			}
			kept[u]--
			if int(kept[u]) < conds[u].Follows {
				drop(u)
			}
		}
	}
}

// ExplainSet computes the outlook of a group of members people needing
// viableMass, with the given pledges' conditions and follows among the
// pledgers (as for LaunchSet).
//
// The "what if m more pledged" answers imagine m unconditional pledgers
// whom nobody follows. The pledgers they bring along can only grow with
// m (the conditions are monotone), so the smallest m for each answer is
// found by bisection.
func ExplainSet(conds []Condition, follows [][]int32, members, viableMass int) Outlook {
	f := followersOf(len(conds), follows)
	o := Outlook{Members: members, ViableMass: viableMass, Pledged: len(conds)}
	_, o.Going = peel(conds, f, 0)
	o.Waiting = o.Pledged - o.Going
	o.Viable = o.Going >= viableMass
	left := max(members-len(conds), 0) // who could still pledge
	size := func(m int) int { _, k := peel(conds, f, m); return k }
	o.NeedForViable = -1
	if o.Viable {
		o.NeedForViable = 0
	} else if m := 1 + sort.Search(left, func(i int) bool { return size(i+1) >= viableMass }); m <= left {
		o.NeedForViable = m
	}
	if o.Waiting > 0 {
		if m := 1 + sort.Search(left, func(i int) bool { return size(i+1)-(i+1) > o.Going }); m <= left {
			o.NextMore, o.NextBrings = m, size(m)-m-o.Going
		}
	}
	return o
}
