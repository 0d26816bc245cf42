// Package admission is how a group joins a server it does not run: the
// lead sends the server's admin a signed admission request (who the group
// is, how many, when, which rules it accepts, salted hashes of the
// members' emails and the group's public key); the admin decides once for
// the whole group; and then each member signs up with a proof in the
// sign-up reason, which the admin's watcher checks before approving —
// bound to that member's email, single-use, inside the arrival window.
// Sign-ups without a valid proof are left for the admin, untouched.
package admission

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Version is the request document's format version.
const Version = 1

// Request is the signed admission request document. Its JSON encoding
// (with Signature empty) is what the group's key signs.
type Request struct {
	Format    int       `json:"lifeboat_admission"` // Version
	ID        string    `json:"id"`                 // 16 hex digits, random; proofs name it
	Server    string    `json:"server"`             // the server asked, base URL
	Group     Group     `json:"group"`
	Lead      Contact   `json:"lead"`
	Size      int       `json:"size"` // number of members
	Window    Window    `json:"window"`
	Rules     []string  `json:"rules"`      // the server's rules the group accepts, verbatim
	EmailSalt string    `json:"email_salt"` // base64url, 16 bytes
	Members   []string  `json:"members"`    // EmailHash of each member, sorted
	PublicKey string    `json:"public_key"` // base64url Ed25519 public key of the group
	CreatedAt time.Time `json:"created_at"`
	Message   string    `json:"message,omitempty"` // from the lead to the admin
	Signature string    `json:"signature,omitempty"`
}

// Group names the group.
type Group struct {
	Name  string `json:"name"`
	Title string `json:"title"`
}

// Contact is how the admin reaches the lead.
type Contact struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

// Window is when the members will sign up. A proof is only good for a
// sign-up made inside it.
type Window struct {
	From  time.Time `json:"from"`
	Until time.Time `json:"until"`
}

// Contains reports whether t is inside the window (both ends included).
func (w Window) Contains(t time.Time) bool { return !t.Before(w.From) && !t.After(w.Until) }

// Draft is what the lead fills in to make a request.
type Draft struct {
	Server  string
	Group   Group
	Lead    Contact
	Emails  []string // the members' emails
	Window  Window
	Rules   []string
	Message string
}

// Errors from Verify and Decode.
var (
	ErrBadSignature = errors.New("admission: signature does not verify")
	ErrMalformed    = errors.New("admission: malformed request")
)

// New makes and signs a request with the group's key.
func New(d Draft, key ed25519.PrivateKey, now time.Time) (*Request, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("admission: group key has %d bytes, want %d", len(key), ed25519.PrivateKeySize)
	}
	if len(d.Emails) == 0 {
		return nil, fmt.Errorf("admission: the group has no members")
	}
	if !d.Window.Until.After(d.Window.From) {
		return nil, fmt.Errorf("admission: the arrival window ends before it starts")
	}
	id := make([]byte, 8)
	salt := make([]byte, 16)
	rand.Read(id)
	rand.Read(salt)
	r := &Request{
		Format:    Version,
		ID:        hex.EncodeToString(id),
		Server:    strings.TrimRight(d.Server, "/"),
		Group:     d.Group,
		Lead:      d.Lead,
		Window:    Window{From: d.Window.From.UTC().Truncate(time.Second), Until: d.Window.Until.UTC().Truncate(time.Second)},
		Rules:     append([]string{}, d.Rules...),
		EmailSalt: b64.EncodeToString(salt),
		PublicKey: b64.EncodeToString(key.Public().(ed25519.PublicKey)),
		CreatedAt: now.UTC().Truncate(time.Second),
		Message:   d.Message,
	}
	seen := map[string]bool{}
	for _, e := range d.Emails {
		h := emailHash(salt, e)
		if !seen[h] {
			seen[h] = true
			r.Members = append(r.Members, h)
		}
	}
	slices.Sort(r.Members)
	r.Size = len(r.Members)
	sig := ed25519.Sign(key, r.signed())
	r.Signature = b64.EncodeToString(sig)
	return r, nil
}

var b64 = base64.RawURLEncoding

// signed is the message the signature covers: a domain separator and the
// document's JSON without the signature.
func (r *Request) signed() []byte {
	c := *r
	c.Signature = ""
	b, _ := json.Marshal(c)
	return append([]byte("lifeboat-admission-request\x00"), b...)
}

// Key returns the group's public key.
func (r *Request) Key() (ed25519.PublicKey, error) {
	k, err := b64.DecodeString(r.PublicKey)
	if err != nil || len(k) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: bad public key", ErrMalformed)
	}
	return ed25519.PublicKey(k), nil
}

// Fingerprint is a short, readable digest of the group's public key, for
// comparing over another channel ("is this really your group?").
func (r *Request) Fingerprint() string {
	k, err := r.Key()
	if err != nil {
		return "invalid"
	}
	return Fingerprint(k)
}

// Fingerprint of a public key: the first 8 bytes of its SHA-256 in hex,
// grouped by four.
func Fingerprint(k ed25519.PublicKey) string {
	s := sha256.Sum256(k)
	h := hex.EncodeToString(s[:8])
	return h[0:4] + "-" + h[4:8] + "-" + h[8:12] + "-" + h[12:16]
}

// Verify checks the document's shape and its signature by its own public
// key. Whether that key is really the group's is for the admin to judge
// (the fingerprint, the lead's contact).
func (r *Request) Verify() error {
	if r.Format != Version {
		return fmt.Errorf("%w: format %d, this Lifeboat reads %d", ErrMalformed, r.Format, Version)
	}
	if id, err := hex.DecodeString(r.ID); err != nil || len(id) != 8 {
		return fmt.Errorf("%w: bad id", ErrMalformed)
	}
	if s, err := b64.DecodeString(r.EmailSalt); err != nil || len(s) < 16 {
		return fmt.Errorf("%w: bad email salt", ErrMalformed)
	}
	if r.Size != len(r.Members) {
		return fmt.Errorf("%w: size %d but %d member hashes", ErrMalformed, r.Size, len(r.Members))
	}
	if !r.Window.Until.After(r.Window.From) {
		return fmt.Errorf("%w: window ends before it starts", ErrMalformed)
	}
	k, err := r.Key()
	if err != nil {
		return err
	}
	sig, err := b64.DecodeString(r.Signature)
	if err != nil || !ed25519.Verify(k, r.signed(), sig) {
		return ErrBadSignature
	}
	return nil
}

// HasMember reports whether email is one of the request's members.
func (r *Request) HasMember(email string) bool {
	salt, err := b64.DecodeString(r.EmailSalt)
	if err != nil {
		return false
	}
	_, ok := slices.BinarySearch(r.Members, emailHash(salt, email))
	return ok
}

// emailHash is the salted hash of a lower-cased email: SHA-256 over the
// salt, a zero byte and the email, first 16 bytes, base64url.
func emailHash(salt []byte, email string) string {
	return b64.EncodeToString(emailSum(salt, email))
}

func emailSum(salt []byte, email string) []byte {
	h := sha256.New()
	h.Write(salt)
	h.Write([]byte{0})
	h.Write([]byte(strings.ToLower(strings.TrimSpace(email))))
	return h.Sum(nil)[:16]
}

// Encode is the document as indented JSON, for a file.
func (r *Request) Encode() []byte {
	b, _ := json.MarshalIndent(r, "", "  ")
	return append(b, '\n')
}

// TokenPrefix starts the one-line form of a request, for pasting into a
// message or a link.
const TokenPrefix = "lifeboat-admission:"

// Token is the document on one line: TokenPrefix and its compact JSON in
// base64url.
func (r *Request) Token() string {
	b, _ := json.Marshal(r)
	return TokenPrefix + b64.EncodeToString(b)
}

// Decode reads a request from its JSON or its one-line Token form, and
// verifies it.
func Decode(data []byte) (*Request, error) {
	data = bytes.TrimSpace(data)
	if i := bytes.Index(data, []byte(TokenPrefix)); i >= 0 && (len(data) == 0 || data[0] != '{') {
		rest := data[i+len(TokenPrefix):]
		if j := bytes.IndexAny(rest, " \t\r\n\"'<>"); j >= 0 {
			rest = rest[:j]
		}
		b, err := b64.DecodeString(string(rest))
		if err != nil {
			return nil, fmt.Errorf("%w: bad token: %v", ErrMalformed, err)
		}
		data = b
	}
	var r Request
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if err := r.Verify(); err != nil {
		return &r, err
	}
	return &r, nil
}
