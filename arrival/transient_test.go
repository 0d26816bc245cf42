package arrival

import (
	"context"
	"errors"
	"testing"

	"github.com/lifeboat-social/lifeboat/fedi"
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
	err = transient(ctx, func() error { calls++; return &fedi.Error{Status: 503} })
	var fe *fedi.Error
	if calls != 5 || !errors.As(err, &fe) {
		t.Errorf("a lasting 503: %d calls, err %v; want 5 and the error", calls, err)
	}
}
