package arrival_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/escape/arrival"
	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/gtstest"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

// A member's place in the mesh is read from the server their account
// lives on, and counts the members on other servers too. Three members
// arrive and are seeded on the real GoToSocial destination; a fourth keeps
// an account Lifeboat reaches at another base URL (the same GoToSocial
// under the name localhost, so a server other than the destination as far
// as the room can tell). The fourth follows two of the three, one of them
// follows back. MemberCounts reads the fourth's follows from the fourth's
// server, finding the others there by address, and the destination
// members' counts include the fourth.
func TestMemberCountsAcrossServers(t *testing.T) {
	ctx := context.Background()
	_, srv := gtstest.Server(t)
	// a name of its own for each run: the shared server keeps the
	// accounts of earlier runs (go test -count)
	g := group(fmt.Sprintf("cnt%d", time.Now().UnixNano()%1e9), 4)
	st := openStore(t, g)
	e := arrival.New(arrival.Config{Store: st, Group: g, Server: srv, Logins: logins(t)})
	arrive(t, e, g, 0, 1, 2)
	if err := e.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	// The fourth member's account: made on the same GoToSocial, then
	// recorded as living at another base URL, where Lifeboat reaches it.
	arrive(t, e, g, 3)
	home := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	r, err := st.Accounts().Get(ctx, g.Name, g.Members[3].Email)
	if err != nil {
		t.Fatal(err)
	}
	r.Server, r.Acct = home, r.Username
	if err := st.Accounts().Put(ctx, r); err != nil {
		t.Fatal(err)
	}
	accs := map[string]store.Account{}
	list, err := st.Accounts().List(ctx, g.Name)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range list {
		accs[a.Email] = a
	}
	client := func(a store.Account) *fedi.Client { return fedi.New(a.Server).WithToken(a.Token) }
	m0, m1, m2 := accs[g.Members[0].Email], accs[g.Members[1].Email], accs[g.Members[2].Email]
	// the fourth follows m0 and m1, who accept; m2 follows the fourth, who accepts
	for _, to := range []store.Account{m0, m1} {
		if _, err := client(r).Follow(ctx, to.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := client(to).AuthorizeFollowRequest(ctx, r.ID); err != nil && !fedi.IsStatus(err, 404) {
			t.Fatal(err)
		}
	}
	if _, err := client(m2).Follow(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := client(r).AuthorizeFollowRequest(ctx, m2.ID); err != nil && !fedi.IsStatus(err, 404) {
		t.Fatal(err)
	}

	c, err := e.MemberCounts(ctx, r.Email)
	if err != nil || c != (arrival.Counts{Following: 2, Followers: 1, Remote: 0}) {
		t.Fatalf("the remote member's place: %+v, %v; want following 2, followed by 1, read from their server", c, err)
	}
	// m0 follows the other two destination members and is followed by
	// them and the remote member
	c, err = e.MemberCounts(ctx, m0.Email)
	if err != nil || c != (arrival.Counts{Following: 2, Followers: 3, Remote: 1}) {
		t.Fatalf("a destination member's place: %+v, %v; want following 2, followed by 3 (the remote member among them), 1 remote", c, err)
	}
	c, err = e.MemberCounts(ctx, m2.Email)
	if err != nil || c != (arrival.Counts{Following: 3, Followers: 2, Remote: 1}) {
		t.Fatalf("m2's place: %+v, %v; want following 3 (the remote member among them), followed by 2, 1 remote", c, err)
	}
}
