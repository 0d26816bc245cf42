package campaign

import (
	"context"
	"testing"

	"github.com/lifeboat-social/lifeboat/escape/pledge"
	"github.com/lifeboat-social/lifeboat/internal/pgtest"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// Remote members pledge and count in the cascade like everyone; Elsewhere
// says how many of the roster, the pledged and the going keep accounts on
// other servers. A stranger's account, an account not made yet and one on
// the destination are not counted.
func TestReadElsewhere(t *testing.T) {
	st, _, _ := setup(t)
	testReadElsewhere(t, st)
}

func TestReadElsewherePostgres(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{URL: pgtest.URL(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Groups().Put(ctx, store.Group{Name: "river-birders", Title: "River Birders", State: pledge.StateGathering}); err != nil {
		t.Fatal(err)
	}
	testReadElsewhere(t, st)
}

func testReadElsewhere(t *testing.T, st store.Store) {
	ctx := context.Background()
	_, g, _ := setup(t) // the group file
	const dest = "https://social.example"
	pledgeAs(t, st, "ada@example.org", 0, true, false)
	pledgeAs(t, st, "ben@example.org", 0, true, false)
	pledgeAs(t, st, "cleo@example.org", 3, true, false) // needs 3 others: not going
	for _, a := range []store.Account{
		{Email: "ada@example.org", Server: dest, ID: "1", Token: "t"},
		{Email: "ben@example.org", Server: "https://home.example", ID: "2", Token: "t", Acct: "ben@home.example"},
		{Email: "cleo@example.org", Server: "https://home.example", ID: "3", Token: "t", Acct: "cleo@home.example"},
		{Email: "dev@example.org", Server: "https://other.example", ID: "4", Token: "t", Acct: "dev@other.example"},
		{Email: "zed@example.org", Server: "https://other.example", ID: "5", Token: "t", Acct: "zed@other.example"}, // not in the group
		{Email: "eve@example.org", Server: "https://other.example"},                                                 // not made
	} {
		a.Group = g.Name
		if err := st.Accounts().Put(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	s, err := Read(ctx, st, g)
	if err != nil {
		t.Fatal(err)
	}
	e, err := ReadElsewhere(ctx, st, g, dest, s)
	if err != nil || e != (Elsewhere{Members: 3, Pledged: 2, Going: 1}) {
		t.Fatalf("elsewhere %+v, %v; want Ben, Cleo and Dev, Ben and Cleo pledged, Ben going", e, err)
	}
	// before the destination has an address, every account is elsewhere
	if e, err := ReadElsewhere(ctx, st, g, "", s); err != nil || e.Members != 4 {
		t.Fatalf("no destination yet: %+v, %v", e, err)
	}
}
