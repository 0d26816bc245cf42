// Package pledge holds the rules of conditional pledges: the threshold
// cascade that decides who would go, the explanation the pledge page
// shows, and when a group launches, fails or needs a nudge. It is pure
// logic: no store, no clock, no I/O.
package pledge

import (
	"fmt"
	"slices"
)

// Cascade returns who would go: the largest set S of pledgers such that
// every member of S has a threshold of at most |S|-1 ("I go only if at
// least K others go"). going[i] reports whether pledger i is in S; n is
// |S|. Negative thresholds count as 0.
//
// S is the greatest fixed point of the cascade and it is unique: a set of
// size k works exactly when its largest threshold is at most k-1, so the k
// smallest thresholds work whenever any k do, and at the largest such k
// no other pledger can have a threshold below k. S is therefore
// {i : t_i <= n-1}.
func Cascade(thresholds []int) (going []bool, n int) {
	n = Size(thresholds)
	going = make([]bool, len(thresholds))
	for i, t := range thresholds {
		going[i] = max(t, 0) <= n-1
	}
	return going, n
}

// Size is the number of pledgers in the cascade of thresholds.
func Size(thresholds []int) int {
	s := sorted(thresholds)
	return sizeWith(s, 0)
}

func sorted(thresholds []int) []int {
	s := make([]int, len(thresholds))
	for i, t := range thresholds {
		s[i] = max(t, 0)
	}
	slices.Sort(s)
	return s
}

// sizeWith is the cascade size of the sorted thresholds s together with
// extra unconditional pledgers: the largest k with the k-th smallest
// threshold at most k-1.
func sizeWith(s []int, extra int) int {
	for k := len(s) + extra; k > extra; k-- {
		if s[k-1-extra] <= k-1 {
			return k
		}
	}
	return extra
}

// Outlook is what the pledge page says about the group's chances.
type Outlook struct {
	Members    int // people in the group
	ViableMass int // pledges needed to launch
	Pledged    int // pledges that count (confirmed, not withdrawn)
	Going      int // the cascade: who would go now
	Waiting    int // pledged, but their threshold does not hold yet
	Viable     bool
	// NeedForViable is how many more unconditional pledges would make the
	// group viable (0 when it is; -1 when even everyone left would not).
	NeedForViable int
	// NextMore more unconditional pledges would bring NextBrings of the
	// waiting pledgers along; both 0 when no number of pledges would.
	NextMore, NextBrings int
}

// Explain computes the outlook of a group of members people needing
// viableMass, with the given pledges' thresholds.
func Explain(thresholds []int, members, viableMass int) Outlook {
	s := sorted(thresholds)
	o := Outlook{Members: members, ViableMass: viableMass, Pledged: len(s)}
	o.Going = sizeWith(s, 0)
	o.Waiting = o.Pledged - o.Going
	o.Viable = o.Going >= viableMass
	left := max(members-len(s), 0) // who could still pledge
	o.NeedForViable = -1
	if o.Viable {
		o.NeedForViable = 0
	}
	for m := 1; m <= left && (o.NeedForViable < 0 || (o.Waiting > 0 && o.NextMore == 0)); m++ {
		k := sizeWith(s, m)
		if o.NeedForViable < 0 && k >= viableMass {
			o.NeedForViable = m
		}
		if o.NextMore == 0 && k-m > o.Going {
			o.NextMore, o.NextBrings = m, k-m-o.Going
		}
	}
	return o
}

// String is the outlook in one sentence, e.g. "41 would go now; 9 more
// pledges would bring 14 more".
func (o Outlook) String() string {
	s := fmt.Sprintf("%d would go now", o.Going)
	if o.NextMore > 0 {
		s += fmt.Sprintf("; %d more %s would bring %d more", o.NextMore, plural(o.NextMore, "pledge", "pledges"), o.NextBrings)
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
