package existing

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// ScoutEach asks every server at once and answers in the order given:
// five servers that each take 200 ms are scouted in about 200 ms, not one
// second, and a failure stays beside its URL.
func TestScoutEach(t *testing.T) {
	urls := []string{"a.example", "b.example", "down.example", "c.example", "d.example"}
	var inFlight, most atomic.Int32
	scout := func(ctx context.Context, url string) (*Report, error) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(200 * time.Millisecond)
		if url == "down.example" {
			return nil, errors.New("down")
		}
		return &Report{URL: url}, nil
	}
	reports, errs := ScoutEach(context.Background(), urls, scout)
	if most.Load() != int32(len(urls)) {
		t.Fatalf("at most %d servers were asked at once, want all %d", most.Load(), len(urls))
	}
	for i, u := range urls {
		if u == "down.example" {
			if errs[i] == nil || reports[i] != nil {
				t.Fatalf("%s: report %v, err %v", u, reports[i], errs[i])
			}
			continue
		}
		if errs[i] != nil || reports[i] == nil || reports[i].URL != u {
			t.Fatalf("%s: report %+v, err %v", u, reports[i], errs[i])
		}
	}
}
