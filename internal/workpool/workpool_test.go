package workpool

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
)

func TestRunAll(t *testing.T) {
	var sum atomic.Int64
	var running, peak atomic.Int64
	err := Run(context.Background(), 3, 100, func(_ context.Context, i int) error {
		r := running.Add(1)
		for {
			p := peak.Load()
			if r <= p || peak.CompareAndSwap(p, r) {
				break
			}
		}
		sum.Add(int64(i))
		running.Add(-1)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Load() != 4950 {
		t.Errorf("sum = %d, want 4950 (every index once)", sum.Load())
	}
	if peak.Load() > 3 {
		t.Errorf("%d ran at once, want at most 3", peak.Load())
	}
}

func TestRunStopsAtFirstError(t *testing.T) {
	boom := errors.New("boom")
	var calls atomic.Int64
	err := Run(context.Background(), 1, 100, func(_ context.Context, i int) error {
		calls.Add(1)
		if i == 5 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if calls.Load() != 6 {
		t.Errorf("%d calls after an error at the 6th, want 6", calls.Load())
	}
}

func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Run(ctx, 2, 10, func(context.Context, int) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}
