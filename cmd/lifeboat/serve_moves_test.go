package main

import (
	"context"
	"testing"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/web"
)

// serve offers the move page where other servers reach the room: an
// existing server or a new instance, not the local one on loopback.
func TestServeOffersMoves(t *testing.T) {
	st, err := store.Open(context.Background(), store.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, c := range []struct {
		dest groups.Destination
		want bool
	}{
		{groups.Destination{Type: groups.DestLocal}, false},
		{groups.Destination{Type: groups.DestExisting, Server: "https://social.example"}, true},
		{groups.Destination{Type: groups.DestNew, Domain: "social.example.org"}, true},
	} {
		g := &groups.Group{Name: "movers", Destination: c.dest}
		if got := serveMoves(st, g, web.HomesConfig{}) != nil; got != c.want {
			t.Errorf("%s: move page offered %v, want %v", c.dest.Type, got, c.want)
		}
	}
}
