package arrival

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/fedi"
)

func TestTransientRetriesServerErrorsOnly(t *testing.T) {
	ctx := context.Background()
	calls := 0
	err := transient(ctx, func() error {
		calls++
		if calls < 3 {
			return &fedi.Error{Status: 500}
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Errorf("two 500s then success: err=%v after %d calls", err, calls)
	}
	calls = 0
	err = transient(ctx, func() error { calls++; return &fedi.Error{Status: 422} })
	if calls != 1 || err == nil {
		t.Errorf("a 422 was retried (%d calls)", calls)
	}
	calls = 0
	err = transient(ctx, func() error { calls++; return &fedi.Error{Status: 500} })
	var fe *fedi.Error
	if calls != 5 || !errors.As(err, &fe) {
		t.Errorf("a lasting 500: %d calls, err %v; want 5 and the error", calls, err)
	}
	// A proxy's 502, 503 or 504 says the server behind it does not
	// answer: waited for as long as no answer at all.
	defer func(d time.Duration) { unreachable = d }(unreachable)
	unreachable = time.Second
	for _, status := range []int{502, 503, 504} {
		calls = 0
		start := time.Now()
		err = transient(ctx, func() error { calls++; return &fedi.Error{Status: status} })
		if !fedi.IsStatus(err, status) || calls < 2 || time.Since(start) < unreachable || time.Since(start) > 4*time.Second {
			t.Errorf("a lasting %d: %d calls in %s, err %v", status, calls, time.Since(start), err)
		}
	}
	calls = 0
	err = transient(ctx, func() error { calls++; return &fedi.Error{Status: 503, RetryAt: time.Now().Add(time.Hour)} })
	if calls != 1 || !fedi.IsRateLimited(err) {
		t.Errorf("a 503 with Retry-After (the client waited already) was tried %d times", calls)
	}

	// No answer at all (a server restarting): waited for while it lasts
	// less than unreachable, then the error is returned.
	calls = 0
	refused := errors.New("connect: connection refused")
	err = transient(ctx, func() error {
		calls++
		if calls < 4 {
			return refused
		}
		return nil
	})
	if err != nil || calls != 4 {
		t.Errorf("three refusals then success: err=%v after %d calls", err, calls)
	}
	calls = 0
	start := time.Now()
	err = transient(ctx, func() error { calls++; return refused })
	if !errors.Is(err, refused) || time.Since(start) > 4*time.Second || calls < 2 {
		t.Errorf("a server that never answers: %v after %d calls and %s", err, calls, time.Since(start))
	}
	// A follow the server keeps neither made nor requested is not retried
	// here: follow clears it (unstick) instead.
	calls = 0
	transient(ctx, func() error { calls++; return errNotMade })
	if calls != 1 {
		t.Errorf("errNotMade tried %d times", calls)
	}
}
