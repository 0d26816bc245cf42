package main

import (
	"testing"

	"github.com/lifeboat-social/lifeboat/groups"
)

// serve offers the move page where other servers reach the room: an
// existing server or a new instance, not the local one on loopback.
func TestServeOffersMoves(t *testing.T) {
	for _, c := range []struct {
		dest groups.Destination
		want bool
	}{
		{groups.Destination{Type: groups.DestLocal}, false},
		{groups.Destination{Type: groups.DestExisting, Server: "https://social.example"}, true},
		{groups.Destination{Type: groups.DestNew, Domain: "social.example.org"}, true},
	} {
		g := &groups.Group{Name: "movers", Destination: c.dest}
		if got := serveMoves(nil, g) != nil; got != c.want {
			t.Errorf("%s: move page offered %v, want %v", c.dest.Type, got, c.want)
		}
	}
}
