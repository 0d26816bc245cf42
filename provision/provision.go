// Package provision makes destinations ready: a local GoToSocial on
// loopback (provision/local), a new instance on Hetzner Cloud
// (provision/hetzner), or an existing server that admits the group
// (provision/existing). Each reports progress as plain events.
package provision

import (
	"context"
	"errors"

	"github.com/lifeboat-social/lifeboat/internal/progress"
)

// Server is a destination that is up and answering the Mastodon API.
type Server struct {
	URL      string // base URL, no trailing slash
	Software string // gotosocial | mastodon
	// AdminToken is a token with admin scopes on a server Lifeboat runs
	// (local, new); empty for an existing server. Secret.
	AdminToken string
	// Accounts creates ready-to-use member accounts on servers Lifeboat
	// runs; nil for an existing server, where members sign up themselves.
	Accounts AccountMaker
	// Concurrency is how many requests at once suit the server, when the
	// destination knows better than the engine's default: Lifeboat's own
	// local server runs with throttling off and takes many. 0: no hint.
	Concurrency int
}

// ErrUsernameTaken is an AccountMaker's (and a sign-up's) answer when the
// username belongs to someone else: the member chooses another.
var ErrUsernameTaken = errors.New("the username is taken")

// AccountMaker creates accounts that can log in at once: signed up,
// approved and with a confirmed email, as the server requires.
type AccountMaker interface {
	// CreateAccount is idempotent: when the username already belongs to
	// email (a retry after a crash), it finishes whatever is missing and
	// returns the existing account's id.
	CreateAccount(ctx context.Context, username, email, password string) (id string, err error)
}

// Destination is a place a group can go.
type Destination interface {
	// Start makes the destination ready, reusing what earlier runs made.
	Start(ctx context.Context, emit progress.Func) (*Server, error)
	// Stop releases what Start holds in this process (a local server is
	// stopped; a cloud server is left running).
	Stop(ctx context.Context) error
}

// Readiness is implemented by destinations that can say, without making
// or starting anything, whether a group may launch onto them now. The
// launch waits for it: invites sent to a room that is not there yet are
// links that fail.
type Readiness interface {
	// Ready reports whether the destination can take the group now; when
	// it cannot, missing is one sentence naming the step that is missing
	// and what to run. err is for a check that could not be made at all
	// (the store unreachable), not for a destination that is not ready.
	Ready(ctx context.Context) (ok bool, missing string, err error)
}

// ReadyFunc is a Readiness made of a function.
type ReadyFunc func(ctx context.Context) (bool, string, error)

// Ready calls f.
func (f ReadyFunc) Ready(ctx context.Context) (bool, string, error) { return f(ctx) }

// Attacher is a destination that can connect to the server an earlier
// run made without making or changing anything: what lifeboat serve,
// which runs beside the server for weeks, uses instead of Start.
type Attacher interface {
	Attach(ctx context.Context, emit progress.Func) (*Server, error)
}

// ErrNotReady: the destination has no server answering yet (a new server
// that lifeboat up has not finished).
var ErrNotReady = errors.New("the server is not ready")

// StepDNSRecord names the progress events that carry, one per event in
// Message, the DNS records the lead must set for a new server, as soon as
// they are known and before anything waits for them.
const StepDNSRecord = "dns record"

// Prices are the server types a new server can have, priced for a group.
type Prices struct {
	Currency string
	Location string
	Types    []PricedType
	// Missing says what is needed before prices can be read (e.g. a
	// token); a screen shows it instead of failing.
	Missing []string
}

// PricedType is one server type with its monthly cost.
type PricedType struct {
	Name      string
	Cores     int
	MemoryGB  float64
	Monthly   float64
	PerMember float64
	Err       string // not orderable here, and why
}
