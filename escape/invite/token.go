// Package invite makes and checks Lifeboat's personal links: signed,
// expiring tokens bound to one member of one group. The same format
// carries pledge links, pledge confirmations, invites and sign-up proofs;
// the purpose byte keeps one kind from being used as another.
//
// A token is base64url(payload || Ed25519 signature), signed with the
// group's key (store.Group.SigningKey). The payload holds the purpose, the
// expiry, a member id (a hash of group and email, so the email never
// appears in a URL), a nonce and the group's name. The nonce is derived
// from the key and the claims, so signing the same claims twice gives the
// same token: the store keeps only a token's hash, yet the holder of the
// key can print the same link again (invites export).
package invite

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Purpose says what a token may be used for.
type Purpose byte

const (
	Pledge  Purpose = 'p' // the member's pledge page; reusable until launch
	Confirm Purpose = 'c' // double opt-in of a pledge
	Invite  Purpose = 'i' // the single-use invite; its hash is in the store
	Proof   Purpose = 's' // sign-up proof for an existing server's admin
	Join    Purpose = 'j' // double opt-in of a join from the public join page
	Leave   Purpose = 'l' // a joined person removes themselves and all they gave
)

func (p Purpose) String() string {
	switch p {
	case Pledge:
		return "pledge"
	case Confirm:
		return "confirm"
	case Invite:
		return "invite"
	case Proof:
		return "proof"
	case Join:
		return "join"
	case Leave:
		return "leave"
	}
	return fmt.Sprintf("purpose(%d)", byte(p))
}

// Errors of Parse and Check. Callers show each as a page that says what
// to do; none of them is the server's fault.
var (
	ErrMalformed = errors.New("token is malformed")
	ErrForged    = errors.New("token signature does not verify")
	ErrPurpose   = errors.New("token is for something else")
	ErrExpired   = errors.New("token has expired")
	ErrUnknown   = errors.New("token is not a current invite") // well signed, but not (or no longer) in the store
	ErrUsed      = errors.New("invite was already used")
)

// MaxLen bounds a token's length; longer input is refused unread.
const MaxLen = 400

const (
	version   = 1
	idLen     = 16
	nonceLen  = 8
	headerLen = 1 + 1 + 8 + idLen + nonceLen + 1 // version, purpose, expiry, member, nonce, group length
)

// Claims is what a token says.
type Claims struct {
	Purpose Purpose
	Group   string
	Member  string // MemberID(group, email)
	Expires time.Time
}

// MemberID is the member's id in tokens: a hash of the group and the
// lower-cased email, in hex.
func MemberID(group, email string) string {
	h := sha256.Sum256([]byte("lifeboat member\x00" + group + "\x00" + strings.ToLower(strings.TrimSpace(email))))
	return hex.EncodeToString(h[:idLen])
}

// Sign makes the token for c. Expires is kept to the second.
func Sign(key ed25519.PrivateKey, c Claims) (string, error) {
	if len(key) != ed25519.PrivateKeySize {
		return "", errors.New("sign token: bad signing key")
	}
	id, err := hex.DecodeString(c.Member)
	if err != nil || len(id) != idLen {
		return "", errors.New("sign token: bad member id")
	}
	if len(c.Group) == 0 || len(c.Group) > 64 {
		return "", errors.New("sign token: bad group name")
	}
	p := make([]byte, 0, headerLen+len(c.Group)+ed25519.SignatureSize)
	p = append(p, version, byte(c.Purpose))
	p = binary.BigEndian.AppendUint64(p, uint64(c.Expires.Unix()))
	p = append(p, id...)
	mac := hmac.New(sha256.New, key.Seed())
	mac.Write([]byte("lifeboat token nonce\x00"))
	mac.Write(p)
	mac.Write([]byte(c.Group))
	p = append(p, mac.Sum(nil)[:nonceLen]...)
	p = append(p, byte(len(c.Group)))
	p = append(p, c.Group...)
	p = append(p, ed25519.Sign(key, p)...)
	return base64.RawURLEncoding.EncodeToString(p), nil
}

// Parse checks the token's form, signature, purpose and expiry, in that
// order, and returns its claims.
func Parse(pub ed25519.PublicKey, want Purpose, token string, now time.Time) (Claims, error) {
	c, err := parse(pub, token)
	if err != nil {
		return Claims{}, err
	}
	if c.Purpose != want {
		return Claims{}, ErrPurpose
	}
	if !now.Before(c.Expires) {
		return c, ErrExpired
	}
	return c, nil
}

func parse(pub ed25519.PublicKey, token string) (Claims, error) {
	// The decoder skips CR and LF even when strict: a token with one
	// inside would be another string for the same token.
	if len(token) == 0 || len(token) > MaxLen || strings.ContainsAny(token, "\r\n") {
		return Claims{}, ErrMalformed
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || len(b) < headerLen+ed25519.SignatureSize {
		return Claims{}, ErrMalformed
	}
	msg, sig := b[:len(b)-ed25519.SignatureSize], b[len(b)-ed25519.SignatureSize:]
	if msg[0] != version || int(msg[headerLen-1]) != len(msg)-headerLen {
		return Claims{}, ErrMalformed
	}
	if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, msg, sig) {
		return Claims{}, ErrForged
	}
	return Claims{
		Purpose: Purpose(msg[1]),
		Expires: time.Unix(int64(binary.BigEndian.Uint64(msg[2:10])), 0).UTC(),
		Member:  hex.EncodeToString(msg[10 : 10+idLen]),
		Group:   string(msg[headerLen:]),
	}, nil
}

// Hash is what the store keeps of an invite token: hex SHA-256.
func Hash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// SameMember reports whether the claims are about the member with email
// in group, in constant time.
func (c Claims) SameMember(group, email string) bool {
	return c.Group == group && subtle.ConstantTimeCompare([]byte(c.Member), []byte(MemberID(group, email))) == 1
}
