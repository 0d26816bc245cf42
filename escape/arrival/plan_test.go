package arrival

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/groups"
)

func TestPlanMesh(t *testing.T) {
	cases := []struct {
		n        int
		software string
		days     int
		whole    bool
		says     string
	}{
		{200, groups.SoftwareGoToSocial, 1, true, "no daily follow limit"},
		{401, groups.SoftwareMastodon, 1, true, "whole on the day everyone arrives"},
		{402, groups.SoftwareMastodon, 2, true, "takes 2 days"},
		{900, groups.SoftwareMastodon, 3, true, "each makes 899, so the mesh takes 3 days"},
		{900, "", 3, true, "If the server runs Mastodon"},
		{7502, groups.SoftwareMastodon, 19, false, "cannot be whole"},
		{1, groups.SoftwareMastodon, 1, true, "each makes 0"},
	}
	for _, c := range cases {
		p := PlanMesh(c.n, c.software)
		if p.Days != c.days || p.Whole != c.whole || !strings.Contains(p.Sentence, c.says) {
			t.Errorf("PlanMesh(%d, %q) = %+v; want %d days, whole %v, saying %q", c.n, c.software, p, c.days, c.whole, c.says)
		}
	}
}

func TestWhen(t *testing.T) {
	now := time.Date(2026, 12, 3, 14, 5, 0, 0, time.UTC)
	for at, want := range map[time.Time]string{
		now.Add(time.Hour):                             "15:05 UTC today",
		time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC):   "00:00 UTC tomorrow",
		time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC):   "Sun 6 Dec 00:00 UTC",
		time.Date(2026, 12, 3, 23, 59, 0, 0, time.UTC): "23:59 UTC today",
	} {
		if got := When(now, at); got != want {
			t.Errorf("When(%s) = %q, want %q", at, got, want)
		}
	}
}

// pairOrder against its definition, checked by brute force: every pair
// once; pairs of one sum disjoint; for each member, the earlier arrivals
// first and oldest first, then the later ones in order.
func TestPairOrder(t *testing.T) {
	for n := 0; n <= 40; n++ {
		order := pairOrder(n)
		if len(order) != n*(n-1)/2 {
			t.Fatalf("n=%d: %d pairs", n, len(order))
		}
		seen := map[[2]int]bool{}
		targets := make([][]int, n)
		inSum := map[int]map[int]bool{}
		for _, p := range order {
			i, j := p[0], p[1]
			if i >= j || j >= n || seen[p] {
				t.Fatalf("n=%d: pair %v bad or repeated", n, p)
			}
			seen[p] = true
			s := i + j
			if inSum[s] == nil {
				inSum[s] = map[int]bool{}
			}
			if inSum[s][i] || inSum[s][j] {
				t.Fatalf("n=%d: a member twice among the pairs of sum %d", n, s)
			}
			inSum[s][i], inSum[s][j] = true, true
			targets[j] = append(targets[j], i)
			targets[i] = append(targets[i], j)
		}
		for m := range n {
			var want []int
			for k := range n {
				if k != m {
					want = append(want, k) // 0..m-1 then m+1..n-1: earlier first, each in order
				}
			}
			if fmt.Sprint(targets[m]) != fmt.Sprint(want) {
				t.Fatalf("n=%d: member %d follows in the order %v, want %v", n, m, targets[m], want)
			}
		}
	}
}
