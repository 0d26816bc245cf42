package existing

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/provision"
	"github.com/lifeboat-social/lifeboat/provision/existing/existingtest"
)

// A Mastodon server's members sign up on its own page: the one it names
// in its instance information, else /auth/sign_up; GoToSocial's through
// the API, or on its /signup.
func TestDoorKinds(t *testing.T) {
	srv := existingtest.Mastodon(t, existingtest.Approval)
	r, err := ScoutURL(context.Background(), srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := NewDoor(r)
	if d.ViaAPI() || d.Page() != srv.URL+"/auth/sign_up" || d.Domain() != "approval.example" {
		t.Fatalf("Mastodon door: api %v, page %s, domain %s", d.ViaAPI(), d.Page(), d.Domain())
	}
	r.SignUpURL = "https://join.example/apply"
	if d := NewDoor(r); d.ViaAPI() || d.Page() != "https://join.example/apply" {
		t.Fatalf("announced page: %s", d.Page())
	}
	gts := &Report{URL: "https://gts.example", Software: "gotosocial"}
	if d := NewDoor(gts); !d.ViaAPI() || d.Page() != "https://gts.example/signup" || d.Domain() != "gts.example" {
		t.Fatalf("GoToSocial door: api %v, page %s, domain %s", d.ViaAPI(), d.Page(), d.Domain())
	}
	// The fixture serves no WebFinger: nobody is there.
	if ok, err := d.Exists(context.Background(), "alice"); ok || err != nil {
		t.Fatalf("Exists = %v, %v", ok, err)
	}
	// A reason outside what both servers take is refused before sending.
	if err := NewDoor(gts).SignUp(context.Background(), "a", "a@example.org", "pw", "too short"); err == nil ||
		!strings.Contains(err.Error(), "servers take 40 to 420") {
		t.Fatalf("short reason: %v", err)
	}
}

// A taken username and a taken email are told apart, in Mastodon's words
// (422 with per-field details) and GoToSocial's (409 with a sentence).
func TestTakenErr(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want error
	}{
		{&fedi.Error{Status: 422, Details: map[string][]fedi.Detail{"username": {{Error: "ERR_TAKEN"}}}}, provision.ErrUsernameTaken},
		{&fedi.Error{Status: 422, Details: map[string][]fedi.Detail{"email": {{Error: "ERR_TAKEN"}}}}, ErrEmailTaken},
		{&fedi.Error{Status: http.StatusConflict, Message: "username ada is not available"}, provision.ErrUsernameTaken},
		{&fedi.Error{Status: http.StatusConflict, Message: "email address ada@example.org is not available"}, ErrEmailTaken},
	} {
		if got := takenErr(tc.err); !errors.Is(got, tc.want) {
			t.Errorf("%v: %v, want %v", tc.err, got, tc.want)
		}
	}
	for _, msg := range []string{"this instance has hit its limit of new sign-ups for today; you can try again tomorrow",
		"this instance's sign-up backlog is currently full; you must wait until pending sign-ups are handled by the admin(s)"} {
		full := &fedi.Error{Status: 422, Message: msg}
		if got := takenErr(full); errors.Is(got, provision.ErrUsernameTaken) || errors.Is(got, ErrEmailTaken) {
			t.Errorf("GoToSocial's full reads as taken: %v", got)
		}
		if got := fullErr(full); !errors.Is(got, ErrFull) {
			t.Errorf("%q: %v, want ErrFull", msg, got)
		}
	}
	if got := fullErr(&fedi.Error{Status: 422, Message: "reason is required"}); errors.Is(got, ErrFull) {
		t.Errorf("another refusal reads as full: %v", got)
	}
}
