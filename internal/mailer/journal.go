package mailer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/store"
)

// ErrInProgress means another process (or goroutine) started the same
// send moments ago; it will finish it, so the caller should not retry now.
var ErrInProgress = errors.New("mail is being sent elsewhere")

// Journal sends each keyed mail once, recording it in the store's journal
// under Run (e.g. key "mail:invite:ben@example.org").
//
// Exactly once, as far as SMTP allows: a send marked done is never
// repeated; a send found started and older than Lease is one whose sender
// died, and it is sent again with the same Message-ID. Only a crash between
// the server's "250 OK" and the journal write can cause a second copy, and
// that copy carries the same Message-ID as the first.
type Journal struct {
	Sender Sender
	Steps  store.Journal
	Run    string
	Lease  time.Duration // default 2 minutes
	Now    func() time.Time
}

func (j *Journal) now() time.Time {
	if j.Now != nil {
		return j.Now()
	}
	return time.Now()
}

func (j *Journal) lease() time.Duration {
	if j.Lease > 0 {
		return j.Lease
	}
	return 2 * time.Minute
}

// Sent reports whether the mail with key was sent.
func (j *Journal) Sent(ctx context.Context, key string) (bool, error) {
	st, err := j.Steps.Get(ctx, j.Run, key)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil && st.Status == store.StepDone, err
}

// Send sends m unless the journal says it was sent: sent is false and err
// nil then. ErrInProgress when another sender holds it.
func (j *Journal) Send(ctx context.Context, key string, m Message) (sent bool, err error) {
	m.ID = MessageID(j.Run, key)
	cur, err := j.Steps.Get(ctx, j.Run, key)
	switch {
	case err == nil && cur.Status == store.StepDone:
		return false, nil
	case err == nil && cur.Status == store.StepStarted && j.now().Sub(cur.UpdatedAt) < j.lease():
		return false, ErrInProgress
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return false, fmt.Errorf("journaled mail %s: %w", key, err)
	}
	prev, err := j.Steps.Start(ctx, j.Run, key)
	switch {
	case errors.Is(err, store.ErrNotFound): // first attempt: ours
	case err != nil:
		return false, fmt.Errorf("journaled mail %s: %w", key, err)
	case prev.Status == store.StepDone:
		// Finished between our Get and Start: put it back.
		return false, j.Steps.Finish(ctx, j.Run, key, prev.Result)
	case prev.Status == store.StepStarted && j.now().Sub(prev.UpdatedAt) < j.lease():
		return false, ErrInProgress
	}
	if err := j.Sender.Send(ctx, m); err != nil {
		if ferr := j.Steps.Fail(context.WithoutCancel(ctx), j.Run, key, err.Error()); ferr != nil {
			return false, errors.Join(err, ferr)
		}
		return false, err
	}
	if err := j.Steps.Finish(context.WithoutCancel(ctx), j.Run, key, nil); err != nil {
		return true, fmt.Errorf("journaled mail %s: sent, but: %w", key, err)
	}
	return true, nil
}
