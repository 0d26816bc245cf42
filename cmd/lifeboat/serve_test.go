package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/provision/hetzner"
	"github.com/lifeboat-social/lifeboat/web"
)

// recordingArrivals counts the accounts it is asked for.
type recordingArrivals struct{ accounts atomic.Int32 }

func (r *recordingArrivals) CreateAccount(context.Context, string, string, string, string) error {
	r.accounts.Add(1)
	return nil
}
func (r *recordingArrivals) AuthorizeURL(context.Context, string, string, string) (string, error) {
	return "https://social.example/oauth/authorize", nil
}
func (r *recordingArrivals) Complete(context.Context, string, string, string, string) (web.ArrivalResult, error) {
	return web.ArrivalResult{}, nil
}
func (r *recordingArrivals) Destination() string { return "https://social.example" }

// serve follows a new server that comes up while it runs: before, members
// are told redemption is not open (and the destination is asked at most
// once per interval); once up, the next request connects, with no
// restart.
func TestServeFollowsDestination(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	var up atomic.Bool
	var tries atomic.Int32
	engine := &recordingArrivals{}
	var logs bytes.Buffer
	f := &followArrivals{connect: func(context.Context) (web.Arrivals, func(), error) {
		tries.Add(1)
		if !up.Load() {
			return nil, func() {}, fmt.Errorf("%w: no server yet; run lifeboat up first", hetzner.ErrNotReady)
		}
		return engine, func() {}, nil
	}, every: 30 * time.Second, now: func() time.Time { return now }, log: slog.New(slog.NewTextHandler(&logs, nil))}
	var stderr bytes.Buffer
	if err := f.start(ctx, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "run lifeboat up first; invites cannot be redeemed until then (serve connects by itself once it is up)") {
		t.Fatalf("start-up message: %q", stderr.String())
	}
	err := f.CreateAccount(ctx, "g", "a@example.org", "a", "pw")
	var pub web.PublicError
	if !errors.As(err, &pub) || !strings.Contains(pub.PublicMessage(), "cannot be made from this page yet") {
		t.Fatalf("before up: %v", err)
	}
	up.Store(true)
	if err := f.CreateAccount(ctx, "g", "a@example.org", "a", "pw"); !errors.As(err, &pub) || tries.Load() != 1 {
		t.Fatalf("within the interval: %v after %d tries, want notYet without asking again", err, tries.Load())
	}
	now = now.Add(31 * time.Second)
	if err := f.CreateAccount(ctx, "g", "a@example.org", "a", "pw"); err != nil || engine.accounts.Load() != 1 {
		t.Fatalf("after up: %v, %d accounts", err, engine.accounts.Load())
	}
	if _, err := f.AuthorizeURL(ctx, "g", "https://l.example/callback", "s"); err != nil || tries.Load() != 2 {
		t.Fatalf("connected once: %v, %d tries", err, tries.Load())
	}
	if !strings.Contains(logs.String(), "connected to the destination") {
		t.Errorf("no log of the connection: %s", logs.String())
	}

	// A failure other than "not up yet" at start-up stops serve.
	boom := errors.New("gotosocial exited while starting")
	g := &followArrivals{connect: func(context.Context) (web.Arrivals, func(), error) { return nil, func() {}, boom },
		every: time.Second, now: time.Now, log: slog.New(slog.DiscardHandler)}
	if err := g.start(ctx, &stderr); !errors.Is(err, boom) {
		t.Errorf("start with a broken destination: %v", err)
	}
}
