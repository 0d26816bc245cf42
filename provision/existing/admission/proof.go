package admission

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// A member proof is what a member puts in the sign-up reason so that the
// admin's watcher approves the sign-up. It is short enough for any
// server's reason field (Mastodon keeps 420 characters, GoToSocial 500):
//
//	lifeboat-proof:<base64url of 129 bytes>
//
// The bytes are: format (1), the request's identity (16), the member's
// secret (16), the member's entry (16), not-before and not-after as
// big-endian Unix seconds (8 + 8), and the group key's Ed25519 signature
// over "lifeboat-member-proof\x00" and the 65 bytes before it (64).
//
// A proof has no random part: the same member of the same request always
// gets the same proof, however often the invite page is opened. Single
// use is the watcher's: it approves one account per member entry, not
// per proof.
const ProofPrefix = "lifeboat-proof:"

const (
	proofFormat  = 2
	proofBodyLen = 1 + 16 + 16 + entryLen + 8 + 8
	proofLen     = proofBodyLen + ed25519.SignatureSize
)

// Proof is a parsed member proof. Parsing checks only its shape; Check
// judges it against a request.
type Proof struct {
	RequestID string // hex, the request's ID
	Member    string // the member's entry in the roster
	Window    Window
	secret    []byte
	body      []byte
	sig       []byte
}

// Reasons a proof is refused; the watcher logs them and leaves the
// sign-up for the admin.
var (
	ErrNoProof       = errors.New("no Lifeboat proof in the sign-up reason")
	ErrBadProof      = errors.New("malformed proof")
	ErrUnknownGroup  = errors.New("proof names a request this server has not accepted")
	ErrRejected      = errors.New("proof names a rejected request")
	ErrForged        = errors.New("proof signature does not verify with the group's key")
	ErrOtherEmail    = errors.New("proof is for another email")
	ErrNotMember     = errors.New("email is not one of the group's members")
	ErrOutsideWindow = errors.New("sign-up outside the proof's arrival window")
	ErrReplayed      = errors.New("member already has an approved account")
	ErrUnconfirmed   = errors.New("the account's email is not confirmed yet")
)

// IssueProof makes the proof for the member with email of req, signed
// with the group's key. An empty window means the request's window; a
// given one is clipped to it. It does not check that email is on the
// roster (amendments may have added it): MemberProof does, and the
// watcher refuses a proof for anyone else.
func IssueProof(req *Request, key ed25519.PrivateKey, email string, window Window) (string, error) {
	if len(key) != ed25519.PrivateKeySize {
		return "", fmt.Errorf("admission: bad group key")
	}
	if pub, err := req.Key(); err != nil || !pub.Equal(key.Public()) {
		return "", fmt.Errorf("admission: the key is not the one that signed request %s", req.ID())
	}
	nonce, err := b64.DecodeString(req.Nonce)
	if err != nil {
		return "", fmt.Errorf("%w: bad nonce", ErrMalformed)
	}
	w := req.Window
	if !window.From.IsZero() && window.From.After(w.From) {
		w.From = window.From
	}
	if !window.Until.IsZero() && window.Until.Before(w.Until) {
		w.Until = window.Until
	}
	return mintProof(req.ID(), memberSecret(key, nonce, email), email, w, key), nil
}

// mintProof builds and signs a proof naming the request with identity
// rid, for email with its member secret.
func mintProof(rid string, secret []byte, email string, w Window, key ed25519.PrivateKey) string {
	id, _ := hex.DecodeString(rid)
	b := make([]byte, 0, proofLen)
	b = append(b, proofFormat)
	b = append(b, id...)
	b = append(b, secret...)
	b = append(b, entrySum(secret, email)...)
	b = binary.BigEndian.AppendUint64(b, uint64(w.From.Unix()))
	b = binary.BigEndian.AppendUint64(b, uint64(w.Until.Unix()))
	b = append(b, ed25519.Sign(key, proofMessage(b))...)
	return ProofPrefix + b64.EncodeToString(b)
}

func proofMessage(body []byte) []byte {
	return append([]byte("lifeboat-member-proof\x00"), body...)
}

// ParseProof finds a proof in text (a sign-up reason) and parses it.
func ParseProof(text string) (*Proof, error) {
	i := strings.Index(text, ProofPrefix)
	if i < 0 {
		return nil, ErrNoProof
	}
	s := text[i+len(ProofPrefix):]
	if j := strings.IndexFunc(s, func(r rune) bool {
		return !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}); j >= 0 {
		s = s[:j]
	}
	b, err := b64.DecodeString(s)
	if err != nil || len(b) != proofLen || b[0] != proofFormat {
		return nil, ErrBadProof
	}
	return &Proof{
		RequestID: hex.EncodeToString(b[1:17]),
		secret:    b[17:33],
		Member:    b64.EncodeToString(b[33:49]),
		Window: Window{
			From:  time.Unix(int64(binary.BigEndian.Uint64(b[49:57])), 0).UTC(),
			Until: time.Unix(int64(binary.BigEndian.Uint64(b[57:65])), 0).UTC(),
		},
		body: b[:proofBodyLen],
		sig:  b[proofBodyLen:],
	}, nil
}

// Check judges the proof for a sign-up by email made at signedUp,
// against the request it names: the group's signature, the email, the
// window. Whether the member is on the roster (the request's members as
// amended) and has no other approved account is the watcher's to judge.
func (p *Proof) Check(req *Request, email string, signedUp time.Time) error {
	if req.ID() != p.RequestID {
		return ErrUnknownGroup
	}
	key, err := req.Key()
	if err != nil {
		return err
	}
	if !ed25519.Verify(key, proofMessage(p.body), p.sig) {
		return ErrForged
	}
	if !bytes.Equal(entrySum(p.secret, email), p.body[33:49]) {
		return ErrOtherEmail
	}
	if !p.Window.Contains(signedUp) || !req.Window.Contains(signedUp) {
		return ErrOutsideWindow
	}
	return nil
}

// Reason is a sign-up reason carrying proof: a sentence for the admin
// reading the queue, then the proof. It is at least 40 characters (what
// GoToSocial requires when reasons are mandatory) and at most 370 (a
// title of 60 quotes), inside Mastodon's 420.
func Reason(groupTitle, proof string) string {
	// Only printable characters, so that %q escapes nothing but quotes
	// and backslashes and the reason keeps its bound.
	t := strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, groupTitle))
	if utf8.RuneCountInString(t) > 60 {
		t = string([]rune(t)[:59]) + "…"
	}
	if t == "" {
		t = "a Lifeboat group"
	}
	return fmt.Sprintf("I am joining with %q, admitted as a group through Lifeboat. %s", t, proof)
}
