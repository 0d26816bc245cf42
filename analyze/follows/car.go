package follows

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/fxamacker/cbor/v2"
)

// A CAR (content-addressable archive, version 1) is a header and then
// blocks, each prefixed by its length as an unsigned varint:
//
//	varint(len) DAG-CBOR{version: 1, roots: [CID]}
//	varint(len) CID block-bytes
//	…
//
// A CID here is version 1: varint 1, varint codec (0x71 DAG-CBOR, 0x55
// raw), then a multihash: varint 0x12 (SHA-256), varint 32, the digest.
// Inside DAG-CBOR a link to another block is tag 42 over a byte string of
// 0x00 followed by the CID's bytes.
//
// The reader is small and written here because the CAR libraries bring
// the whole IPFS stack with them; a Bluesky repository needs none of it.

// Codecs and hash of the CIDs a repository uses.
const (
	codecDAGCBOR = 0x71
	codecRaw     = 0x55
	hashSHA256   = 0x12
)

// Caps of the CAR format itself: a header holds a few roots, and the
// atproto repository spec caps a record at well under a megabyte.
const (
	maxCARHeader = 64 << 10
	maxBlock     = 2 << 20
)

// cid is a CID's binary form, comparable and usable as a map key; ""
// stands for a null link.
type cid string

// String is the CID in its usual text form: multibase "b", base32.
func (c cid) String() string {
	if c == "" {
		return "null"
	}
	return "b" + b32.EncodeToString([]byte(c))
}

var b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// parseCID reads a CID at the start of b and returns it with its codec,
// its SHA-256 digest and its length in bytes.
func parseCID(b []byte) (c cid, codec uint64, digest []byte, n int, err error) {
	if len(b) >= 2 && b[0] == hashSHA256 && b[1] == 32 {
		return "", 0, nil, 0, errors.New("a version 0 CID, which repositories do not use")
	}
	var fields [4]uint64
	for i := range fields {
		v, k := binary.Uvarint(b[n:])
		if k <= 0 {
			return "", 0, nil, 0, errors.New("a CID cut short")
		}
		fields[i] = v
		n += k
	}
	switch {
	case fields[0] != 1:
		return "", 0, nil, 0, fmt.Errorf("CID version %d, not 1", fields[0])
	case fields[1] != codecDAGCBOR && fields[1] != codecRaw:
		return "", 0, nil, 0, fmt.Errorf("CID codec %#x, neither DAG-CBOR nor raw", fields[1])
	case fields[2] != hashSHA256 || fields[3] != 32:
		return "", 0, nil, 0, fmt.Errorf("CID hash %#x of %d bytes, not SHA-256", fields[2], fields[3])
	case len(b) < n+32:
		return "", 0, nil, 0, errors.New("a CID cut short")
	}
	return cid(b[:n+32]), fields[1], b[n : n+32], n + 32, nil
}

// dagCBOR decodes DAG-CBOR strictly: definite lengths, no repeated keys,
// valid UTF-8, bounded depth and size.
var dagCBOR = func() cbor.DecMode {
	dm, err := cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		MaxNestedLevels:   32,
		MaxArrayElements:  1 << 16,
		MaxMapPairs:       1 << 12,
		FieldNameMatching: cbor.FieldNameMatchingCaseSensitive,
		UTF8:              cbor.UTF8RejectInvalid,
	}.DecMode()
	if err != nil {
		panic(err) // the options are constants
	}
	return dm
}()

// link is a DAG-CBOR link (tag 42) or null, decoded to its CID.
type link cid

func (l *link) UnmarshalCBOR(data []byte) error {
	if bytes.Equal(data, []byte{0xf6}) { // null
		*l = ""
		return nil
	}
	var t cbor.RawTag
	if err := dagCBOR.Unmarshal(data, &t); err != nil || t.Number != 42 {
		return errors.New("a link that is not a CID (tag 42)")
	}
	var b []byte
	if err := dagCBOR.Unmarshal(t.Content, &b); err != nil || len(b) == 0 || b[0] != 0 {
		return errors.New("a link whose CID is not a byte string starting with 0")
	}
	c, _, _, n, err := parseCID(b[1:])
	if err != nil {
		return err
	}
	if n != len(b)-1 {
		return errors.New("a link with bytes after its CID")
	}
	*l = link(c)
	return nil
}

// block is one block of a CAR: its number (from 1), CID and bytes. The
// bytes are valid only until the next block is read.
type block struct {
	n     int
	cid   cid
	codec uint64
	data  []byte
}

func (b *block) where() string { return fmt.Sprintf("block %d (%s)", b.n, b.cid) }

// carReader reads a CAR v1 stream block by block, checking each block's
// bytes against its CID's digest.
type carReader struct {
	file  string
	br    *bufio.Reader
	lim   Limits
	roots []cid
	buf   []byte
	n     int
}

func newCARReader(file string, r io.Reader, lim Limits) (*carReader, error) {
	c := &carReader{file: file, br: bufio.NewReader(&capReader{r: r, n: lim.MaxBytes}), lim: lim}
	size, err := c.length("header", maxCARHeader)
	if err == io.EOF {
		return nil, errorf(file, "", "empty: not a CAR")
	}
	if err != nil {
		return nil, err
	}
	head := make([]byte, size)
	if _, err := io.ReadFull(c.br, head); err != nil {
		return nil, fail(file, "header", err, lim)
	}
	var h struct {
		Version uint64 `cbor:"version"`
		Roots   []link `cbor:"roots"`
	}
	if err := dagCBOR.Unmarshal(head, &h); err != nil {
		return nil, errorf(file, "header", "not a CAR header: %v", err)
	}
	switch {
	case h.Version == 2:
		return nil, errorf(file, "header", "a CAR of version 2; export the repository again (Bluesky exports version 1)")
	case h.Version != 1:
		return nil, errorf(file, "header", "CAR version %d, not 1", h.Version)
	}
	for _, r := range h.Roots {
		c.roots = append(c.roots, cid(r))
	}
	return c, nil
}

// length reads a section's varint length; io.EOF only at a clean end.
func (c *carReader) length(where string, max uint64) (int, error) {
	size, err := binary.ReadUvarint(c.br)
	switch {
	case err == io.EOF:
		return 0, io.EOF
	case err != nil:
		return 0, fail(c.file, where, err, c.lim)
	case size == 0:
		return 0, errorf(c.file, where, "a section of length 0")
	case size > max:
		return 0, tooLarge(c.file, where, "a section of %d bytes, over the cap of %d", size, max)
	}
	return int(size), nil
}

// next reads the next block; io.EOF after the last.
func (c *carReader) next() (*block, error) {
	where := fmt.Sprintf("block %d", c.n+1)
	size, err := c.length(where, maxBlock+64)
	if err != nil {
		return nil, err
	}
	if c.n >= c.lim.MaxEntries {
		return nil, tooLarge(c.file, where, "more than %d blocks", c.lim.MaxEntries)
	}
	c.n++
	if cap(c.buf) < size {
		c.buf = make([]byte, size)
	}
	buf := c.buf[:size]
	if _, err := io.ReadFull(c.br, buf); err != nil {
		return nil, fail(c.file, where, err, c.lim)
	}
	id, codec, digest, n, err := parseCID(buf)
	if err != nil {
		return nil, errorf(c.file, where, "%v", err)
	}
	b := &block{n: c.n, cid: id, codec: codec, data: buf[n:]}
	if sum := sha256.Sum256(b.data); !bytes.Equal(sum[:], digest) {
		return nil, errorf(c.file, b.where(), "its bytes do not match its CID: the file is damaged")
	}
	return b, nil
}
