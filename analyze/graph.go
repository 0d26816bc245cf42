// Package analyze answers the question an escape starts with: within a
// follow graph, which subgroup is big enough and self-contained enough
// that each of its members would find it worth staying?
//
// Graphs are held with compact integer ids and CSR adjacency (offsets
// into one flat slice of neighbour ids), so a million follows take a few
// megabytes and the hot loops index slices instead of maps.
package analyze

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
)

// Graph is a directed follow graph: node v follows Out(v) and is followed
// by In(v). Self-follows and repeated follows are dropped on reading.
type Graph struct {
	// Labels are the nodes' names exactly as written in the input, by id.
	Labels []string

	outStart, out []int32
	inStart, in   []int32
}

// N is the number of nodes.
func (g *Graph) N() int { return len(g.Labels) }

// Edges is the number of distinct follows.
func (g *Graph) Edges() int { return len(g.out) }

// Out is the nodes v follows, in increasing id order.
func (g *Graph) Out(v int32) []int32 { return g.out[g.outStart[v]:g.outStart[v+1]] }

// In is the nodes that follow v, in increasing id order.
func (g *Graph) In(v int32) []int32 { return g.in[g.inStart[v]:g.inStart[v+1]] }

// Limits of an edge list: labels are handles or numeric ids, and the
// largest graph the design expects is tens of millions of follows.
const (
	MaxLabel = 256
	MaxEdges = 200_000_000
)

// ErrFormat is a line of an edge list that is not `FOLLOWER FOLLOWEE`.
var ErrFormat = errors.New("not an edge list line")

// LineError says which line of the input is wrong.
type LineError struct {
	Line int
	Err  error
	Msg  string
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }
func (e *LineError) Unwrap() error { return e.Err }

// ReadEdges reads an edge list in the SNAP format: one `FOLLOWER FOLLOWEE`
// pair per line, separated by spaces or tabs, `#` starting a comment line.
// It streams the input: only the interned labels and the edges are kept.
func ReadEdges(r io.Reader) (*Graph, error) {
	b := newBuilder()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 2*MaxLabel+64)
	line := 0
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 || text[0] == '#' {
			continue
		}
		from, rest := field(text)
		to, rest := field(rest)
		if len(to) == 0 || len(bytes.TrimSpace(rest)) != 0 {
			return nil, &LineError{Line: line, Err: ErrFormat, Msg: "want two names, FOLLOWER FOLLOWEE, separated by a space or tab"}
		}
		if len(from) > MaxLabel || len(to) > MaxLabel {
			return nil, &LineError{Line: line, Err: ErrFormat, Msg: fmt.Sprintf("a name is longer than %d bytes", MaxLabel)}
		}
		if len(b.src) >= MaxEdges {
			return nil, &LineError{Line: line, Err: ErrFormat, Msg: fmt.Sprintf("more than %d edges; analyse a smaller part of the network", MaxEdges)}
		}
		b.add(from, to)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, &LineError{Line: line + 1, Err: ErrFormat, Msg: "the line is too long for an edge list"}
		}
		return nil, err
	}
	return b.build(), nil
}

// FromEdges builds a graph of the given follows (FOLLOWER FOLLOWEE label
// pairs). The nodes labels lists come first, with ids 0, 1, … in that
// order, whether or not they follow anyone.
func FromEdges(labels []string, edges [][2]string) *Graph {
	b := newBuilder()
	for _, l := range labels {
		b.id([]byte(l))
	}
	for _, e := range edges {
		b.add([]byte(e[0]), []byte(e[1]))
	}
	return b.build()
}

// field splits off the first space- or tab-separated field.
func field(b []byte) (f, rest []byte) {
	b = bytes.TrimLeft(b, " \t")
	i := bytes.IndexAny(b, " \t")
	if i < 0 {
		return b, nil
	}
	return b[:i], b[i:]
}

// builder interns labels and collects edges before the CSR is made.
type builder struct {
	ids      map[string]int32
	labels   []string
	src, dst []int32
}

func newBuilder() *builder { return &builder{ids: map[string]int32{}} }

func (b *builder) id(label []byte) int32 {
	if id, ok := b.ids[string(label)]; ok { // no allocation for the look-up
		return id
	}
	id := int32(len(b.labels))
	s := string(label)
	b.ids[s] = id
	b.labels = append(b.labels, s)
	return id
}

func (b *builder) add(from, to []byte) {
	u, v := b.id(from), b.id(to)
	if u != v {
		b.src, b.dst = append(b.src, u), append(b.dst, v)
	}
}

// build makes both CSR directions, dropping repeated edges.
func (b *builder) build() *Graph {
	n := len(b.labels)
	g := &Graph{Labels: b.labels}
	g.outStart, g.out = csr(n, b.src, b.dst)
	b.ids, b.src, b.dst = nil, nil, nil
	// The in-direction from the deduplicated out-direction: filling it in
	// source order keeps each row sorted without another sort.
	g.inStart = make([]int32, n+1)
	for _, v := range g.out {
		g.inStart[v+1]++
	}
	for i := range n {
		g.inStart[i+1] += g.inStart[i]
	}
	g.in = make([]int32, len(g.out))
	next := slices.Clone(g.inStart[:n])
	for u := range int32(n) {
		for _, v := range g.Out(u) {
			g.in[next[v]] = u
			next[v]++
		}
	}
	return g
}

// csr groups the edges by source, each row sorted and without repeats.
func csr(n int, src, dst []int32) (start, adj []int32) {
	start = make([]int32, n+1)
	for _, u := range src {
		start[u+1]++
	}
	for i := range n {
		start[i+1] += start[i]
	}
	adj = make([]int32, len(src))
	next := slices.Clone(start[:n])
	for i, u := range src {
		adj[next[u]] = dst[i]
		next[u]++
	}
	// Sort and compact each row in place, then close the gaps.
	w := int32(0)
	for u := range n {
		row := adj[start[u]:start[u+1]]
		slices.Sort(row)
		row = slices.Compact(row)
		start[u] = w
		w += int32(copy(adj[w:], row))
	}
	start[n] = w
	return start, adj[:w:w]
}
