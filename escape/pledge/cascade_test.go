package pledge

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestCascade(t *testing.T) {
	tests := []struct {
		name string
		t    []int
		want []bool
	}{
		{"nobody", nil, []bool{}},
		{"one unconditional", []int{0}, []bool{true}},
		{"one waiting for one", []int{1}, []bool{false}},
		{"two need each other", []int{1, 1}, []bool{true, true}},
		{"chain unlocks", []int{0, 1, 2, 3}, []bool{true, true, true, true}},
		{"gap stops the chain", []int{0, 1, 4, 4}, []bool{true, true, false, false}},
		{"all high", []int{5, 5, 5}, []bool{false, false, false}},
		{"exactly enough", []int{2, 2, 2}, []bool{true, true, true}},
		{"one too demanding", []int{2, 2, 2, 4}, []bool{true, true, true, false}},
		{"negative is zero", []int{-3, 1}, []bool{true, true}},
		{"ties at the edge", []int{0, 0, 3, 3, 3}, []bool{true, true, true, true, true}},
		{"ties just out", []int{0, 0, 5, 5, 5}, []bool{true, true, false, false, false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, n := cascade(tc.t)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("cascade(%v) = %v, want %v", tc.t, got, tc.want)
			}
			c := 0
			for _, g := range got {
				if g {
					c++
				}
			}
			if n != c {
				t.Fatalf("n = %d, but %d going", n, c)
			}
		})
	}
}

// TestCascadeProperty checks, for random thresholds, that the result is a
// fixed point (everyone in it is satisfied within it) and the largest one
// (by brute force over every subset).
func TestCascadeProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 3000; iter++ {
		n := r.IntN(12)
		th := make([]int, n)
		for i := range th {
			th[i] = r.IntN(n+2) - 1
		}
		going, size := cascade(th)
		for i, g := range going {
			if g && max(th[i], 0) > size-1 {
				t.Fatalf("%v: member %d (threshold %d) in a set of %d: not a fixed point", th, i, th[i], size)
			}
		}
		best := 0
		for mask := 0; mask < 1<<n; mask++ {
			k, ok := 0, true
			for i := 0; i < n; i++ {
				if mask&(1<<i) != 0 {
					k++
				}
			}
			for i := 0; i < n && ok; i++ {
				if mask&(1<<i) != 0 && max(th[i], 0) > k-1 {
					ok = false
				}
			}
			if ok {
				best = max(best, k)
			}
		}
		if size != best {
			t.Fatalf("%v: cascade %d, largest fixed point %d", th, size, best)
		}
		// Every fixed point is inside the cascade (it is the greatest).
		for mask := 0; mask < 1<<n; mask++ {
			k := 0
			for i := 0; i < n; i++ {
				if mask&(1<<i) != 0 {
					k++
				}
			}
			fixed := true
			for i := 0; i < n; i++ {
				if mask&(1<<i) != 0 && max(th[i], 0) > k-1 {
					fixed = false
				}
			}
			if !fixed {
				continue
			}
			for i := 0; i < n; i++ {
				if mask&(1<<i) != 0 && !going[i] {
					t.Fatalf("%v: fixed point %b not inside cascade %v", th, mask, going)
				}
			}
		}
	}
}

func TestCascadeLarge(t *testing.T) {
	th := make([]int, 100000)
	for i := range th {
		th[i] = i // each needs everyone before them: all go
	}
	if _, n := cascade(th); n != len(th) {
		t.Fatalf("n = %d", n)
	}
}

func TestExplain(t *testing.T) {
	tests := []struct {
		name            string
		t               []int
		members, viable int
		want            Outlook
		sentence        string
	}{
		{
			name: "empty", members: 10, viable: 3,
			want:     Outlook{Members: 10, ViableMass: 3, NeedForViable: 3},
			sentence: "0 would go now",
		},
		{
			name: "viable", t: []int{0, 0, 1}, members: 5, viable: 3,
			want:     Outlook{Members: 5, ViableMass: 3, Pledged: 3, Going: 3, Viable: true},
			sentence: "3 would go now",
		},
		{
			name: "waiting for more", t: []int{0, 0, 6, 6, 6}, members: 10, viable: 5,
			// 2 go; 2 more unconditional make 4 going, and with the three
			// wanting 6 others, 7 would go.
			want:     Outlook{Members: 10, ViableMass: 5, Pledged: 5, Going: 2, Waiting: 3, NeedForViable: 2, NextMore: 2, NextBrings: 3},
			sentence: "2 would go now; 2 more pledges would bring 3 more",
		},
		{
			name: "one more", t: []int{0, 3, 3}, members: 5, viable: 4,
			want:     Outlook{Members: 5, ViableMass: 4, Pledged: 3, Going: 1, Waiting: 2, NeedForViable: 1, NextMore: 1, NextBrings: 2},
			sentence: "1 would go now; 1 more pledge would bring 2 more",
		},
		{
			name: "unreachable", t: []int{9, 9}, members: 3, viable: 3,
			want:     Outlook{Members: 3, ViableMass: 3, Pledged: 2, Waiting: 2, NeedForViable: -1},
			sentence: "0 would go now",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Explain(tc.t, tc.members, tc.viable)
			if got != tc.want {
				t.Fatalf("Explain = %+v\nwant      %+v", got, tc.want)
			}
			if s := got.String(); s != tc.sentence {
				t.Fatalf("String = %q, want %q", s, tc.sentence)
			}
		})
	}
}

// TestExplainProperty: adding NeedForViable unconditional pledges makes
// the group viable and one fewer does not; NextMore pledges bring exactly
// NextBrings more.
func TestExplainProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for iter := 0; iter < 2000; iter++ {
		members := 2 + r.IntN(30)
		viable := 2 + r.IntN(members-1)
		th := make([]int, r.IntN(members+1))
		for i := range th {
			th[i] = r.IntN(members)
		}
		o := Explain(th, members, viable)
		with := func(m int) int { return size(append(slices.Clone(th), make([]int, m)...)) }
		if o.NeedForViable > 0 {
			if with(o.NeedForViable) < viable || with(o.NeedForViable-1) >= viable {
				t.Fatalf("%v m=%d v=%d: NeedForViable %d wrong", th, members, viable, o.NeedForViable)
			}
		}
		if o.NeedForViable < 0 && with(members-len(th)) >= viable {
			t.Fatalf("%v m=%d v=%d: said unreachable", th, members, viable)
		}
		if o.NextMore > 0 && with(o.NextMore)-o.NextMore-o.Going != o.NextBrings {
			t.Fatalf("%v: NextMore %d brings %d, outlook says %d", th, o.NextMore, with(o.NextMore)-o.NextMore-o.Going, o.NextBrings)
		}
	}
}

func TestCheckThreshold(t *testing.T) {
	for _, tc := range []struct {
		k, members int
		ok         bool
	}{{0, 1, true}, {-1, 5, false}, {4, 5, true}, {5, 5, false}} {
		if err := CheckThreshold(tc.k, tc.members); (err == nil) != tc.ok {
			t.Errorf("CheckThreshold(%d, %d) = %v", tc.k, tc.members, err)
		}
	}
}

func TestDecide(t *testing.T) {
	now := time.Date(2027, 1, 10, 0, 0, 0, 0, time.UTC)
	later := now.Add(24 * time.Hour)
	earlier := now.Add(-time.Hour)
	viable := Outlook{Viable: true}
	tests := []struct {
		state              string
		deadline, launchAt *time.Time
		o                  Outlook
		want               Action
	}{
		{StateGathering, &later, nil, viable, Launch},
		{StateGathering, nil, nil, viable, Launch},
		{StateGathering, &later, nil, Outlook{}, Wait},
		{StateGathering, &earlier, nil, Outlook{}, Fail},
		// Still viable past the deadline: it was held back, it launches.
		{StateGathering, &earlier, nil, viable, Launch},
		{StateLaunched, &earlier, nil, Outlook{}, Wait},
		{StateFailed, &later, nil, viable, Wait},
		// launch_at: viable early waits for the moment; at and after it,
		// launches; not viable at the deadline fails even before it.
		{StateGathering, nil, &later, viable, Wait},
		{StateGathering, nil, &now, viable, Launch},
		{StateGathering, nil, &earlier, viable, Launch},
		{StateGathering, nil, &earlier, Outlook{}, Wait},
		{StateGathering, &earlier, &later, Outlook{}, Fail},
		{StateGathering, &earlier, &later, viable, Wait},
	}
	for _, tc := range tests {
		if got := Decide(tc.state, now, tc.deadline, tc.launchAt, tc.o); got != tc.want {
			t.Errorf("Decide(%s, deadline %v, launch_at %v, %+v) = %v, want %v", tc.state, tc.deadline, tc.launchAt, tc.o, got, tc.want)
		}
	}
}

func TestLateOpen(t *testing.T) {
	launched := time.Date(2027, 1, 10, 0, 0, 0, 0, time.UTC)
	week := 7 * 24 * time.Hour
	for _, tc := range []struct {
		state string
		at    time.Time
		want  bool
	}{
		{StateLaunched, launched.Add(time.Hour), true},
		{StateArrived, launched.Add(week - time.Second), true},
		{StateLaunched, launched.Add(week), false},
		{StateGathering, launched.Add(time.Hour), false},
		{StateFailed, launched.Add(time.Hour), false},
	} {
		if got := LateOpen(tc.state, launched, tc.at, week); got != tc.want {
			t.Errorf("LateOpen(%s, +%v) = %v, want %v", tc.state, tc.at.Sub(launched), got, tc.want)
		}
	}
	if LateOpen(StateLaunched, time.Time{}, launched, week) {
		t.Error("open without a launch time")
	}
}

func TestCanChange(t *testing.T) {
	now := time.Now()
	past := now.Add(-time.Second)
	if CanChange(StateGathering, now, nil) != nil {
		t.Error("gathering refused")
	}
	if CanChange(StateLaunched, now, nil) == nil {
		t.Error("launched accepted")
	}
	if CanChange(StateGathering, now, &past) == nil {
		t.Error("past deadline accepted")
	}
}

func TestSlow(t *testing.T) {
	opened := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	deadline := opened.Add(30 * 24 * time.Hour)
	at := func(days int) time.Time { return opened.Add(time.Duration(days) * 24 * time.Hour) }
	o := Outlook{ViableMass: 100, Going: 10}
	if Slow(at(5), opened, &deadline, time.Time{}, o) {
		t.Error("slow after 5 of 30 days")
	}
	if !Slow(at(15), opened, &deadline, time.Time{}, o) {
		t.Error("not slow at half time with 10% pledged")
	}
	o.Going = 40
	if Slow(at(15), opened, &deadline, time.Time{}, o) {
		t.Error("slow at half time with 40% pledged")
	}
	if !Slow(at(8), opened, nil, at(0), Outlook{ViableMass: 5}) {
		t.Error("no deadline, no pledges for 8 days: not slow")
	}
	if Slow(at(8), opened, nil, at(7), Outlook{ViableMass: 5}) {
		t.Error("no deadline, pledge yesterday: slow")
	}
}

// cascade is the launch set of pledges that name only a number of others.
func cascade(thresholds []int) ([]bool, int) { return LaunchSet(conditions(thresholds), nil) }

func size(thresholds []int) int {
	_, n := cascade(thresholds)
	return n
}
