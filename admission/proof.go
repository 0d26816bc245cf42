package admission

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// A member proof is what a member puts in the sign-up reason so that the
// admin's watcher approves the sign-up. It is short enough for any
// server's reason field (Mastodon keeps 420 characters, GoToSocial 500):
//
//	lifeboat-proof:<base64url of 113 bytes>
//
// The bytes are: format (1), the request's id (8), the proof's own random
// id (8, for single use), the first 16 bytes of SHA-256(salt, 0, email)
// with the request's salt and the lower-cased email (16), not-before and
// not-after as big-endian Unix seconds (8 + 8), and the group key's
// Ed25519 signature over "lifeboat-member-proof\x00" and the 49 bytes
// before it (64).
const ProofPrefix = "lifeboat-proof:"

const (
	proofFormat  = 1
	proofBodyLen = 1 + 8 + 8 + 16 + 8 + 8
	proofLen     = proofBodyLen + ed25519.SignatureSize
)

// Proof is a parsed member proof. Parsing checks only its shape; Check
// judges it against a request.
type Proof struct {
	RequestID string // hex
	ID        string // hex; a proof is good for one sign-up
	Window    Window
	emailSum  []byte
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
	ErrReplayed      = errors.New("proof already used for another sign-up")
)

// IssueProof makes the proof for one member of req, signed with the
// group's key. An empty window means the request's window; a given one
// is clipped to it.
func IssueProof(req *Request, key ed25519.PrivateKey, email string, window Window) (string, error) {
	if len(key) != ed25519.PrivateKeySize {
		return "", fmt.Errorf("admission: bad group key")
	}
	if pub, err := req.Key(); err != nil || !pub.Equal(key.Public()) {
		return "", fmt.Errorf("admission: the key is not the one that signed request %s", req.ID)
	}
	if !req.HasMember(email) {
		return "", fmt.Errorf("admission: %s is not a member in request %s", email, req.ID)
	}
	rid, err := hex.DecodeString(req.ID)
	if err != nil || len(rid) != 8 {
		return "", fmt.Errorf("%w: bad id", ErrMalformed)
	}
	salt, err := b64.DecodeString(req.EmailSalt)
	if err != nil {
		return "", fmt.Errorf("%w: bad email salt", ErrMalformed)
	}
	w := req.Window
	if !window.From.IsZero() && window.From.After(w.From) {
		w.From = window.From
	}
	if !window.Until.IsZero() && window.Until.Before(w.Until) {
		w.Until = window.Until
	}
	b := make([]byte, 0, proofLen)
	b = append(b, proofFormat)
	b = append(b, rid...)
	pid := make([]byte, 8)
	rand.Read(pid)
	b = append(b, pid...)
	b = append(b, emailSum(salt, email)...)
	b = binary.BigEndian.AppendUint64(b, uint64(w.From.Unix()))
	b = binary.BigEndian.AppendUint64(b, uint64(w.Until.Unix()))
	b = append(b, ed25519.Sign(key, proofMessage(b))...)
	return ProofPrefix + b64.EncodeToString(b), nil
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
	p := &Proof{
		RequestID: hex.EncodeToString(b[1:9]),
		ID:        hex.EncodeToString(b[9:17]),
		emailSum:  b[17:33],
		Window: Window{
			From:  time.Unix(int64(binary.BigEndian.Uint64(b[33:41])), 0).UTC(),
			Until: time.Unix(int64(binary.BigEndian.Uint64(b[41:49])), 0).UTC(),
		},
		body: b[:proofBodyLen],
		sig:  b[proofBodyLen:],
	}
	return p, nil
}

// Check judges the proof for a sign-up by email made at signedUp, against
// the accepted request it names. It does not know about earlier uses:
// single use is the watcher's job.
func (p *Proof) Check(req *Request, email string, signedUp time.Time) error {
	if req.ID != p.RequestID {
		return ErrUnknownGroup
	}
	key, err := req.Key()
	if err != nil {
		return err
	}
	if !ed25519.Verify(key, proofMessage(p.body), p.sig) {
		return ErrForged
	}
	salt, err := b64.DecodeString(req.EmailSalt)
	if err != nil {
		return ErrMalformed
	}
	if !bytes.Equal(emailSum(salt, email), p.emailSum) {
		return ErrOtherEmail
	}
	if !req.HasMember(email) {
		return ErrNotMember
	}
	if !p.Window.Contains(signedUp) || !req.Window.Contains(signedUp) {
		return ErrOutsideWindow
	}
	return nil
}

// Reason is a sign-up reason carrying proof: a sentence for the admin
// reading the queue, then the proof. It is at least 40 characters (what
// GoToSocial requires when reasons are mandatory) and at most 400.
func Reason(groupTitle, proof string) string {
	t := strings.TrimSpace(groupTitle)
	if utf8.RuneCountInString(t) > 60 {
		t = string([]rune(t)[:59]) + "…"
	}
	if t == "" {
		t = "a Lifeboat group"
	}
	return fmt.Sprintf("I am joining with %q, admitted as a group through Lifeboat. %s", t, proof)
}
