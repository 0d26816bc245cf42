package main

import (
	"testing"
	"time"
)

// The benchmark at a small size, so CI keeps it working: it seeds real
// meshes near and far and fails if the measured room is not exact.
func TestBenchSmall(t *testing.T) {
	if err := run("6", "4", 20*time.Millisecond, 5*time.Second, 8); err != nil {
		t.Fatal(err)
	}
}
