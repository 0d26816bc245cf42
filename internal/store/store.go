// Package store keeps Lifeboat's state: groups, members, pledges, invites,
// the accounts made on destinations, and the journal that makes every bulk
// operation resumable. SQLite is the default; PostgreSQL is used when
// several `lifeboat serve` replicas share state. Both drivers pass one test
// suite (store_test.go), and share one SQL implementation with a small
// dialect for the differences; Open picks the driver from Config and
// applies the embedded migrations (migrations/<driver>/NNNN_*.sql).
//
// Races that matter are settled by the database with conditional updates
// (Groups.SetState, Invites.Redeem, Journal.Start), never by reading first,
// so they hold across processes too.
package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors; drivers map their own errors to these.
var (
	ErrNotFound  = errors.New("not found")
	ErrDuplicate = errors.New("already exists")
	ErrConflict  = errors.New("changed concurrently") // e.g. an invite redeemed twice
)

// Store is the whole state. Entity interfaces are small so callers take only
// what they use.
type Store interface {
	Groups() Groups
	Members() Members
	Pledges() Pledges
	Invites() Invites
	Accounts() Accounts
	Joins() Joins
	Journal() Journal
	Follows() Follows
	HomeApps() HomeApps
	// Tx runs fn in one transaction; fn's Store sees and writes only
	// within it. An error (or panic) rolls back.
	Tx(ctx context.Context, fn func(Store) error) error
	// Reseal seals every secret again with the key ring's first key, in
	// one transaction, and returns how many it sealed: the middle of a
	// key rotation.
	Reseal(ctx context.Context) (int, error)
	// Ping reports whether the database answers (for /healthz).
	Ping(ctx context.Context) error
	Close() error
}

// Group is a breakout group as the store knows it.
type Group struct {
	Name       string // the group file's slug; primary key
	Title      string
	File       string // path of the group file last used, for "recent groups"
	State      string // gathering | launched | arrived | failed
	SigningKey []byte // Ed25519 private key (secret, sealed at rest), made on first save
	CreatedAt  time.Time
	UpdatedAt  time.Time // last Put or SetState
	LaunchedAt time.Time // zero until launch
}

type Groups interface {
	// Put creates or updates a group; an existing SigningKey is kept when
	// g.SigningKey is empty.
	Put(ctx context.Context, g Group) error
	Get(ctx context.Context, name string) (Group, error)
	List(ctx context.Context) ([]Group, error)
	// SetState moves a group from one state to another atomically; it
	// returns ErrConflict when the group is not in state from. This is how
	// two serve processes agree on a single launch.
	SetState(ctx context.Context, name, from, to string, at time.Time) error
}

// Member is one person of a group. Email is stored lower-cased and is the
// member's key within the group.
type Member struct {
	Group    string
	Email    string
	Name     string
	Handle   string
	Username string
}

type Members interface {
	// Sync makes the group's members exactly ms (insert, update, delete).
	Sync(ctx context.Context, group string, ms []Member) error
	Get(ctx context.Context, group, email string) (Member, error)
	List(ctx context.Context, group string) ([]Member, error)
}

// Pledge is a member's conditional commitment: go if at least Threshold
// others go, and at least FollowThreshold of the people the member
// follows (0 means no such condition).
type Pledge struct {
	Group           string
	Email           string
	Threshold       int
	FollowThreshold int
	ShowName        bool // the member agreed to be listed on the public page
	Confirmed       bool // double opt-in done
	Withdrawn       bool
	CreatedAt       time.Time
	UpdatedAt       time.Time
	ConfirmedAt     time.Time
}

type Pledges interface {
	Put(ctx context.Context, p Pledge) error
	Get(ctx context.Context, group, email string) (Pledge, error)
	List(ctx context.Context, group string) ([]Pledge, error)
}

// Invite is a member's personal, single-use invite. Only a hash of the
// token is stored.
type Invite struct {
	Group      string
	Email      string
	TokenHash  string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	SentAt     time.Time
	RedeemedAt time.Time
}

type Invites interface {
	Put(ctx context.Context, inv Invite) error
	GetByHash(ctx context.Context, tokenHash string) (Invite, error)
	List(ctx context.Context, group string) ([]Invite, error)
	// Redeem marks the invite redeemed; ErrConflict if it already was,
	// ErrNotFound if there is none. Exactly one concurrent caller wins.
	Redeem(ctx context.Context, tokenHash string, at time.Time) error
}

// Account is a member's account: on the destination, or (a remote member,
// who kept an account elsewhere) on their own server. It has no password:
// a member's password is used for the one request that makes the account
// and never stored.
type Account struct {
	Group     string
	Email     string
	Server    string // base URL of the server the account lives on
	ID        string // account id on that server
	Username  string
	Token     string // secret, sealed at rest; the member's user token for follow seeding
	CreatedAt time.Time
	// Acct is the address others find the account by, user@domain. Empty
	// for accounts made before remote members existed: the destination's
	// own accounts are found by Username there.
	Acct string
	// MovedFrom is the member's old address when they moved an existing
	// account into the room (an alias here, a Move there); empty otherwise.
	MovedFrom string
	// Waiting is an account its member connected (from the join, pledge
	// or invite page) before arriving: it stays out of the mesh, the
	// lists and the room's counts until the member arrives (Enter).
	Waiting bool
}

// Remote tells whether the account lives on a server other than
// destination (a base URL): a member who kept their own account.
func (a Account) Remote(destination string) bool {
	return a.Server != "" && a.Server != destination
}

type Accounts interface {
	Put(ctx context.Context, a Account) error
	Get(ctx context.Context, group, email string) (Account, error)
	List(ctx context.Context, group string) ([]Account, error)
	// Enter marks the member's account as arrived (no longer Waiting);
	// ErrNotFound if they have none.
	Enter(ctx context.Context, group, email string) error
}

// Decisions the lead makes on a join.
const (
	JoinApproved = "approved"
	JoinDeclined = "declined"
)

// Join is a person who joined the group from its public join page. Email
// is stored lower-cased and is the key within the group, as for members.
type Join struct {
	Group, Email, Name string
	// Handles on the old networks, as the person gave them.
	X, Bluesky, Instagram string
	// Fediverse is an account the person has already (@user@server).
	Fediverse   string
	ConfirmedAt time.Time // zero until the person confirms their email
	Decision    string    // "" (none yet), JoinApproved or JoinDeclined
	DecidedAt   time.Time
	CreatedAt   time.Time
}

// Confirmed reports whether the person confirmed their email.
func (j Join) Confirmed() bool { return !j.ConfirmedAt.IsZero() }

type Joins interface {
	// Add records a new join; ErrDuplicate when the email has joined
	// already (and nothing changes).
	Add(ctx context.Context, j Join) error
	Get(ctx context.Context, group, email string) (Join, error)
	List(ctx context.Context, group string) ([]Join, error)
	// Confirm marks the email confirmed (the first time only).
	Confirm(ctx context.Context, group, email string, at time.Time) error
	// Decide records the lead's decision.
	Decide(ctx context.Context, group, email, decision string, at time.Time) error
	// Forget deletes, in one transaction, the join, the person's pledge,
	// every invite of theirs not yet redeemed, and their account row
	// unless they redeemed one (an account they connected from their own
	// server, with its token): ErrNotFound when there was none of them.
	Forget(ctx context.Context, group, email string) error
}

// FollowImport is what one data export gave of a member: the label of
// its owner (x:ada, bsky:did:plc:…), other labels of the same owner
// (x:id:1234), and the follows it lists as FOLLOWER FOLLOWEE label pairs.
// The export itself is never stored.
type FollowImport struct {
	Group     string
	Email     string // the member it was imported for
	Self      string
	Aliases   []string
	Format    string // "X archive", "Bluesky repository", …
	Edges     [][2]string
	CreatedAt time.Time
}

type Follows interface {
	// Put stores imp, replacing an earlier import of the same member and
	// owner (a newer download of the same account).
	Put(ctx context.Context, imp FollowImport) error
	// List returns the group's imports with their follows, by email and
	// owner.
	List(ctx context.Context, group string) ([]FollowImport, error)
	// Delete removes every import of the member and returns how many
	// there were.
	Delete(ctx context.Context, group, email string) (int, error)
	// Version changes whenever the group's imports do (a Put or a
	// Delete), so that a reader may keep the graph it built until then.
	Version(ctx context.Context, group string) (string, error)
}

// StepStatus is where a journaled step stands.
type StepStatus string

const (
	StepStarted StepStatus = "started" // begun, outcome unknown (a crash may have hit)
	StepDone    StepStatus = "done"
	StepFailed  StepStatus = "failed"
)

// Step is one journal entry: a step of a run, or one item of a step (a
// member's sign-up, one follow). Key is unique within Run.
type Step struct {
	Run       string
	Key       string
	Status    StepStatus
	Result    []byte // what the step produced, for resuming (JSON)
	Error     string
	Attempts  int
	UpdatedAt time.Time
}

type Journal interface {
	// Get returns the entry, or ErrNotFound.
	Get(ctx context.Context, run, key string) (Step, error)
	// Start records that key is being attempted (Attempts+1, status
	// started) and returns the entry as it was before, or ErrNotFound for
	// a first attempt. A caller that finds StepStarted knows a previous
	// attempt may have had effects and reconciles before acting again.
	Start(ctx context.Context, run, key string) (Step, error)
	Finish(ctx context.Context, run, key string, result []byte) error
	Fail(ctx context.Context, run, key, msg string) error
	// Record marks keys done in one write, started or not. It is for
	// items that are idempotent on the server (a follow): they need no
	// "started" mark, and batching keeps the journal off the hot path.
	Record(ctx context.Context, run string, keys []string) error
	// List returns the run's entries whose key starts with prefix, by key.
	List(ctx context.Context, run, prefix string) ([]Step, error)
}
