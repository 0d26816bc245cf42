package gtstest

import (
	"context"
	"testing"
	"time"
)

// WaitFor polls ok until it holds, failing the test with what it waited
// for when ctx ends first: federation delivers over seconds to minutes.
func WaitFor(ctx context.Context, t testing.TB, what string, ok func() bool) {
	t.Helper()
	for !ok() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
