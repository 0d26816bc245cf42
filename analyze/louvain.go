package analyze

import (
	"math/rand/v2"
	"slices"
)

// wgraph is an undirected weighted graph in CSR form. Each edge between
// two nodes is stored in both rows; a self-loop once, in its own row.
// The strength of a node is its row's total, and twice the graph's
// weight (m2) is the total of all rows.
type wgraph struct {
	start []int32
	adj   []int32
	w     []float64 // nil: every weight is 1
}

func (g *wgraph) n() int { return len(g.start) - 1 }

func (g *wgraph) weight(i int32) float64 {
	if g.w == nil {
		return 1
	}
	return g.w[i]
}

// Undirected is the follow graph with follows taken both ways: u and v
// are neighbours when either follows the other, each pair once.
func (g *Graph) undirected() *wgraph {
	n := g.N()
	u := &wgraph{start: make([]int32, n+1)}
	// Rows are the merge of two sorted lists; a first pass sizes them.
	for v := range int32(n) {
		u.start[v+1] = u.start[v] + int32(mergedLen(g.Out(v), g.In(v)))
	}
	u.adj = make([]int32, u.start[n])
	for v := range int32(n) {
		merge(u.adj[u.start[v]:u.start[v+1]], g.Out(v), g.In(v))
	}
	return u
}

func mergedLen(a, b []int32) int {
	n, i, j := 0, 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && a[i] < b[j]:
			i++
		case i == len(a) || b[j] < a[i]:
			j++
		default:
			i, j = i+1, j+1
		}
		n++
	}
	return n
}

func merge(dst, a, b []int32) {
	k, i, j := 0, 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && a[i] < b[j]:
			dst[k] = a[i]
			i++
		case i == len(a) || b[j] < a[i]:
			dst[k] = b[j]
			j++
		default:
			dst[k] = a[i]
			i, j = i+1, j+1
		}
		k++
	}
}

// Communities splits the graph, follows taken both ways, into topic
// communities by modularity with the Louvain method: nodes move to the
// neighbouring community that gains the most, then each community becomes
// one node and the moving starts again, until nothing moves. It returns
// each node's community (numbered from 0, largest first) and the
// partition's modularity. seed fixes the order nodes are visited in, so
// a run can be repeated.
func (g *Graph) Communities(seed uint64) (community []int32, modularity float64) {
	base := g.undirected()
	rng := rand.New(rand.NewPCG(seed, 0x4c4f5556))
	member := make([]int32, base.n()) // original node -> node of the current level
	for i := range member {
		member[i] = int32(i)
	}
	cur := base
	for {
		comm, moved := localMoving(cur, rng)
		if !moved {
			break
		}
		k := renumber(comm)
		for i, m := range member {
			member[i] = comm[m]
		}
		if k == cur.n() {
			break
		}
		cur = aggregate(cur, comm, k)
	}
	bySize(member)
	return member, modularityOf(base, member)
}

// localMoving is Louvain's first phase on one level. comm[i] is node i's
// community; moved reports whether any node left its own.
func localMoving(g *wgraph, rng *rand.Rand) (comm []int32, moved bool) {
	n := g.n()
	comm = make([]int32, n)
	k := make([]float64, n)   // node strength
	tot := make([]float64, n) // community strength
	var m2 float64
	for i := range n {
		comm[i] = int32(i)
		for e := g.start[i]; e < g.start[i+1]; e++ {
			k[i] += g.weight(e)
		}
		tot[i] = k[i]
		m2 += k[i]
	}
	if m2 == 0 {
		return comm, false
	}
	order := make([]int32, n)
	for i := range order {
		order[i] = int32(i)
	}
	rng.Shuffle(n, func(a, b int) { order[a], order[b] = order[b], order[a] })
	// Weights from the node being moved to each neighbouring community,
	// in a dense array reset through the list of entries touched.
	wTo := make([]float64, n)
	touched := make([]int32, 0, 64)
	for pass := 0; ; pass++ {
		moves := 0
		for _, i := range order {
			ci := comm[i]
			touched = touched[:0]
			wTo[ci] = 0
			touched = append(touched, ci)
			for e := g.start[i]; e < g.start[i+1]; e++ {
				j := g.adj[e]
				if j == i {
					continue
				}
				cj := comm[j]
				if wTo[cj] == 0 && cj != ci {
					touched = append(touched, cj)
				}
				wTo[cj] += g.weight(e)
			}
			tot[ci] -= k[i]
			best, bestGain := ci, wTo[ci]-tot[ci]*k[i]/m2
			for _, c := range touched {
				if gain := wTo[c] - tot[c]*k[i]/m2; gain > bestGain+1e-12 {
					best, bestGain = c, gain
				}
			}
			tot[best] += k[i]
			if best != ci {
				comm[i] = best
				moves++
				moved = true
			}
			for _, c := range touched {
				wTo[c] = 0
			}
		}
		if moves == 0 || pass > 100 {
			return comm, moved
		}
	}
}

// renumber makes community ids 0..k-1 and returns k.
func renumber(comm []int32) int {
	id := make([]int32, len(comm))
	for i := range id {
		id[i] = -1
	}
	k := int32(0)
	for i, c := range comm {
		if id[c] < 0 {
			id[c] = k
			k++
		}
		comm[i] = id[c]
	}
	return int(k)
}

// aggregate makes each community one node; the weights between
// communities are the sums of the weights between their members, and a
// community's self-loop holds its inside weight.
func aggregate(g *wgraph, comm []int32, k int) *wgraph {
	// Members of each community, grouped (counting sort).
	first := make([]int32, k+1)
	for _, c := range comm {
		first[c+1]++
	}
	for c := range k {
		first[c+1] += first[c]
	}
	nodes := make([]int32, len(comm))
	next := slices.Clone(first[:k])
	for i, c := range comm {
		nodes[next[c]] = int32(i)
		next[c]++
	}
	out := &wgraph{start: make([]int32, k+1)}
	wTo := make([]float64, k)
	seen := make([]bool, k)
	var touched []int32
	for c := range int32(k) {
		touched = touched[:0]
		for _, i := range nodes[first[c]:first[c+1]] {
			for e := g.start[i]; e < g.start[i+1]; e++ {
				d := comm[g.adj[e]]
				if !seen[d] {
					seen[d] = true
					touched = append(touched, d)
				}
				wTo[d] += g.weight(e)
			}
		}
		slices.Sort(touched)
		for _, d := range touched {
			out.adj = append(out.adj, d)
			out.w = append(out.w, wTo[d])
			wTo[d], seen[d] = 0, false
		}
		out.start[c+1] = int32(len(out.adj))
	}
	return out
}

// bySize renumbers communities so that 0 is the largest (ties by lowest
// member), which makes answers stable to read and compare.
func bySize(comm []int32) {
	k := 0
	for _, c := range comm {
		k = max(k, int(c)+1)
	}
	size := make([]int, k)
	firstAt := make([]int, k)
	for i := range firstAt {
		firstAt[i] = len(comm)
	}
	for i, c := range comm {
		size[c]++
		firstAt[c] = min(firstAt[c], i)
	}
	order := make([]int32, k)
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		if size[a] != size[b] {
			return size[b] - size[a]
		}
		return firstAt[a] - firstAt[b]
	})
	rank := make([]int32, k)
	for r, c := range order {
		rank[c] = int32(r)
	}
	for i, c := range comm {
		comm[i] = rank[c]
	}
}

// modularityOf is Newman's modularity of a partition of g.
func modularityOf(g *wgraph, comm []int32) float64 {
	k := 0
	for _, c := range comm {
		k = max(k, int(c)+1)
	}
	in := make([]float64, k)
	tot := make([]float64, k)
	var m2 float64
	for i := range int32(g.n()) {
		for e := g.start[i]; e < g.start[i+1]; e++ {
			w := g.weight(e)
			m2 += w
			tot[comm[i]] += w
			if comm[g.adj[e]] == comm[i] {
				in[comm[i]] += w
			}
		}
	}
	if m2 == 0 {
		return 0
	}
	var q float64
	for c := range k {
		q += in[c]/m2 - (tot[c]/m2)*(tot[c]/m2)
	}
	return q
}

// Modularity is the modularity of a given partition of the graph with
// follows taken both ways (for comparing with other tools' answers).
func (g *Graph) Modularity(comm []int32) float64 { return modularityOf(g.undirected(), comm) }
