// Package pledge holds the rules of conditional pledges: the launch set
// that decides who would go (the threshold cascade, with conditions on
// the people a member follows), the explanation the pledge page shows, and when a group launches, fails or needs a nudge. It is pure
// logic: no store, no clock, no I/O.
package pledge

import "fmt"

// conditions are pledges that name only a number of others: the
// threshold cascade ("I go only if at least K others go"), negative
// thresholds counting as 0.
func conditions(thresholds []int) []Condition {
	c := make([]Condition, len(thresholds))
	for i, t := range thresholds {
		c[i].Others = t
	}
	return c
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
// viableMass, with the given pledges' thresholds (ExplainSet without
// follow conditions).
func Explain(thresholds []int, members, viableMass int) Outlook {
	return ExplainSet(conditions(thresholds), nil, members, viableMass)
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
