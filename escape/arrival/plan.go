package arrival

import (
	"fmt"

	"github.com/lifeboat-social/lifeboat/groups"
)

// Mastodon's limits on follows (app/lib/rate_limiter.rb and
// FollowLimitValidator): an account makes at most MastodonDailyFollows
// follows in each 24-hour window (windows reopen at 00:00 UTC), and no
// more than MastodonFollowCap in all unless its followers are nearly as
// many.
const (
	MastodonDailyFollows = 400
	MastodonFollowCap    = 7500
)

// MeshPlan is how long the mesh of a group takes on its destination.
type MeshPlan struct {
	Members int
	// Days is how many of the server's daily windows the mesh needs when
	// everyone arrives at once; 1 where no daily limit applies.
	Days int
	// Whole is false when the server cannot hold the whole mesh (a
	// Mastodon account following more than 7,500).
	Whole bool
	// Sentence says it for the lead.
	Sentence string
}

// PlanMesh says how long the mesh of n members takes on software
// (groups.SoftwareMastodon or groups.SoftwareGoToSocial; empty, for an
// existing server whose software the group file does not name, is
// planned as Mastodon, whose limits are the stricter).
func PlanMesh(n int, software string) MeshPlan {
	p := MeshPlan{Members: n, Days: 1, Whole: true}
	each := max(n-1, 0)
	if software == groups.SoftwareGoToSocial {
		p.Sentence = fmt.Sprintf("GoToSocial has no daily follow limit: the %d follows of %d members are made as they arrive, within the day.", n*each, n)
		return p
	}
	p.Days = max((each+MastodonDailyFollows-1)/MastodonDailyFollows, 1)
	on := "On Mastodon"
	if software == "" {
		on = "If the server runs Mastodon"
	}
	switch {
	case each > MastodonFollowCap:
		p.Whole = false
		p.Sentence = fmt.Sprintf("%s an account may follow at most %d accounts: with %d members, each would follow %d, so the mesh cannot be whole; split the group.",
			on, MastodonFollowCap, n, each)
	case p.Days == 1:
		p.Sentence = fmt.Sprintf("%s each account may make %d follows a day: with %d members each makes %d, so the mesh is whole on the day everyone arrives.",
			on, MastodonDailyFollows, n, each)
	default:
		p.Sentence = fmt.Sprintf("%s each account may make %d follows a day (the window reopens at 00:00 UTC): with %d members each makes %d, so the mesh takes %d days; everyone follows the members who arrived before them first, and the newest pairs come last.",
			on, MastodonDailyFollows, n, each, p.Days)
	}
	return p
}
