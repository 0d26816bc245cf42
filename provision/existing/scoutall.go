package existing

import (
	"context"
	"sync"
	"time"
)

// ScoutTimeout bounds the scouting of one server in ScoutAll.
const ScoutTimeout = 45 * time.Second

// ScoutAll scouts every URL at once (each within ScoutTimeout), judges
// each report's fit for a group of size members and ranks the fits best
// first; the servers that failed come back as errors, in the order given.
// scout reads one server; nil means ScoutURL with the default client.
func ScoutAll(ctx context.Context, urls []string, size int, scout func(ctx context.Context, url string) (*Report, error)) ([]Fit, []error) {
	reports, errs := ScoutEach(ctx, urls, scout)
	var fits []Fit
	var failed []error
	for i, r := range reports {
		if errs[i] != nil {
			failed = append(failed, errs[i])
			continue
		}
		fits = append(fits, Judge(r, size))
	}
	Rank(fits)
	return fits, failed
}

// ScoutEach scouts every URL at once, each within ScoutTimeout: a slow
// server costs its own timeout, not the sum of all of them. reports[i]
// and errs[i] answer urls[i]; exactly one of them is set.
func ScoutEach(ctx context.Context, urls []string, scout func(ctx context.Context, url string) (*Report, error)) (reports []*Report, errs []error) {
	if scout == nil {
		scout = func(ctx context.Context, url string) (*Report, error) { return ScoutURL(ctx, url, nil) }
	}
	reports = make([]*Report, len(urls))
	errs = make([]error, len(urls))
	var wg sync.WaitGroup
	for i, u := range urls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(ctx, ScoutTimeout)
			defer cancel()
			reports[i], errs[i] = scout(ctx, u)
		}()
	}
	wg.Wait()
	return reports, errs
}
