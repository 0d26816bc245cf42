package invite

import (
	"crypto/ed25519"
	"errors"
	"testing"
	"time"
)

// FuzzParse feeds arbitrary text to the token parser: it never panics,
// refuses with one of its own errors, and accepts only tokens that are
// exactly what Sign makes for their claims, so no two spellings of one
// link exist (the store keeps tokens by hash).
func FuzzParse(f *testing.F) {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	pub := key.Public().(ed25519.PublicKey)
	now := time.Unix(1_800_000_000, 0)
	for _, p := range []Purpose{Pledge, Confirm, Invite, Proof, Join, Leave} {
		tok, err := Sign(key, Claims{Purpose: p, Group: "river-birders", Member: MemberID("river-birders", "ada@example.org"), Expires: now.Add(time.Hour)})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(tok)
		f.Add(tok + "=")
		f.Add(tok[:len(tok)-1])
	}
	f.Add("")
	f.Add("AAAA")
	f.Fuzz(func(t *testing.T, token string) {
		c, err := Parse(pub, Invite, token, now)
		if err != nil {
			for _, known := range []error{ErrMalformed, ErrForged, ErrPurpose, ErrExpired} {
				if errors.Is(err, known) {
					return
				}
			}
			t.Fatalf("unexpected error %v", err)
		}
		again, err := Sign(key, c)
		if err != nil || again != token {
			t.Fatalf("accepted %q, which signs as %q (%v)", token, again, err)
		}
	})
}
