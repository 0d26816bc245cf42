package analyze

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"math"
	"slices"
)

// Picture limits: past a thousand or so dots a picture says nothing more.
const (
	maxInner = 900 // of the viable set
	maxOuter = 600 // of the others
	maxLines = 3000
)

var palette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"}

// WriteSVG draws the analysis: one dot per person coloured by community
// (the ten largest; the rest grey), the viable set inside the dashed ring
// and the others outside it, each community a cluster of its own, and
// lead (a label; optional) at the centre. Follows between the people
// drawn are faint lines. Large graphs are drawn from an even sample.
func (r *Report) WriteSVG(w io.Writer, lead string) error {
	g := r.graph
	const size, mid = 800.0, 400.0
	drawn, pos, leadID := r.layout(lead)
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f">`+"\n", size, size, size, size)
	fmt.Fprintf(bw, `<rect width="100%%" height="100%%" fill="#ffffff"/>`+"\n")
	lines := 0
	fmt.Fprintln(bw, `<g stroke="#999999" stroke-opacity="0.15" stroke-width="0.5">`)
	total := 0
	for _, u := range drawn {
		for _, v := range g.Out(u) {
			if _, ok := pos[v]; ok {
				total++
			}
		}
	}
	stride := max(1, total/maxLines)
	seen := 0
	for _, u := range drawn {
		for _, v := range g.Out(u) {
			pv, ok := pos[v]
			if !ok {
				continue
			}
			if seen++; seen%stride != 0 {
				continue
			}
			pu := pos[u]
			fmt.Fprintf(bw, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`+"\n", pu[0], pu[1], pv[0], pv[1])
			lines++
		}
	}
	fmt.Fprintln(bw, `</g>`)
	fmt.Fprintf(bw, `<circle cx="%.0f" cy="%.0f" r="%.0f" fill="none" stroke="#222222" stroke-width="2" stroke-dasharray="8 6"/>`+"\n", mid, mid, Ring*size)
	for _, v := range drawn {
		p := pos[v]
		colour := "#cccccc"
		if c := int(r.community[v]); c < len(palette) {
			colour = palette[c]
		}
		radius := 3.0
		if v == leadID {
			radius = 9
		}
		fmt.Fprintf(bw, `<circle cx="%.1f" cy="%.1f" r="%.0f" fill="%s"><title>%s</title></circle>`+"\n", p[0], p[1], radius, colour, html.EscapeString(g.Labels[v]))
	}
	fmt.Fprintf(bw, `<text x="12" y="24" font-family="sans-serif" font-size="15">viable set: %d of %d (everyone follows at least %d others inside); modularity %.2f</text>`+"\n",
		r.ViableSize, r.Nodes, r.MinFollows, r.Modularity)
	fmt.Fprintln(bw, `</svg>`)
	return bw.Flush()
}

// Ring is the radius of the dashed ring around the viable set, as a
// share of the picture's side.
const Ring = 235.0 / 800

// layout places the people the picture draws, on a side of 800: the
// viable set inside the ring, the others outside, each community a
// cluster of its own, the lead (-1: none) at the centre.
func (r *Report) layout(lead string) (drawn []int32, pos map[int32][2]float64, leadID int32) {
	g := r.graph
	const mid = 400.0
	leadID = -1
	for v, l := range g.Labels {
		if l == lead {
			leadID = int32(v)
		}
	}
	var inner, outer []int32
	for v := range int32(g.N()) {
		switch {
		case v == leadID:
		case r.viableSet[v]:
			inner = append(inner, v)
		default:
			outer = append(outer, v)
		}
	}
	inner, outer = sample(inner, maxInner), sample(outer, maxOuter)
	pos = make(map[int32][2]float64, len(inner)+len(outer)+1)
	r.cluster(pos, inner, mid, 140)
	r.cluster(pos, outer, mid, 320)
	if leadID >= 0 {
		pos[leadID] = [2]float64{mid, mid}
	}
	drawn = append(append([]int32{}, inner...), outer...)
	if leadID >= 0 {
		drawn = append(drawn, leadID)
	}
	return drawn, pos, leadID
}

// Dot is one person as the picture places them: X and Y from 0 to 1
// (the lead at the centre), their community (0 is the largest), and
// whether they are in the viable set or are the lead.
type Dot struct {
	X, Y         float64
	Community    int
	Viable, Lead bool
}

// Layout is the picture as dots, for drawing it elsewhere than in SVG
// (the TUI draws it in the terminal): the same people in the same places
// as WriteSVG draws them.
func (r *Report) Layout(lead string) []Dot {
	drawn, pos, leadID := r.layout(lead)
	out := make([]Dot, len(drawn))
	for i, v := range drawn {
		p := pos[v]
		out[i] = Dot{X: p[0] / 800, Y: p[1] / 800, Community: int(r.community[v]), Viable: r.viableSet[v], Lead: v == leadID}
	}
	return out
}

// sample keeps at most n of vs, evenly spread.
func sample(vs []int32, n int) []int32 {
	if len(vs) <= n {
		return vs
	}
	out := make([]int32, 0, n)
	for i := range n {
		out = append(out, vs[i*len(vs)/n])
	}
	return out
}

// cluster places vs around a ring of the given radius: each community
// gets an arc in proportion to its size, and its dots fill a disc at the
// arc's middle, in a sunflower spiral so that they do not overlap.
func (r *Report) cluster(pos map[int32][2]float64, vs []int32, mid, radius float64) {
	slices.SortStableFunc(vs, func(a, b int32) int { return int(r.community[a] - r.community[b]) })
	for i := 0; i < len(vs); {
		j := i
		for j < len(vs) && r.community[vs[j]] == r.community[vs[i]] {
			j++
		}
		// The arc's middle, as a share of the ring.
		at := (float64(i) + float64(j-i)/2) / float64(len(vs))
		cx := mid + radius*math.Cos(2*math.Pi*at)
		cy := mid + radius*math.Sin(2*math.Pi*at)
		for k, v := range vs[i:j] {
			d := 4.2 * math.Sqrt(float64(k))
			a := float64(k) * 2.39996 // the golden angle
			pos[v] = [2]float64{cx + d*math.Cos(a), cy + d*math.Sin(a)}
		}
		i = j
	}
}
