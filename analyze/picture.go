package analyze

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"math"
	"slices"
)

// Picture limits: past a few thousand dots a picture says nothing more,
// and the viable set is drawn first.
const (
	maxDots  = 1500
	maxLines = 3000
)

var palette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"}

// WriteSVG draws the analysis: one dot per person coloured by community
// (the ten largest; the rest grey), the viable set on the inner ring
// inside a dashed outline, the others outside it, each community in its
// own sector, and lead (a label; optional) at the centre. Follows between
// the people drawn are faint lines.
func (r *Report) WriteSVG(w io.Writer, lead string) error {
	g := r.graph
	const size, mid = 800.0, 400.0
	// Who is drawn: the lead, then the viable set, then the rest, in
	// community order so each community's dots sit together.
	order := make([]int32, 0, g.N())
	for v := range int32(g.N()) {
		order = append(order, v)
	}
	slices.SortStableFunc(order, func(a, b int32) int {
		if r.viableSet[a] != r.viableSet[b] {
			if r.viableSet[a] {
				return -1
			}
			return 1
		}
		return int(r.community[a] - r.community[b])
	})
	if len(order) > maxDots {
		order = order[:maxDots]
	}
	slices.SortStableFunc(order, func(a, b int32) int { return int(r.community[a] - r.community[b]) })
	leadID := int32(-1)
	for v, l := range g.Labels {
		if l == lead {
			leadID = int32(v)
		}
	}
	pos := make(map[int32][2]float64, len(order))
	var inner, outer []int32
	for _, v := range order {
		switch {
		case v == leadID:
		case r.viableSet[v]:
			inner = append(inner, v)
		default:
			outer = append(outer, v)
		}
	}
	place := func(ring []int32, radius float64) {
		for i, v := range ring {
			a := 2 * math.Pi * float64(i) / float64(len(ring))
			rr := radius + 18*float64(i%3) // three staggered rows keep dots apart
			pos[v] = [2]float64{mid + rr*math.Cos(a), mid + rr*math.Sin(a)}
		}
	}
	place(inner, 170)
	place(outer, 300)
	if leadID >= 0 {
		pos[leadID] = [2]float64{mid, mid}
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f">`+"\n", size, size, size, size)
	fmt.Fprintf(bw, `<rect width="100%%" height="100%%" fill="#ffffff"/>`+"\n")
	lines := 0
	fmt.Fprintln(bw, `<g stroke="#999999" stroke-opacity="0.15" stroke-width="0.5">`)
	for _, u := range order {
		for _, v := range g.Out(u) {
			pv, ok := pos[v]
			if !ok || lines >= maxLines {
				continue
			}
			pu := pos[u]
			fmt.Fprintf(bw, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`+"\n", pu[0], pu[1], pv[0], pv[1])
			lines++
		}
	}
	fmt.Fprintln(bw, `</g>`)
	fmt.Fprintf(bw, `<circle cx="%.0f" cy="%.0f" r="%.0f" fill="none" stroke="#222222" stroke-width="2" stroke-dasharray="8 6"/>`+"\n", mid, mid, 235.0)
	for _, v := range order {
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
