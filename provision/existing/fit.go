package existing

import (
	"fmt"
	"sort"
)

// Fit is how well a scouted server suits a group of a given size.
type Fit struct {
	Report  *Report
	Size    int     // the group's members
	Score   float64 // 0..1, higher is better; only for ranking
	Verdict string  // good | possible | poor
	Notes   []string
}

// Verdicts.
const (
	Good     = "good"
	Possible = "possible"
	Poor     = "poor"
)

// Judge weighs a server for a group of size members: how the group
// compares to the server's active users, and how members get in
// (registrations open, with approval, or closed).
func Judge(r *Report, size int) Fit {
	f := Fit{Report: r, Size: size, Score: 1}
	switch r.Registrations {
	case Open:
		f.note(1, "sign-ups are open: members can join at once; still send an admission request so the admin expects %d people", size)
	case Approval:
		f.note(0.9, "sign-ups need approval: send an admission request (lifeboat request); once the admin accepts it, members with proofs are approved automatically")
	default:
		f.note(0.4, "registrations are closed: only the admin can let the group in — send an admission request and ask for invites")
	}
	if r.ReasonRequired {
		f.note(1, "sign-ups must give a reason: the member's proof goes there")
	}
	if r.MinAge > 0 {
		// Not a worse fit: a fact every member must know before they pledge.
		f.note(1, "members must be at least %d: the sign-up asks for a date of birth; say so when you invite", r.MinAge)
	}
	switch active := r.ActiveUsers; {
	case active <= 0:
		f.note(0.8, "the server does not publish its active users")
	case size > active:
		f.note(0.4, "the group (%d) is larger than the server's active community (%d): ask whether it can take the load", size, active)
	case size*2 > active:
		f.note(0.6, "the group (%d) would be %d%% of the server's %d active users: a big change for it", size, pct(size, active), active)
	case size*10 > active:
		f.note(0.85, "the group (%d) would be %d%% of the server's %d active users", size, pct(size, active), active)
	default:
		f.note(1, "the group (%d) is small next to the server's %d active users", size, active)
	}
	switch r.Software {
	case "mastodon", "gotosocial":
	default:
		f.note(0.9, "software %q is not tested with Lifeboat", r.Software)
	}
	switch {
	case f.Score >= 0.75:
		f.Verdict = Good
	case f.Score >= 0.45:
		f.Verdict = Possible
	default:
		f.Verdict = Poor
	}
	return f
}

func pct(a, b int) int { return (a*100 + b/2) / b }

func (f *Fit) note(factor float64, format string, args ...any) {
	f.Score *= factor
	f.Notes = append(f.Notes, fmt.Sprintf(format, args...))
}

// Rank orders fits best first; ties keep their order.
func Rank(fs []Fit) {
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].Score > fs[j].Score })
}
