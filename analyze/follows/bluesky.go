package follows

import (
	"bytes"
	"fmt"
	"io"
	"regexp"

	"github.com/fxamacker/cbor/v2"
)

// A Bluesky repository export (Settings → Export my data, or
// com.atproto.sync.getRepo) is a CAR whose root is the signed commit:
//
//	{did, version: 3, data: link to the MST root, rev, prev, sig}
//
// The records hang off a Merkle search tree whose nodes are
//
//	{l: link or null, e: [{p: shared prefix length, k: key suffix, v: record link, t: subtree link or null}]}
//
// with keys "collection/record-key". A follow is a record of collection
// app.bsky.graph.follow, {$type, subject: the followed DID, createdAt}.
// The repository holds no followers: those are in other people's.

const followCollection = "app.bsky.graph.follow"

// did matches the DID syntax of the atproto spec.
var did = regexp.MustCompile(`^did:[a-z]+:[a-zA-Z0-9._:%-]*[a-zA-Z0-9._-]$`)

type commitBlock struct {
	DID     string `cbor:"did"`
	Version int    `cbor:"version"`
	Data    link   `cbor:"data"`
}

type mstNode struct {
	L link       `cbor:"l"`
	E []mstEntry `cbor:"e"`
}

type mstEntry struct {
	P int    `cbor:"p"`
	K []byte `cbor:"k"`
	V link   `cbor:"v"`
	T link   `cbor:"t"`
}

// node is what the walk needs of an MST node, in key order: its
// subtrees and the records of its entries that are follows.
type node []step

type step struct {
	cid    cid
	follow bool // a follow record, else a subtree
}

// ReadBluesky reads a Bluesky repository export: the owner's DID from
// the signed commit and the subjects of their follow records. Other
// records (posts, likes, blocks, the profile) are skipped unread.
func ReadBluesky(file string, r io.Reader, lim Limits) (*Export, error) {
	c, err := newCARReader(file, r, lim)
	if err != nil {
		return nil, err
	}
	if len(c.roots) != 1 || c.roots[0] == "" {
		return nil, errorf(file, "header", "%d roots; a repository has one, its commit", len(c.roots))
	}
	var (
		commit   *commitBlock
		nodes    = map[cid]node{}
		subjects = map[cid]string{}
	)
	for {
		b, err := c.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if b.codec != codecDAGCBOR {
			continue // a raw block holds no follow
		}
		if err := dagCBOR.Wellformed(b.data); err != nil {
			return nil, errorf(file, b.where(), "not valid DAG-CBOR: %v", err)
		}
		if b.cid == c.roots[0] {
			commit = &commitBlock{}
			if err := dagCBOR.Unmarshal(b.data, commit); err != nil {
				return nil, errorf(file, b.where(), "not a repository commit: %v", err)
			}
			continue
		}
		var probe struct {
			Type cbor.RawMessage `cbor:"$type"`
			E    cbor.RawMessage `cbor:"e"`
		}
		if dagCBOR.Unmarshal(b.data, &probe) != nil {
			continue // not a map: neither a record nor a tree node
		}
		switch {
		case probe.Type != nil:
			subject, err := followSubject(b.data, probe.Type)
			if err != nil {
				return nil, errorf(file, b.where(), "%v", err)
			}
			if subject != "" {
				subjects[b.cid] = subject
			}
		case probe.E != nil:
			n, err := readNode(b.data)
			if err != nil {
				return nil, errorf(file, b.where(), "not a repository tree node: %v", err)
			}
			if n == nil {
				n = node{} // an empty tree is still a tree
			}
			nodes[b.cid] = n
		}
	}
	switch {
	case commit == nil:
		return nil, errorf(file, "", "the commit %s named in the header is missing: the repository is incomplete", c.roots[0])
	case commit.Version != 3 && commit.Version != 2:
		return nil, errorf(file, "commit", "repository version %d; this reads versions 2 and 3", commit.Version)
	case !did.MatchString(commit.DID) || len(commit.DID) > MaxName:
		return nil, errorf(file, "commit", "did %s is not a DID", quote(commit.DID))
	case commit.Data == "":
		return nil, errorf(file, "commit", "no data link to the records")
	}
	ex := &Export{File: file, Network: Bluesky, Format: "Bluesky repository", Self: Account{ID: commit.DID}}
	if err := walk(file, cid(commit.Data), nodes, subjects, lim, &ex.Following); err != nil {
		return nil, err
	}
	return ex, nil
}

// followSubject returns the subject of a follow record, "" for a record
// of another type.
func followSubject(data, rawType []byte) (string, error) {
	var typ string
	if dagCBOR.Unmarshal(rawType, &typ) != nil || typ != followCollection {
		return "", nil
	}
	var rec struct {
		Subject string `cbor:"subject"`
	}
	if err := dagCBOR.Unmarshal(data, &rec); err != nil {
		return "", fmt.Errorf("a follow record of the wrong shape: %v", err)
	}
	if !did.MatchString(rec.Subject) || len(rec.Subject) > MaxName {
		return "", fmt.Errorf("a follow whose subject %s is not a DID", quote(rec.Subject))
	}
	return rec.Subject, nil
}

// readNode decodes an MST node, keeping the subtrees and the follows.
// Keys are stored as the suffix after a prefix shared with the entry
// before, so each is rebuilt in order.
func readNode(data []byte) (node, error) {
	var m mstNode
	if err := dagCBOR.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	var n node
	if m.L != "" {
		n = append(n, step{cid: cid(m.L)})
	}
	var key []byte
	for i, e := range m.E {
		if e.P < 0 || e.P > len(key) {
			return nil, fmt.Errorf("entry %d shares %d bytes with a key of %d", i+1, e.P, len(key))
		}
		key = append(key[:e.P], e.K...)
		slash := bytes.IndexByte(key, '/')
		if slash <= 0 || e.V == "" {
			return nil, fmt.Errorf("entry %d: key %s is not collection/record-key with a record", i+1, quote(string(key)))
		}
		if string(key[:slash]) == followCollection {
			n = append(n, step{cid: cid(e.V), follow: true})
		}
		if e.T != "" {
			n = append(n, step{cid: cid(e.T)})
		}
	}
	return n, nil
}

// walk collects the follows reachable from the tree's root in key order
// (record keys are timestamps, so in the order they were made), each
// tree node once, refusing a tree with nodes or follow records missing.
// The stack is explicit: a hostile tree can be as deep as it has nodes.
func walk(file string, root cid, nodes map[cid]node, subjects map[cid]string, lim Limits, out *[]Account) error {
	seen := map[cid]bool{}
	stack := []step{{cid: root}}
	for len(stack) > 0 {
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if s.follow {
			subject, ok := subjects[s.cid]
			if !ok {
				return errorf(file, "", "the follow record %s is missing or not a follow: the repository is incomplete", s.cid)
			}
			if len(*out) >= lim.MaxAccounts {
				return &Error{File: file, Msg: fmt.Sprintf("more than %d follows", lim.MaxAccounts), Err: ErrTooLarge}
			}
			*out = append(*out, Account{ID: subject})
			continue
		}
		if seen[s.cid] {
			continue
		}
		seen[s.cid] = true
		n, ok := nodes[s.cid]
		if !ok {
			return errorf(file, "", "the tree node %s is missing: the repository is incomplete", s.cid)
		}
		for i := len(n) - 1; i >= 0; i-- {
			stack = append(stack, n[i])
		}
	}
	return nil
}
