package progress

import (
	"strings"
	"testing"
	"time"
)

func TestPlainThrottlesAdvances(t *testing.T) {
	var b strings.Builder
	f := Plain(&b, time.Hour)
	t0 := time.Now()
	f.Emit(Event{Kind: StepStarted, Step: "s", Message: "Seed follows"})
	for i := 1; i <= 10; i++ {
		f.Emit(Event{Time: t0.Add(time.Duration(i) * time.Millisecond), Kind: Advanced, Step: "s", Done: i, Total: 10})
	}
	f.Emit(Event{Kind: Failed, Step: "s", Message: "boom"})
	got := b.String()
	want := "==> Seed follows\n  s: 1 of 10\n  s: 10 of 10\n  s failed: boom\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestNilFuncDiscards(t *testing.T) {
	var f Func
	f.Emit(Event{Kind: Log}) // must not panic
}

// TestPlainIsHarmless: an event quoting a server or a member (a failure's
// message, an email) reaches the terminal with its escapes made visible.
func TestPlainIsHarmless(t *testing.T) {
	var b strings.Builder
	f := Plain(&b, 0)
	f.Emit(Event{Kind: Failed, Step: "arrivals\x1b[2J", Message: "422: \x1b]0;pwned\x07\u202eok\nsecond line"})
	f.Emit(Event{Kind: Log, Message: "\rfake"})
	want := "  arrivals\\x1b[2J failed: 422: \\x1b]0;pwned\\x07\\u202eok\nsecond line\n  \\x0dfake\n"
	if got := b.String(); got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}

func TestConcernsMatchesTheExactAddress(t *testing.T) {
	for _, c := range []struct {
		e    Event
		want bool
	}{
		{Event{Item: "Ann@Example.org"}, true},
		{Event{Message: "ann@example.org follows ben@example.org: refused"}, true},
		{Event{Message: "ben follows ann@example.org."}, true},
		{Event{Message: "(ann@example.org)"}, true},
		{Event{Message: "joann@example.org follows ben@example.org: refused"}, false},
		{Event{Message: "ben follows ann@example.org.uk"}, false},
		{Event{Message: "ann@example.orgy"}, false},
		{Event{Item: "joann@example.org"}, false},
		{Event{Message: "joann@example.org and ann@example.org"}, true},
	} {
		if got := c.e.Concerns("ann@example.org"); got != c.want {
			t.Errorf("%+v concerns ann@example.org: %v, want %v", c.e, got, c.want)
		}
	}
	if (Event{Message: "x"}).Concerns("") {
		t.Error("the empty address matched")
	}
}
