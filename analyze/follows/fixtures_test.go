package follows

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// The fixtures are invented people (ada_example, ben, cleo, dev, eve)
// written after each format's published description. The text ones are
// kept as they are in testdata; the binary ones (the zips, the CAR) are
// made from testdata sources by the code below, and TestFixtures keeps the
// committed copies (used by the command's scripts) equal to what it makes.

var update = flag.Bool("update", false, "rewrite the binary fixtures in testdata")

// Invented DIDs of the did:plc form (24 base32 characters).
const (
	didAda  = "did:plc:adaexampleaaaaaaaaaaaaaa"
	didBen  = "did:plc:benexamplebbbbbbbbbbbbbbb"
	didCleo = "did:plc:cleoexamplecccccccccccccc"
	didDev  = "did:plc:devexampledddddddddddddd"
)

// zipOf zips files (name → content) in the order given, stored
// uncompressed when deflate is false so that the bytes do not depend on
// the compressor's version.
func zipOf(t testing.TB, deflate bool, names []string, files map[string][]byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	for _, name := range names {
		h := &zip.FileHeader{Name: name, Method: zip.Store, Modified: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
		if deflate {
			h.Method = zip.Deflate
		}
		f, err := w.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(files[name]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// zipDir zips the files under dir with names relative to it, sorted.
func zipDir(t testing.TB, dir string) []byte {
	t.Helper()
	files := map[string][]byte{}
	var names []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		data, err := os.ReadFile(path)
		names = append(names, filepath.ToSlash(rel))
		files[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return zipOf(t, false, names, files)
}

// DAG-CBOR encoding: map keys sorted by length, then bytes.
var dagEnc = func() cbor.EncMode {
	em, err := cbor.EncOptions{Sort: cbor.SortLengthFirst}.EncMode()
	if err != nil {
		panic(err)
	}
	return em
}()

func encode(t testing.TB, v any) []byte {
	t.Helper()
	b, err := dagEnc.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// cidOf is the CIDv1 (DAG-CBOR, SHA-256) of a block's bytes.
func cidOf(data []byte) []byte {
	sum := sha256.Sum256(data)
	return append([]byte{1, codecDAGCBOR, hashSHA256, 32}, sum[:]...)
}

// linkTo is a DAG-CBOR link to the block with these bytes.
func linkTo(data []byte) cbor.Tag {
	return cbor.Tag{Number: 42, Content: append([]byte{0}, cidOf(data)...)}
}

type carBlock struct {
	cid, data []byte
}

func blockOf(data []byte) carBlock { return carBlock{cid: cidOf(data), data: data} }

// carOf writes a CAR v1 with the given roots and blocks.
func carOf(t testing.TB, roots [][]byte, blocks ...carBlock) []byte {
	t.Helper()
	var links []cbor.Tag
	for _, r := range roots {
		links = append(links, cbor.Tag{Number: 42, Content: append([]byte{0}, r...)})
	}
	var b bytes.Buffer
	section := func(parts ...[]byte) {
		n := 0
		for _, p := range parts {
			n += len(p)
		}
		b.Write(binary.AppendUvarint(nil, uint64(n)))
		for _, p := range parts {
			b.Write(p)
		}
	}
	section(encode(t, map[string]any{"version": 1, "roots": links}))
	for _, bl := range blocks {
		section(bl.cid, bl.data)
	}
	return b.Bytes()
}

// entry is an MST entry before prefix compression.
type mstKV struct {
	key     string
	value   []byte // the record block
	subtree []byte // the node block to the right, or nil
}

// mstNodeOf encodes an MST node, compressing each key against the one
// before it in the node.
func mstNodeOf(t testing.TB, left []byte, entries ...mstKV) []byte {
	t.Helper()
	var es []map[string]any
	prev := ""
	for _, e := range entries {
		p := 0
		for p < len(prev) && p < len(e.key) && prev[p] == e.key[p] {
			p++
		}
		var sub any
		if e.subtree != nil {
			sub = linkTo(e.subtree)
		}
		es = append(es, map[string]any{"p": p, "k": []byte(e.key[p:]), "v": linkTo(e.value), "t": sub})
		prev = e.key
	}
	var l any
	if left != nil {
		l = linkTo(left)
	}
	return encode(t, map[string]any{"l": l, "e": es})
}

func follow(t testing.TB, subject, at string) []byte {
	return encode(t, map[string]any{"$type": "app.bsky.graph.follow", "subject": subject, "createdAt": at})
}

// repo is ada's Bluesky repository: a profile, a like, a post and three
// follows, in a tree of three nodes.
type repo struct {
	commit, root, leafA, leafB []byte
	records                    [][]byte
}

func adaRepo(t testing.TB) repo {
	profile := encode(t, map[string]any{"$type": "app.bsky.actor.profile", "displayName": "Ada Example"})
	like := encode(t, map[string]any{"$type": "app.bsky.feed.like", "createdAt": "2026-03-01T10:00:00Z",
		"subject": map[string]any{"uri": "at://" + didBen + "/app.bsky.feed.post/3lbaaaaaaaa2z", "cid": linkTo([]byte("a post"))}})
	post := encode(t, map[string]any{"$type": "app.bsky.feed.post", "text": "Never read by the importer.", "createdAt": "2026-03-01T11:00:00Z"})
	fBen := follow(t, didBen, "2026-03-02T09:00:00Z")
	fCleo := follow(t, didCleo, "2026-03-02T09:01:00Z")
	fDev := follow(t, didDev, "2026-03-02T09:02:00Z")
	leafA := mstNodeOf(t, nil,
		mstKV{key: "app.bsky.actor.profile/self", value: profile},
		mstKV{key: "app.bsky.feed.like/3lbaaaaaaaa2a", value: like},
		mstKV{key: "app.bsky.feed.post/3lbaaaaaaaa2b", value: post})
	leafB := mstNodeOf(t, nil, mstKV{key: "app.bsky.graph.follow/3lbaaaaaaaa2d", value: fCleo})
	root := mstNodeOf(t, leafA,
		mstKV{key: "app.bsky.graph.follow/3lbaaaaaaaa2c", value: fBen, subtree: leafB},
		mstKV{key: "app.bsky.graph.follow/3lbaaaaaaaa2e", value: fDev})
	commit := encode(t, map[string]any{"did": didAda, "version": 3, "data": linkTo(root),
		"rev": "3lbaaaaaaaa2f", "prev": nil, "sig": make([]byte, 64)})
	return repo{commit: commit, root: root, leafA: leafA, leafB: leafB,
		records: [][]byte{profile, like, post, fBen, fCleo, fDev}}
}

// car writes the repository as getRepo does: the commit first, then
// tree nodes and records; skip leaves out the blocks given.
func (r repo) car(t testing.TB, skip ...[]byte) []byte {
	var blocks []carBlock
	for _, b := range append([][]byte{r.commit, r.root, r.leafA, r.leafB}, r.records...) {
		kept := true
		for _, s := range skip {
			kept = kept && !bytes.Equal(s, b)
		}
		if kept {
			blocks = append(blocks, blockOf(b))
		}
	}
	return carOf(t, [][]byte{cidOf(r.commit)}, blocks...)
}

// binaryFixtures are the fixtures made from sources, by file name.
func binaryFixtures(t testing.TB) map[string][]byte {
	ada := zipDir(t, "testdata/x-ada")
	return map[string][]byte{
		"x-ada.zip":         ada,
		"x-ben.zip":         zipDir(t, "testdata/x-ben"),
		"x-ada-cut.zip":     ada[:len(ada)*2/3],
		"instagram-eve.zip": zipDir(t, "testdata/instagram-eve"),
		"bsky-ada.car":      adaRepo(t).car(t),
	}
}

// TestFixtures keeps the committed binary fixtures equal to what their
// sources make (go test ./follows -run TestFixtures -update rewrites them).
func TestFixtures(t *testing.T) {
	for name, want := range binaryFixtures(t) {
		path := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is not what its sources make (%v): run go test ./follows -run TestFixtures -update", path, err)
		}
	}
}

// jsFile is an X archive data file holding records.
func jsFile(kind string, records ...string) []byte {
	return []byte("window.YTD." + kind + ".part0 = [\n" + strings.Join(records, ",\n") + "\n]\n")
}
