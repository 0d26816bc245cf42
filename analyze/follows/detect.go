package follows

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strings"
)

// ReadFile reads the export at path, telling its kind from its content,
// not its name (downloads get renamed): a zip holding data/account.js is
// an X archive, a zip holding following.json an Instagram or Threads
// export, a CAR a Bluesky repository, a CSV with Mastodon's header a
// Mastodon or GoToSocial list, a JSON document an Instagram or Threads
// list. Anything else is refused with an error wrapping ErrUnknown, so
// that the caller may try it as an edge list.
func ReadFile(path string, lim Limits) (*Export, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, errorf(path, "", "not a regular file")
	}
	return ReadAt(path, f, fi.Size(), lim)
}

// ReadAt reads an export of size bytes from ra as ReadFile does; name is
// the file as the caller names it, for messages. A zip's directory is at
// its end, so an export is read from something that seeks, not a stream:
// the web upload spools into a file that has no name on disk.
func ReadAt(name string, ra io.ReaderAt, size int64, lim Limits) (*Export, error) {
	head := make([]byte, min(512, size))
	if _, err := ra.ReadAt(head, 0); err != nil && err != io.EOF {
		return nil, fail(name, "", err, lim)
	}
	stream := func() io.Reader { return io.NewSectionReader(ra, 0, size) }
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")) || bytes.HasPrefix(head, []byte("PK\x05\x06")):
		return ReadZip(name, ra, size, lim)
	case isCAR(head):
		return ReadBluesky(name, stream(), lim)
	case bytes.HasPrefix(bytes.TrimPrefix(head, []byte("\ufeff")), []byte("Account address")):
		return ReadFediCSV(name, stream(), lim)
	case isJSON(head):
		return ReadMetaJSON(name, stream(), lim)
	default:
		return nil, &Error{File: name, Err: ErrUnknown,
			Msg: "not an X archive, a Bluesky repository, a Mastodon or GoToSocial CSV, or an Instagram or Threads export"}
	}
}

// ReadZip reads an X archive or an Instagram or Threads export, telling
// them apart by the entries inside.
func ReadZip(path string, ra io.ReaderAt, size int64, lim Limits) (*Export, error) {
	a, err := openArchive(path, ra, size, lim)
	if err != nil {
		return nil, err
	}
	for _, f := range a.zr.File {
		if xEntry.MatchString(f.Name) {
			return readX(a)
		}
	}
	return readMetaZip(a)
}

// isCAR: a varint length, then a DAG-CBOR map naming version and roots.
func isCAR(head []byte) bool {
	size, n := binary.Uvarint(head)
	if n <= 0 || size == 0 || size > maxCARHeader || n >= len(head) {
		return false
	}
	m := head[n]
	return (m == 0xa1 || m == 0xa2) && (bytes.Contains(head, []byte("roots")) || bytes.Contains(head, []byte("version")))
}

// isJSON: an object or a list, after an optional byte order mark and
// white space.
func isJSON(head []byte) bool {
	head = bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\ufeff")), " \t\r\n")
	return len(head) > 0 && (head[0] == '{' || head[0] == '[')
}

// Label is an account's name in an edge list: its network, a colon, and
// its handle or id: x:ada_example, x:id:1234 (an X account known only by
// id), bsky:did:plc:…, fedi:@ada@social.example, ig:ada.example. Handles
// are lower-cased, as every one of these networks matches them.
func Label(n Network, a Account) string {
	switch {
	case n == Bluesky:
		return "bsky:" + a.ID
	case n == Fedi:
		return "fedi:@" + a.Handle
	case n == X && a.Handle == "":
		return "x:id:" + a.ID
	}
	return string(n) + ":" + lower(a.Handle)
}

func lower(s string) string { return strings.ToLower(s) }

// SetOwner names the owner of an export that does not (a Mastodon CSV,
// Instagram JSON) as people write it on that network: @ada@social.example,
// ada.example, ada_example, did:plc:…. For an export that names its
// owner it checks that the two agree.
func (e *Export) SetOwner(s string) error {
	wrong := func(want string) error {
		return &Error{File: e.File, Err: ErrOwner, Msg: fmt.Sprintf("%s is not %s", quote(s), want)}
	}
	var a Account
	switch e.Network {
	case Fedi:
		h, err := fediAddress(s)
		if err != nil {
			return wrong("an address @user@domain")
		}
		a.Handle = h
	case Meta:
		a.Handle = lower(trimAt(s))
		if !metaUsername(a.Handle) {
			return wrong("an Instagram username")
		}
	case X:
		a.Handle = trimAt(s)
		if !xUsername(a.Handle) {
			return wrong("an X username")
		}
	case Bluesky:
		a.ID = s
		if !did.MatchString(s) {
			return wrong("a DID (did:plc:…); the repository's handle is not in it")
		}
	}
	if e.Self == (Account{}) {
		e.Self = a
		return nil
	}
	if Label(e.Network, e.Self) != Label(e.Network, a) {
		return &Error{File: e.File, Err: ErrOwner,
			Msg: fmt.Sprintf("the export is %s's, not %s's", Label(e.Network, e.Self), Label(e.Network, a))}
	}
	return nil
}

func trimAt(s string) string { return strings.TrimPrefix(s, "@") }

// Edges lists the follows of all exports as FOLLOWER FOLLOWEE label
// pairs, each once, in the order read. An X follow list names accounts
// by id only; where another of the exports is that account's own
// archive, the account gets its handle, so that two people's archives
// meet in one graph.
func Edges(exports []*Export) ([][2]string, error) {
	handles := map[string]string{}
	for _, e := range exports {
		if e.Network == X && e.Self.ID != "" {
			handles[e.Self.ID] = e.Self.Handle
		}
	}
	label := func(n Network, a Account) string {
		if n == X && a.Handle == "" {
			a.Handle = handles[a.ID]
		}
		return Label(n, a)
	}
	var out [][2]string
	seen := map[[2]string]bool{}
	add := func(from, to string) {
		p := [2]string{from, to}
		if from != to && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, e := range exports {
		if e.Self == (Account{}) {
			return nil, &Error{File: e.File, Err: ErrNoOwner, Msg: fmt.Sprintf("a %s does not say whose it is", e.Format)}
		}
		self := label(e.Network, e.Self)
		for _, a := range e.Following {
			add(self, label(e.Network, a))
		}
		for _, a := range e.Followers {
			add(label(e.Network, a), self)
		}
	}
	return out, nil
}
