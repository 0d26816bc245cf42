// Package follows reads the follow lists out of the data exports people
// can download from the networks they are leaving: an X archive, a
// Bluesky repository, a Mastodon or GoToSocial CSV, an Instagram or
// Threads export.
//
// Each importer keeps exactly two things: the person's own identity, as
// the export gives it, and their follow lists. Everything else in the
// archive (posts, messages, e-mail addresses, media) is skipped while
// reading and never held. Every importer streams its input under a size
// cap, and anything it does not expect is refused with an *Error naming
// the file, the entry, line or record, and what is wrong: an export that
// is half read would give a graph with people silently missing.
package follows

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Network is where an account lives; it prefixes the account's label in
// an edge list, so that the same name on two networks stays two people.
type Network string

// The networks whose exports are read.
const (
	X       Network = "x"
	Bluesky Network = "bsky"
	Fedi    Network = "fedi" // Mastodon, GoToSocial and other Mastodon-API servers
	Meta    Network = "ig"   // Instagram and Threads share one username
)

// Account is one account as the export names it: a handle, an id, or
// both. X's follow lists give only numeric ids; Bluesky gives DIDs (in
// ID); Mastodon, GoToSocial and Instagram give handles.
type Account struct {
	Handle string
	ID     string
}

// Export is what an importer keeps of a download: whose it is and whom
// they follow and are followed by. Self is zero where the export does not
// name its owner (Mastodon's CSV, Instagram's JSON files); the caller
// then says who it is with SetOwner.
type Export struct {
	File      string // as the caller named it
	Network   Network
	Format    string // what was read, for messages: "X archive", "Bluesky repository", …
	Self      Account
	Following []Account
	Followers []Account
}

// Limits bound what one file may make the importer read and hold.
type Limits struct {
	// MaxBytes caps the bytes read from the file, counted after
	// decompression for a zip: a zip bomb stops here.
	MaxBytes int64
	// MaxEntries caps the entries of a zip and the blocks of a CAR.
	MaxEntries int
	// MaxAccounts caps each follow list.
	MaxAccounts int
}

// DefaultLimits fit the largest exports people download: an X archive
// with its media holds hundreds of thousands of files, a Bluesky repository
// of a busy account a few hundred megabytes, a popular account's follower
// list a few million names.
var DefaultLimits = Limits{MaxBytes: 1 << 30, MaxEntries: 1_000_000, MaxAccounts: 5_000_000}

// MaxName is the longest handle or id kept: with the network's prefix it
// still fits an edge list's label (analyze.MaxLabel, 256 bytes).
const MaxName = 200

// Sentinels for errors.Is; every error an importer returns is an *Error
// wrapping one of them.
var (
	// ErrFormat: the file is of a known kind but not as its format says.
	ErrFormat = errors.New("damaged or unexpected export")
	// ErrTooLarge: the file is over a cap of Limits.
	ErrTooLarge = errors.New("export too large")
	// ErrUnknown: the file is none of the exports this package reads.
	ErrUnknown = errors.New("not an export of a known kind")
	// ErrOwner: the owner given for an export is not a valid identity,
	// or not the one the export names.
	ErrOwner = errors.New("wrong owner for an export")
	// ErrNoOwner: the export does not say whose it is, and nobody did.
	ErrNoOwner = errors.New("export names no owner")
)

// Error says which file is wrong, where in it, and how.
type Error struct {
	File  string // the file as the caller named it
	Where string // "entry data/following.js, record 3", "line 4", "block 17"; empty for the whole file
	Msg   string
	Err   error // one of the sentinels
}

func (e *Error) Error() string {
	if e.Where == "" {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", e.File, e.Where, e.Msg)
}

func (e *Error) Unwrap() error { return e.Err }

// errorf makes a format error; callers wrap other sentinels explicitly.
func errorf(file, where, format string, a ...any) *Error {
	return &Error{File: file, Where: where, Msg: fmt.Sprintf(format, a...), Err: ErrFormat}
}

func tooLarge(file, where, format string, a ...any) *Error {
	return &Error{File: file, Where: where, Msg: fmt.Sprintf(format, a...), Err: ErrTooLarge}
}

// capReader reads at most n bytes of r and then fails with errCapped
// instead of ending quietly: a quiet end would look like a complete, only
// shorter, export.
type capReader struct {
	r io.Reader
	n int64
}

var errCapped = errors.New("over the size cap")

func (c *capReader) Read(p []byte) (int, error) {
	if c.n <= 0 {
		// One byte more than allowed tells a file of exactly the cap
		// from a longer one.
		var one [1]byte
		n, err := c.r.Read(one[:])
		if n > 0 {
			return 0, errCapped
		}
		return 0, err
	}
	if int64(len(p)) > c.n {
		p = p[:c.n]
	}
	n, err := c.r.Read(p)
	c.n -= int64(n)
	return n, err
}

// plainName reports whether s can be a label in a space-separated edge
// list and be shown on a terminal as it is: 1 to MaxName bytes of UTF-8
// without spaces, controls or invisible formatting characters.
func plainName(s string) bool { return plain(s, MaxName) }

// plain reports whether s is 1 to max bytes of UTF-8 without spaces,
// controls or invisible formatting characters.
func plain(s string, max int) bool {
	if s == "" || len(s) > max || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
			return false
		}
	}
	return true
}

// asciiName reports whether s is 1 to max bytes drawn from extra and
// ASCII letters and digits.
func asciiName(s string, max int, extra string) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(extra, c) >= 0) {
			return false
		}
	}
	return true
}

// quote shows a value from the file in a message: Go-quoted and cut, so
// that a hostile or huge value neither floods nor steers the terminal.
func quote(s string) string {
	const max = 60
	if len(s) > max {
		s = s[:max] + "…"
	}
	return fmt.Sprintf("%q", s)
}
