package analyze

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
)

func read(t *testing.T, text string) *Graph {
	t.Helper()
	g, err := ReadEdges(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestReadEdges(t *testing.T) {
	g := read(t, "# a comment\n\nada ben\nada\tcleo\n  ben ada  \nada ben\ncleo cleo\ndev ada\n")
	if g.N() != 4 || g.Edges() != 4 {
		t.Fatalf("%d nodes, %d edges; want 4 and 4 (repeats and self-follows dropped)", g.N(), g.Edges())
	}
	if strings.Join(g.Labels, ",") != "ada,ben,cleo,dev" {
		t.Fatalf("labels %v", g.Labels)
	}
	if fmt.Sprint(g.Out(0), g.In(0), g.In(1), g.Out(2)) != "[1 2] [1 3] [0] []" {
		t.Fatalf("adjacency: out(ada)=%v in(ada)=%v in(ben)=%v out(cleo)=%v", g.Out(0), g.In(0), g.In(1), g.Out(2))
	}
	for _, c := range []struct {
		text string
		line int
	}{
		{"ada ben\nada\n", 2},
		{"# x\nada ben cleo\n", 2},
		{"ada " + strings.Repeat("x", MaxLabel+1) + "\n", 1},
		{"a b\n" + strings.Repeat("y", 4*MaxLabel) + "\n", 2},
	} {
		_, err := ReadEdges(strings.NewReader(c.text))
		var le *LineError
		if !errors.As(err, &le) || le.Line != c.line || !errors.Is(err, ErrFormat) {
			t.Errorf("%.30q: %v, want an error on line %d", c.text, err, c.line)
		}
	}
}

// randomGraph has n nodes, each following each other with probability p.
func randomGraph(rng *rand.Rand, n int, p float64) string {
	var b strings.Builder
	for u := range n {
		for v := range n {
			if u != v && rng.Float64() < p {
				fmt.Fprintf(&b, "n%d n%d\n", u, v)
			}
		}
	}
	// Every node appears, following nobody at worst.
	for u := range n {
		fmt.Fprintf(&b, "n%d n%d\n", u, u)
	}
	return b.String()
}

// Viable against brute force: the largest subset in which everyone
// follows at least k others inside it, over every subset of small graphs.
func TestViableAgainstBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 300 {
		n := 2 + rng.IntN(9)
		g := read(t, randomGraph(rng, n, rng.Float64()))
		k := rng.IntN(4)
		// Half the trials start from a random part of the graph.
		var start []bool
		within := 1<<n - 1
		if trial%2 == 1 {
			within = rng.IntN(1 << n)
			start = make([]bool, n)
			for v := range n {
				start[v] = within&(1<<v) != 0
			}
		}
		got := g.ViableWithin(k, start)
		best := -1
		for s := range 1 << n {
			ok := s&^within == 0
			for v := range int32(n) {
				if s&(1<<v) == 0 {
					continue
				}
				inside := 0
				for _, u := range g.Out(v) {
					if s&(1<<u) != 0 {
						inside++
					}
				}
				if inside < k {
					ok = false
					break
				}
			}
			if ok && (best < 0 || popcount(s) > popcount(best)) {
				best = s
			}
		}
		for v := range n {
			if got[v] != (best&(1<<v) != 0) {
				t.Fatalf("trial %d, k=%d: peeling %v, brute force %b", trial, k, got, best)
			}
		}
	}
}

func popcount(s int) int {
	n := 0
	for ; s > 0; s &= s - 1 {
		n++
	}
	return n
}

func TestRetentionAndSuggestions(t *testing.T) {
	// ada, ben and cleo follow each other; each also follows dev, whom
	// nobody else is with; eve is followed by ada only.
	g := read(t, "ada ben\nada cleo\nben ada\nben cleo\ncleo ada\ncleo ben\nada dev\nben dev\ncleo dev\nada eve\n")
	set := g.Viable(2)
	if fmt.Sprint(set) != "[true true true false false]" {
		t.Fatalf("viable %v", set)
	}
	r := g.Retention(set)
	if math.Abs(r[0]-0.5) > 1e-9 || math.Abs(r[1]-2.0/3) > 1e-9 || r[3] != -1 {
		t.Fatalf("retention %v", r)
	}
	if s := SpreadOf(r); math.Abs(s.Min-0.5) > 1e-9 || math.Abs(s.Median-2.0/3) > 1e-9 {
		t.Fatalf("spread %+v", s)
	}
	sug := g.Suggest(set, 5)
	if len(sug) != 2 || g.Labels[sug[0].Node] != "dev" || sug[0].FollowedBy != 3 || g.Labels[sug[1].Node] != "eve" {
		t.Fatalf("suggestions %+v", sug)
	}
	// With dev in, ada keeps 3 of 4 and dev, who follows nobody, is not counted.
	if math.Abs(sug[0].MinAfter-0.75) > 1e-9 {
		t.Fatalf("min after dev: %v", sug[0].MinAfter)
	}
}

// Two cliques joined by one edge split into the two cliques, and the
// modularity reported is the partition's.
func TestCommunitiesTwoCliques(t *testing.T) {
	g := read(t, cliques([]string{"a1", "a2", "a3", "a4", "a5"}, []string{"b1", "b2", "b3", "b4", "b5"})+"a1 b1\n")
	comm, q := g.Communities(1)
	for i, l := range g.Labels {
		want := int32(0)
		if l[0] != g.Labels[0][0] {
			want = 1
		}
		if comm[i] != want {
			t.Fatalf("communities %v of %v", comm, g.Labels)
		}
	}
	// 21 undirected edges, 10 inside each clique; both halves have
	// strength 21: Q = 2*(20/42 - (21/42)^2).
	if want := 2 * (20.0/42 - 0.25); math.Abs(q-want) > 1e-9 || math.Abs(g.Modularity(comm)-want) > 1e-9 {
		t.Fatalf("modularity %v, want %v", q, want)
	}
}

// On planted partitions Louvain finds the plant (NMI near 1) and no
// partition it reports is worse than the plant's own modularity by much.
func TestCommunitiesPlanted(t *testing.T) {
	var b strings.Builder
	if _, err := WritePlanted(&b, 2000, 20, 12000, 0.9, 7); err != nil {
		t.Fatal(err)
	}
	g := read(t, b.String())
	comm, q := g.Communities(3)
	truth := make([]int32, g.N())
	for i, l := range g.Labels {
		v, _ := strconv.Atoi(l)
		truth[i] = int32(v % 20)
	}
	if nmi := NMI(comm, truth); nmi < 0.9 {
		t.Fatalf("NMI %.3f", nmi)
	}
	if qp := g.Modularity(truth); q < qp-0.01 {
		t.Fatalf("modularity %.4f below the plant's %.4f", q, qp)
	}
}

// Layout places the viable set inside the ring and everyone else
// outside it, the lead at the centre, each dot with its community.
func TestLayout(t *testing.T) {
	g := read(t, cliques([]string{"a1", "a2", "a3", "a4", "a5"}, []string{"b1", "b2", "b3"})+"a1 b1\nc1 a1\n")
	r := Analyze(g, Options{MinFollows: 4}, time.Now())
	dots := r.Layout("a1")
	if len(dots) != g.N() {
		t.Fatalf("%d dots for %d people", len(dots), g.N())
	}
	leads, viable := 0, 0
	for _, d := range dots {
		dist := math.Hypot(d.X-0.5, d.Y-0.5)
		switch {
		case d.Lead:
			leads++
			if dist > 1e-9 || !d.Viable {
				t.Errorf("the lead at %v, viable %v", dist, d.Viable)
			}
		case d.Viable:
			viable++
			if dist >= Ring {
				t.Errorf("a viable dot outside the ring: %v", dist)
			}
		default:
			if dist <= Ring {
				t.Errorf("a dot outside the viable set inside the ring: %v", dist)
			}
		}
		if d.Community < 0 || d.Community >= len(r.Communities) {
			t.Errorf("community %d of %d", d.Community, len(r.Communities))
		}
	}
	if leads != 1 || viable+1 != r.ViableSize || r.ViableSize != 5 {
		t.Errorf("%d leads, %d viable besides, viable size %d (want the five a's)", leads, viable, r.ViableSize)
	}
}

// cliques is an edge list in which everyone in each clique follows
// everyone else in it.
func cliques(cs ...[]string) string {
	var b strings.Builder
	for _, clique := range cs {
		for _, u := range clique {
			for _, v := range clique {
				if u != v {
					fmt.Fprintf(&b, "%s %s\n", u, v)
				}
			}
		}
	}
	return b.String()
}
