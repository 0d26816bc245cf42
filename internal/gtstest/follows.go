package gtstest

import (
	"context"
	"fmt"
	"testing"

	"github.com/lifeboat-social/lifeboat/internal/fedi"
)

// AcceptFollowers has the account c acts for (id is its id) accept the
// follow requests it gets until n people follow it: GoToSocial's
// accounts are locked, and requests from other servers come by
// federation, so it waits for them as WaitFor does.
func AcceptFollowers(ctx context.Context, t testing.TB, c *fedi.Client, id string, n int) {
	t.Helper()
	WaitFor(ctx, t, fmt.Sprintf("%d followers of account %s", n, id), func() bool {
		reqs, err := c.FollowRequests(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range reqs {
			if _, err := c.AuthorizeFollowRequest(ctx, r.ID); err != nil {
				t.Fatal(err)
			}
		}
		fs, err := c.Followers(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return len(fs) == n
	})
}
