package pledge

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestLaunchSet(t *testing.T) {
	tests := []struct {
		name    string
		conds   []Condition
		follows [][]int32
		want    []bool
	}{
		{"nobody", nil, nil, []bool{}},
		{"follow condition without follows", []Condition{{0, 1}, {0, 0}}, nil, []bool{false, true}},
		{"follows someone going", []Condition{{0, 1}, {0, 0}}, [][]int32{{1}}, []bool{true, true}},
		{"the followee waits for others", []Condition{{0, 1}, {2, 0}}, [][]int32{{1}}, []bool{false, false}},
		{"a chain falls", []Condition{{0, 1}, {0, 1}, {0, 1}, {5, 0}}, [][]int32{{1}, {2}, {3}}, []bool{false, false, false, false}},
		{"a ring holds", []Condition{{0, 1}, {0, 1}, {0, 1}}, [][]int32{{1}, {2}, {0}}, []bool{true, true, true}},
		{"repeated and self follows count once", []Condition{{0, 2}, {0, 0}}, [][]int32{{1, 1, 0}}, []bool{false, true}},
		{"both conditions", []Condition{{2, 1}, {0, 0}, {0, 0}, {4, 0}}, [][]int32{{3}}, []bool{false, true, true, false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, n := LaunchSet(tc.conds, tc.follows)
			if !slices.Equal(got, tc.want) || n != count(got) {
				t.Fatalf("LaunchSet = %v (%d), want %v", got, n, tc.want)
			}
		})
	}
}

func count(set []bool) int {
	n := 0
	for _, in := range set {
		if in {
			n++
		}
	}
	return n
}

// TestLaunchSetAgainstBruteForce checks the peeling, on small random
// groups with random conditions and follows, against an exhaustive search:
// every subset in which everyone's conditions hold lies inside the launch
// set, and the launch set is one of them.
func TestLaunchSetAgainstBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(rand.Uint64(), 5))
	for iter := 0; iter < 1500; iter++ {
		n := r.IntN(11)
		conds := make([]Condition, n)
		follows := make([][]int32, n)
		p := r.Float64()
		for i := range conds {
			conds[i] = Condition{Others: r.IntN(n+2) - 1, Follows: r.IntN(4) - 1}
			for j := range n {
				if r.Float64() < p {
					follows[i] = append(follows[i], int32(j)) // self-follows included: they must not count
				}
			}
		}
		going, size := LaunchSet(conds, follows)
		holds := func(mask int) bool {
			k := 0
			for i := range n {
				if mask&(1<<i) != 0 {
					k++
				}
			}
			for i := range n {
				if mask&(1<<i) == 0 {
					continue
				}
				kept := 0
				for _, j := range follows[i] {
					if int(j) != i && mask&(1<<j) != 0 {
						kept++
					}
				}
				if max(conds[i].Others, 0) > k-1 || kept < conds[i].Follows {
					return false
				}
			}
			return true
		}
		mine := 0
		for i, g := range going {
			if g {
				mine |= 1 << i
			}
		}
		if size != count(going) || !holds(mine) {
			t.Fatalf("conds %v follows %v: launch set %v (%d) does not hold", conds, follows, going, size)
		}
		for mask := range 1 << n {
			if holds(mask) && mask&^mine != 0 {
				t.Fatalf("conds %v follows %v: %b holds but is not inside the launch set %b", conds, follows, mask, mine)
			}
		}
	}
}

// TestExplainSetProperty: with follow conditions too, NeedForViable more
// unconditional pledges make the group viable and one fewer does not, and
// NextMore bring NextBrings of those waiting.
func TestExplainSetProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(rand.Uint64(), 6))
	for iter := 0; iter < 1000; iter++ {
		members := 2 + r.IntN(20)
		viable := 2 + r.IntN(members-1)
		n := r.IntN(members + 1)
		conds := make([]Condition, n)
		follows := make([][]int32, n)
		for i := range conds {
			conds[i] = Condition{Others: r.IntN(members), Follows: r.IntN(3)}
			for range r.IntN(4) {
				follows[i] = append(follows[i], int32(r.IntN(n)))
			}
		}
		with := func(m int) int {
			c := append(slices.Clone(conds), make([]Condition, m)...)
			_, k := LaunchSet(c, follows)
			return k
		}
		o := ExplainSet(conds, follows, members, viable)
		if o.Going != with(0) || o.Waiting != n-o.Going || o.Viable != (o.Going >= viable) {
			t.Fatalf("outlook %+v, launch set %d", o, with(0))
		}
		if o.NeedForViable > 0 && (with(o.NeedForViable) < viable || with(o.NeedForViable-1) >= viable) {
			t.Fatalf("NeedForViable %d wrong: %+v", o.NeedForViable, o)
		}
		if o.NeedForViable < 0 && with(members-n) >= viable {
			t.Fatalf("said unreachable: %+v", o)
		}
		for m := 1; m <= members-n; m++ {
			brings := with(m) - m - o.Going
			if m < o.NextMore && brings > 0 || m == o.NextMore && brings != o.NextBrings {
				t.Fatalf("m=%d brings %d: %+v", m, brings, o)
			}
			if o.NextMore == 0 && brings > 0 {
				t.Fatalf("m=%d brings %d, outlook says none: %+v", m, brings, o)
			}
		}
	}
}
