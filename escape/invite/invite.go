package invite

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/store"
)

// Issue makes the member's invite at now: it signs the token, stores its
// hash with the expiry, and returns the token. Issuing again with the same
// expiry gives the same token and leaves the stored invite as it is.
func Issue(ctx context.Context, st store.Invites, key ed25519.PrivateKey, group, email string, expires, now time.Time) (string, error) {
	expires = expires.Truncate(time.Second).UTC()
	tok, err := Sign(key, Claims{Purpose: Invite, Group: group, Member: MemberID(group, email), Expires: expires})
	if err != nil {
		return "", fmt.Errorf("issue invite: %w", err)
	}
	if _, err := st.GetByHash(ctx, Hash(tok)); err == nil {
		return tok, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("issue invite: %w", err)
	}
	if err := st.Put(ctx, store.Invite{Group: group, Email: email, TokenHash: Hash(tok), CreatedAt: now, ExpiresAt: expires}); err != nil {
		return "", fmt.Errorf("issue invite: %w", err)
	}
	return tok, nil
}

// Token is the token of a stored invite, made again from the key: the
// store keeps only its hash.
func Token(key ed25519.PrivateKey, inv store.Invite) (string, error) {
	tok, err := Sign(key, Claims{Purpose: Invite, Group: inv.Group, Member: MemberID(inv.Group, inv.Email), Expires: inv.ExpiresAt.Truncate(time.Second)})
	if err != nil {
		return "", err
	}
	if Hash(tok) != inv.TokenHash {
		return "", errors.New("invite token: stored invite was not made with this key")
	}
	return tok, nil
}

// Check verifies an invite token and finds its stored invite, without
// using it up: a forged, tampered or expired token, one not in the store
// (or superseded), one for another member, and one already used are all
// refused with the matching error.
func Check(ctx context.Context, st store.Invites, pub ed25519.PublicKey, token string, now time.Time) (store.Invite, error) {
	c, err := Parse(pub, Invite, token, now)
	if err != nil {
		return store.Invite{}, err
	}
	inv, err := st.GetByHash(ctx, Hash(token))
	if errors.Is(err, store.ErrNotFound) {
		return store.Invite{}, ErrUnknown
	}
	if err != nil {
		return store.Invite{}, fmt.Errorf("check invite: %w", err)
	}
	if !c.SameMember(inv.Group, inv.Email) {
		return store.Invite{}, ErrForged
	}
	if !inv.RedeemedAt.IsZero() {
		return inv, ErrUsed
	}
	// Supersede brought the stored expiry forward of the token's own: a
	// newer invite replaced this one.
	if inv.ExpiresAt.Before(c.Expires) {
		return inv, ErrUnknown
	}
	if !inv.ExpiresAt.IsZero() && !now.Before(inv.ExpiresAt) {
		return inv, ErrExpired
	}
	return inv, nil
}

// Supersede stops a stored invite from working, at once (the member was
// issued a newer one): its stored expiry moves to now, and Check tells it
// from an invite that simply ran out by the expiry it was signed with.
func Supersede(ctx context.Context, st store.Invites, inv store.Invite, now time.Time) error {
	if !inv.RedeemedAt.IsZero() || !now.Before(inv.ExpiresAt) {
		return nil
	}
	inv.ExpiresAt = now.Truncate(time.Second).UTC()
	if err := st.Put(ctx, inv); err != nil {
		return fmt.Errorf("supersede invite: %w", err)
	}
	return nil
}

// Redeem checks the token and uses it up: of any number of concurrent
// callers with one token, exactly one gets the invite and a nil error; the
// others get ErrUsed.
func Redeem(ctx context.Context, st store.Invites, pub ed25519.PublicKey, token string, now time.Time) (store.Invite, error) {
	inv, err := Check(ctx, st, pub, token, now)
	if err != nil {
		return inv, err
	}
	switch err := st.Redeem(ctx, inv.TokenHash, now); {
	case errors.Is(err, store.ErrConflict):
		return inv, ErrUsed
	case errors.Is(err, store.ErrNotFound):
		return inv, ErrUnknown
	case err != nil:
		return inv, fmt.Errorf("redeem invite: %w", err)
	}
	inv.RedeemedAt = now
	return inv, nil
}
