package arrival

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

// Clock is the engine's time: when a server's rate limit reopens and
// how long to wait for it. Tests drive it; the default is the real one.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// ErrLimited matches (with errors.Is) the error of a Seed that made all
// the server allowed and left the rest for when its rate limit reopens.
var ErrLimited = errors.New("the server's rate limit holds part of the mesh back")

// LimitedError says how much of the mesh waits for a rate limit, and
// until when. Mastodon allows an account 400 follows per 24 hours, in
// windows that reopen at 00:00 UTC.
type LimitedError struct {
	Until time.Time // when the server's window reopens
	Held  int       // follows and lists left for then
}

func (e *LimitedError) Error() string {
	return fmt.Sprintf("%d of the mesh's follows and lists wait for the server's rate limit; they are made after %s",
		e.Held, e.Until.UTC().Format("2006-01-02 15:04 MST"))
}

// Is makes errors.Is(err, ErrLimited) true.
func (e *LimitedError) Is(target error) bool { return target == ErrLimited }

// limitKey is the journal entry of the mesh's rate-limit wait: its
// result is a limitRecord, with a zero Until once nothing waits.
const limitKey = "limit"

type limitRecord struct {
	Until time.Time `json:"until"`
	Held  int       `json:"held"`
}

// keepLimit journals the wait (or its end) so that the member's page and
// a restarted process know it.
func (e *Engine) keepLimit(ctx context.Context, r limitRecord) error {
	b, _ := json.Marshal(r)
	j := e.journal()
	ctx = context.WithoutCancel(ctx)
	if _, err := j.Start(ctx, e.run, limitKey); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return j.Finish(ctx, e.run, limitKey, b)
}

// readLimit returns the journaled wait of the group's mesh on server.
func readLimit(ctx context.Context, j store.Journal, run string) (limitRecord, error) {
	var r limitRecord
	st, err := j.Get(ctx, run, limitKey)
	if errors.Is(err, store.ErrNotFound) {
		return r, nil
	}
	if err != nil || st.Status != store.StepDone {
		return r, err
	}
	return r, json.Unmarshal(st.Result, &r)
}

// resumeMargin is waited beyond a window's reset: the server's clock may
// run a little behind ours.
const resumeMargin = 5 * time.Second

// Resume seeds the mesh and, while the server's rate limit holds part of
// it back, waits for the window to reopen and seeds again, until the
// mesh is whole, stuck, or ctx ends. Each pass does only what the
// journal lacks, so a process killed while it waits and started again
// (see ResumeLater) picks up where it was, with no follow made twice.
func (e *Engine) Resume(ctx context.Context) error {
	for {
		err := e.Seed(ctx)
		var le *LimitedError
		if !errors.As(err, &le) {
			return err
		}
		wait := le.Until.Sub(e.clock.Now()) + resumeMargin
		e.cfg.Emit.Emit(progress.Event{Kind: progress.Log, Step: StepFollows, Message: le.Error()})
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-e.clock.After(wait):
		}
	}
}

// ResumeLater runs Resume in the background, once at a time, when the
// journal says part of the mesh waits for a rate limit (after a Seed
// that hit one, or in a process started again after one was killed
// while it waited). Errors go to Config.Emit.
func (e *Engine) ResumeLater(ctx context.Context) {
	r, err := readLimit(ctx, e.journal(), e.run)
	if err != nil || r.Until.IsZero() || !e.resuming.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer e.resuming.Store(false)
		if err := e.Resume(context.WithoutCancel(ctx)); err != nil && !errors.Is(err, ErrStuck) {
			e.cfg.Emit.Emit(progress.Event{Kind: progress.Failed, Step: StepFollows, Message: err.Error(), Err: err})
		}
	}()
}
