// Package admission is how a group joins a server it does not run: the
// lead sends the server's admin a signed admission request (who the group
// is, how many, when, which rules it accepts, one opaque entry per member
// and the group's public key); the admin decides once for the whole
// group; and then each member signs up with a proof in the sign-up
// reason, which the admin's watcher checks before approving — bound to
// that member's email, one approved account per member, inside the
// arrival window, on a confirmed email. Sign-ups without a valid proof
// are left for the admin, untouched.
//
// The admin is the party this package protects; docs/existing.md holds
// the threat model. In short: a request's identity is derived from its
// content and key, so nobody can speak for another group's request; a
// member entry is a commitment to the email under a secret only that
// member's proof reveals, so the request tells nobody who is in it; and
// approval is bound to the member, not to the proof.
package admission

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
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

// Version is the request document's format version. Format 1 carried an
// id chosen by its author and a salt that let anyone test emails for
// membership; it is refused.
const Version = 2

// MaxDocument caps what Decode reads: a request of 100,000 members is
// about 3 MB.
const MaxDocument = 8 << 20

// Request is the signed admission request document. Its JSON encoding
// (with Signature empty) is what the group's key signs. It has no id
// field: its identity is ID, derived from what it says and who signed it.
type Request struct {
	Format    int       `json:"lifeboat_admission"` // Version
	Server    string    `json:"server"`             // the server asked, base URL
	Group     Group     `json:"group"`
	Lead      Contact   `json:"lead"`
	Size      int       `json:"size"` // number of members
	Window    Window    `json:"window"`
	Rules     []string  `json:"rules"` // the server's rules the group accepts, verbatim
	Nonce     string    `json:"nonce"` // base64url, 16 random bytes: makes each request's members' secrets its own
	Members   []string  `json:"members"`
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
	nonce := make([]byte, 16)
	rand.Read(nonce)
	r := &Request{
		Format:    Version,
		Server:    strings.TrimRight(d.Server, "/"),
		Group:     d.Group,
		Lead:      d.Lead,
		Window:    Window{From: d.Window.From.UTC().Truncate(time.Second), Until: d.Window.Until.UTC().Truncate(time.Second)},
		Rules:     append([]string{}, d.Rules...),
		Nonce:     b64.EncodeToString(nonce),
		PublicKey: b64.EncodeToString(key.Public().(ed25519.PublicKey)),
		CreatedAt: now.UTC().Truncate(time.Second),
		Message:   d.Message,
	}
	r.Members = entries(key, nonce, d.Emails)
	r.Size = len(r.Members)
	r.Signature = b64.EncodeToString(ed25519.Sign(key, r.signed()))
	return r, nil
}

// entries are the sorted, distinct member entries of emails.
func entries(key ed25519.PrivateKey, nonce []byte, emails []string) []string {
	var out []string
	for _, e := range emails {
		out = append(out, entry(memberSecret(key, nonce, e), e))
	}
	slices.Sort(out)
	return slices.Compact(out)
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

// ID is the request's identity: the first 16 bytes of SHA-256 over the
// signed document, which holds the public key, in hex. The author cannot
// choose it: another key, or any other change, gives another identity,
// so decisions and proofs bound to it belong to this document alone.
func (r *Request) ID() string {
	s := sha256.Sum256(append([]byte("lifeboat-admission-id\x00"), r.signed()...))
	return hex.EncodeToString(s[:16])
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
		return fmt.Errorf("%w: format %d, this Lifeboat reads %d (ask the lead for a new request)", ErrMalformed, r.Format, Version)
	}
	if n, err := b64.DecodeString(r.Nonce); err != nil || len(n) != 16 {
		return fmt.Errorf("%w: bad nonce", ErrMalformed)
	}
	if r.Size != len(r.Members) {
		return fmt.Errorf("%w: size %d but %d member entries", ErrMalformed, r.Size, len(r.Members))
	}
	if err := checkEntries(r.Members); err != nil {
		return err
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

// checkEntries: sorted, distinct, each 16 bytes.
func checkEntries(es []string) error {
	for i, e := range es {
		if b, err := b64.DecodeString(e); err != nil || len(b) != entryLen {
			return fmt.Errorf("%w: bad member entry %d", ErrMalformed, i+1)
		}
		if i > 0 && es[i-1] >= e {
			return fmt.Errorf("%w: member entries not sorted and distinct", ErrMalformed)
		}
	}
	return nil
}

// Roster is a set of member entries.
type Roster map[string]bool

// Roster is the request's own members (without amendments).
func (r *Request) Roster() Roster {
	m := Roster{}
	for _, e := range r.Members {
		m[e] = true
	}
	return m
}

// A member's entry in a request is a commitment to their email under a
// secret of 16 bytes that the group's key derives for this request
// (HMAC-SHA256 keyed with the key's seed, over the request's nonce and
// the email). The secret is revealed only in that member's proof, so
// the request alone lets nobody test a guessed email: there is no salt
// to hash guesses with.
const entryLen = 16

func normEmail(e string) string { return strings.ToLower(strings.TrimSpace(e)) }

func memberSecret(key ed25519.PrivateKey, nonce []byte, email string) []byte {
	m := hmac.New(sha256.New, key.Seed())
	m.Write([]byte("lifeboat-member-secret\x00"))
	m.Write(nonce)
	m.Write([]byte{0})
	m.Write([]byte(normEmail(email)))
	return m.Sum(nil)[:16]
}

func entrySum(secret []byte, email string) []byte {
	h := sha256.New()
	h.Write([]byte("lifeboat-member\x00"))
	h.Write(secret)
	h.Write([]byte{0})
	h.Write([]byte(normEmail(email)))
	return h.Sum(nil)[:entryLen]
}

func entry(secret []byte, email string) string { return b64.EncodeToString(entrySum(secret, email)) }

// Encode is the document as indented JSON, for a file.
func (r *Request) Encode() []byte { return encode(r) }

func encode(v any) []byte {
	b, _ := json.MarshalIndent(v, "", "  ")
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
// verifies it. A request that does not verify is returned with the
// error, so that the admin can be shown what it claims.
func Decode(data []byte) (*Request, error) {
	raw, err := unwrap(data, TokenPrefix)
	if err != nil {
		return nil, err
	}
	var head struct {
		Format int `json:"lifeboat_admission"`
	}
	if json.Unmarshal(raw, &head) == nil && head.Format != Version {
		return nil, fmt.Errorf("%w: format %d, this Lifeboat reads %d (ask the lead for a new request)", ErrMalformed, head.Format, Version)
	}
	var r Request
	if err := strict(raw, &r); err != nil {
		return nil, err
	}
	if err := r.Verify(); err != nil {
		return &r, err
	}
	return &r, nil
}

// unwrap returns a document's JSON from the JSON itself or from its
// one-line form after prefix.
func unwrap(data []byte, prefix string) ([]byte, error) {
	if len(data) > MaxDocument {
		return nil, fmt.Errorf("%w: %d bytes; documents are limited to %d MiB", ErrMalformed, len(data), MaxDocument>>20)
	}
	data = bytes.TrimSpace(data)
	if i := bytes.Index(data, []byte(prefix)); i >= 0 && (len(data) == 0 || data[0] != '{') {
		rest := data[i+len(prefix):]
		if j := bytes.IndexAny(rest, " \t\r\n\"'<>"); j >= 0 {
			rest = rest[:j]
		}
		b, err := b64.DecodeString(string(rest))
		if err != nil {
			return nil, fmt.Errorf("%w: bad token: %v", ErrMalformed, err)
		}
		data = b
	}
	return data, nil
}

// strict decodes JSON into v refusing unknown fields, so that nothing
// unsigned rides along with a signed document.
func strict(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return nil
}
