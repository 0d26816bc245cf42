package web

import (
	"errors"
	"fmt"
	"os"
)

// Uploads is where the exports people upload wait while they are read
// (see receive), and how many may be received at once. An upload is
// spooled whole before anything is read of it: the join page and the
// pledge page take files of hundreds of megabytes on slow lines, so each
// one in flight holds a connection for minutes and up to its cap on disk.
// The join page is open to anyone on the internet, and a few addresses
// are enough to get past the per-IP limits; so the uploads received at
// once are counted, apart for the join page (no token) and the pledge
// pages (a member's token), and the disk they can take is at most
// public × the join page's cap + members × the pledge page's cap, 1.25
// GB with the defaults. Strangers cannot take the members' share.
//
// One Uploads serves every group a process serves: the disk is theirs
// together.
type Uploads struct {
	dir             string
	public, members chan struct{}
}

// The uploads received at once by default: 8 × 32 MB from the join page
// and 4 × 256 MB from pledge pages, sized for the smallest campaign home
// (2 GB of memory, 40 GB of disk). A Mastodon list or a Bluesky
// repository takes seconds, so a slot is mostly held by a slow line or
// by someone holding it on purpose.
const (
	DefaultPublicUploads = 8
	DefaultMemberUploads = 4
)

// errBusy: as many uploads as the server takes at once are being
// received; the person is asked to try again in a minute.
var errBusy = errors.New("web: too many uploads at once")

// NewUploads spools in dir (created 0700 when missing; "" is the system's
// temporary directory) and receives at most public uploads at once from
// the join page and members from pledge pages (0: the defaults).
//
// Give it a directory on the disk the state is on (serve uses the state
// directory): the system's /tmp is often a tmpfs, in memory, where a few
// uploads at their cap would take what the server needs to run.
func NewUploads(dir string, public, members int) (*Uploads, error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("uploads directory: %w", err)
		}
	}
	return &Uploads{dir: dir, public: make(chan struct{}, countOr(public, DefaultPublicUploads)),
		members: make(chan struct{}, countOr(members, DefaultMemberUploads))}, nil
}

func countOr(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}

// take holds one of the slots (of the join page's when public) and
// returns what gives it back, or false when all are taken. It never
// waits: a person waiting on a page cannot tell a queue from a hang.
func (u *Uploads) take(public bool) (release func(), ok bool) {
	slots := u.members
	if public {
		slots = u.public
	}
	select {
	case slots <- struct{}{}:
		return func() { <-slots }, true
	default:
		return nil, false
	}
}

// create is a new temporary file, unlinked before anything is written
// to it: it has no name on disk and is gone when it is closed, even
// after a crash. (A crash between creating and unlinking it, a moment,
// leaves an empty file.)
func (u *Uploads) create() (*os.File, error) {
	f, err := os.CreateTemp(u.dir, "lifeboat-upload-*")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name())
	return f, nil
}
