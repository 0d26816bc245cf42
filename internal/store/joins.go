package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// joinTable implements Joins.
type joinTable struct{ s *sqlStore }

const joinCols = "group_name, email, name, x, bluesky, instagram, fediverse, confirmed_at, decision, decided_at, created_at"

func scanJoin(sc interface{ Scan(...any) error }) (Join, error) {
	var j Join
	err := sc.Scan(&j.Group, &j.Email, &j.Name, &j.X, &j.Bluesky, &j.Instagram, &j.Fediverse,
		scanTime(&j.ConfirmedAt), &j.Decision, scanTime(&j.DecidedAt), scanTime(&j.CreatedAt))
	return j, err
}

// Add inserts the join; the primary key makes a second join of one email
// ErrDuplicate, whichever process gets it.
func (t joinTable) Add(ctx context.Context, j Join) error {
	if j.CreatedAt.IsZero() {
		j.CreatedAt = time.Now()
	}
	_, err := t.s.exec(ctx, "INSERT INTO joins ("+joinCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		j.Group, lower(j.Email), j.Name, j.X, j.Bluesky, j.Instagram, j.Fediverse,
		t.s.d.ts(j.ConfirmedAt), j.Decision, t.s.d.ts(j.DecidedAt), t.s.d.ts(j.CreatedAt))
	if err != nil {
		return fmt.Errorf("add join of %s to %s: %w", j.Email, j.Group, mapErr(err))
	}
	return nil
}

func (t joinTable) Get(ctx context.Context, group, email string) (Join, error) {
	j, err := scanJoin(t.s.queryRow(ctx, "SELECT "+joinCols+" FROM joins WHERE group_name = ? AND email = ?", group, lower(email)))
	if err != nil {
		return Join{}, fmt.Errorf("get join of %s to %s: %w", email, group, mapErr(err))
	}
	return j, nil
}

func (t joinTable) List(ctx context.Context, group string) ([]Join, error) {
	rows, err := t.s.query(ctx, "SELECT "+joinCols+" FROM joins WHERE group_name = ? ORDER BY created_at, email", group)
	if err != nil {
		return nil, fmt.Errorf("list joins of %s: %w", group, mapErr(err))
	}
	return collect(rows, "list joins of "+group, scanJoin)
}

// Confirm keeps the first confirmation's time.
func (t joinTable) Confirm(ctx context.Context, group, email string, at time.Time) error {
	res, err := t.s.exec(ctx, "UPDATE joins SET confirmed_at = COALESCE(confirmed_at, ?) WHERE group_name = ? AND email = ?",
		t.s.d.ts(at), group, lower(email))
	return t.one(res, err, "confirm", group, email)
}

func (t joinTable) Decide(ctx context.Context, group, email, decision string, at time.Time) error {
	res, err := t.s.exec(ctx, "UPDATE joins SET decision = ?, decided_at = ? WHERE group_name = ? AND email = ?",
		decision, t.s.d.ts(at), group, lower(email))
	return t.one(res, err, "decide on", group, email)
}

// one reports ErrNotFound when an update by key changed no row.
func (t joinTable) one(res sql.Result, err error, op, group, email string) error {
	if err = oneRow(res, err); err != nil {
		return fmt.Errorf("%s join of %s to %s: %w", op, email, group, mapErr(err))
	}
	return nil
}

func (t joinTable) Forget(ctx context.Context, group, email string) error {
	email = lower(email)
	var gone int64
	err := t.s.tx(ctx, func(s *sqlStore) error {
		// An account row goes too unless an invite was redeemed (the
		// person arrived): one the person connected from their own
		// server holds their token, and is theirs to take back.
		res, err := s.exec(ctx, `DELETE FROM accounts WHERE group_name = ? AND email = ? AND NOT EXISTS
			(SELECT 1 FROM invites WHERE group_name = ? AND email = ? AND redeemed_at IS NOT NULL)`, group, email, group, email)
		if err != nil {
			return err
		}
		if gone, err = res.RowsAffected(); err != nil {
			return err
		}
		for _, q := range []string{
			"DELETE FROM joins WHERE group_name = ? AND email = ?",
			"DELETE FROM pledges WHERE group_name = ? AND email = ?",
			"DELETE FROM invites WHERE group_name = ? AND email = ? AND redeemed_at IS NULL",
		} {
			res, err := s.exec(ctx, q, group, email)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			gone += n
		}
		return nil
	})
	if err == nil && gone == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("forget %s in %s: %w", email, group, mapErr(err))
	}
	return nil
}
