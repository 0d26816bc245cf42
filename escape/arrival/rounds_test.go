package arrival

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/lifeboat-social/lifeboat/internal/fedi"
)

// One piece that the server always refuses and one that it refuses twice:
// every other piece is done once, the flaky one goes through in a later
// round, and only the refused one comes back, by name, after the bounded
// number of rounds.
func TestRoundsIsolateStuckPieces(t *testing.T) {
	defer QuickRetries()()
	var mu sync.Mutex
	calls := map[int]int{}
	stuck, _, err := roundsOn(4).rounds(context.Background(), 50, func(ctx context.Context, i int) error {
		mu.Lock()
		calls[i]++
		n := calls[i]
		mu.Unlock()
		switch {
		case i == 7:
			return isolate(&fedi.Error{Status: 500, Message: "already exists"}, StepFollows, "m7@example.org", "m8@example.org")
		case i == 20 && n <= 2:
			return isolate(&fedi.Error{Status: 502}, StepFollows, "m20@example.org", "m21@example.org")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(stuck) != 1 || stuck[0].From != "m7@example.org" || stuck[0].To != "m8@example.org" || !fedi.IsStatus(stuck[0].Err, 500) {
		t.Fatalf("stuck = %+v; want only m7 -> m8 with its 500", stuck)
	}
	if calls[7] != stuckRounds+1 {
		t.Errorf("the stuck piece was tried %d times, want %d", calls[7], stuckRounds+1)
	}
	if calls[20] != 3 {
		t.Errorf("the flaky piece was tried %d times, want 3", calls[20])
	}
	for i := 0; i < 50; i++ {
		if i != 7 && i != 20 && calls[i] != 1 {
			t.Errorf("piece %d was tried %d times, want once", i, calls[i])
		}
	}
	e := &StuckError{Stuck: stuck}
	if !errors.Is(fmt.Errorf("seed: %w", e), ErrStuck) {
		t.Error("a wrapped StuckError is not ErrStuck")
	}
	var se *StuckError
	if !errors.As(fmt.Errorf("seed: %w", e), &se) || len(se.Stuck) != 1 {
		t.Error("a wrapped StuckError does not come back with errors.As")
	}
	want := "m7@example.org follows m8@example.org: fedi: 500 Internal Server Error: already exists"
	if msg := e.Error(); !strings.Contains(msg, want) || !strings.Contains(msg, "1 of the mesh") {
		t.Errorf("message %q lacks %q", msg, want)
	}
}

// An error that is not one piece's (the journal, an unreachable server)
// stops the work at once and is returned as it is.
func TestRoundsStopOnOtherErrors(t *testing.T) {
	defer QuickRetries()()
	boom := errors.New("journal write failed")
	stuck, _, err := roundsOn(2).rounds(context.Background(), 100, func(ctx context.Context, i int) error {
		if i == 3 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || stuck != nil {
		t.Errorf("got %v, %v; want the journal error and nothing stuck", stuck, err)
	}
}

// More than maxShown stuck pieces are summarised, not all listed.
func TestStuckErrorBoundsItsMessage(t *testing.T) {
	var s []Stuck
	for i := 0; i < 30; i++ {
		s = append(s, Stuck{Step: StepLists, From: fmt.Sprintf("m%d@example.org", i), Err: errors.New("401")})
	}
	msg := (&StuckError{Stuck: s}).Error()
	if !strings.Contains(msg, "30 of the mesh") || !strings.Contains(msg, "… and 10 more") || strings.Contains(msg, "m25@") {
		t.Errorf("message:\n%s", msg)
	}
}

// An item may fail in two pieces (both directions of a pair): both are
// reported. A fatal error joined with pieces still stops the work.
func TestRoundsReportEveryPieceOfAnItem(t *testing.T) {
	defer QuickRetries()()
	two := func() error {
		return errors.Join(isolate(&fedi.Error{Status: 401}, StepFollows, "a@x", "b@x"), isolate(&fedi.Error{Status: 401}, StepFollows, "b@x", "a@x"))
	}
	stuck, _, err := roundsOn(2).rounds(context.Background(), 3, func(ctx context.Context, i int) error {
		if i == 1 {
			return two()
		}
		return nil
	})
	if err != nil || len(stuck) != 2 || stuck[0].From != "a@x" || stuck[1].From != "b@x" {
		t.Errorf("got %+v, %v; want both directions", stuck, err)
	}
	boom := errors.New("journal")
	_, _, err = roundsOn(2).rounds(context.Background(), 3, func(ctx context.Context, i int) error { return errors.Join(two(), boom) })
	if !errors.Is(err, boom) {
		t.Errorf("got %v, want the journal error", err)
	}
}

// roundsOn is an engine with only what rounds uses.
func roundsOn(workers int) *Engine {
	return &Engine{cfg: Config{Workers: workers}, clock: realClock{}}
}
