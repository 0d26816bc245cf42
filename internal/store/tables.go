package store

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// groupTable implements Groups.
type groupTable struct{ s *sqlStore }

const groupCols = "name, title, file, state, signing_key, created_at, updated_at, launched_at"

// scan reads a group, opening its sealed signing key.
func (t groupTable) scan(sc interface{ Scan(...any) error }) (Group, error) {
	var g Group
	var key []byte
	err := sc.Scan(&g.Name, &g.Title, &g.File, &g.State, &key,
		scanTime(&g.CreatedAt), scanTime(&g.UpdatedAt), scanTime(&g.LaunchedAt))
	if err == nil && len(key) > 0 {
		g.SigningKey, err = t.s.keys.Open(string(key), signingKeyAD(g.Name))
	}
	return g, err
}

// signingKeyAD and tokenAD bind a sealed value to its column and row.
func signingKeyAD(group string) string { return "groups.signing_key\x00" + group }

func tokenAD(group, email string) string { return "accounts.token\x00" + group + "\x00" + email }

// Put writes g. Empty State and zero LaunchedAt keep the stored values
// (a new group starts "gathering"); racing state changes belong to
// SetState. A new group without a SigningKey gets a fresh Ed25519 key.
func (t groupTable) Put(ctx context.Context, g Group) error {
	now := time.Now()
	keepKey, keepState := len(g.SigningKey) == 0, g.State == ""
	key := g.SigningKey
	if keepKey {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return fmt.Errorf("put group %s: make signing key: %w", g.Name, err)
		}
		key = priv // used only if the group has none yet
	}
	if keepState {
		g.State = "gathering"
	}
	if g.CreatedAt.IsZero() {
		g.CreatedAt = now
	}
	_, err := t.s.exec(ctx, `INSERT INTO groups (`+groupCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET
			title = excluded.title,
			file = excluded.file,
			state = CASE WHEN ? THEN groups.state ELSE excluded.state END,
			signing_key = CASE WHEN ? THEN COALESCE(groups.signing_key, excluded.signing_key) ELSE excluded.signing_key END,
			updated_at = excluded.updated_at,
			launched_at = COALESCE(excluded.launched_at, groups.launched_at)`,
		g.Name, g.Title, g.File, g.State, []byte(t.s.keys.Seal(key, signingKeyAD(g.Name))), t.s.d.ts(g.CreatedAt), t.s.d.ts(now), t.s.d.ts(g.LaunchedAt),
		keepState, keepKey)
	if err != nil {
		return fmt.Errorf("put group %s: %w", g.Name, mapErr(err))
	}
	return nil
}

func (t groupTable) Get(ctx context.Context, name string) (Group, error) {
	g, err := t.scan(t.s.queryRow(ctx, "SELECT "+groupCols+" FROM groups WHERE name = ?", name))
	if err != nil {
		return Group{}, fmt.Errorf("get group %s: %w", name, mapErr(err))
	}
	return g, nil
}

func (t groupTable) List(ctx context.Context) ([]Group, error) {
	rows, err := t.s.query(ctx, "SELECT "+groupCols+" FROM groups ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", mapErr(err))
	}
	return collect(rows, "list groups", t.scan)
}

// SetState is one conditional UPDATE, so of racing callers exactly one
// sees its row change. Moving to "launched" also sets LaunchedAt.
func (t groupTable) SetState(ctx context.Context, name, from, to string, at time.Time) error {
	if at.IsZero() {
		at = time.Now()
	}
	res, err := t.s.exec(ctx, `UPDATE groups SET state = ?, updated_at = ?,
			launched_at = CASE WHEN ? THEN ? ELSE launched_at END
		WHERE name = ? AND state = ?`,
		to, t.s.d.ts(at), to == "launched", t.s.d.ts(at), name, from)
	if err == nil {
		err = t.s.changed(ctx, res, "SELECT 1 FROM groups WHERE name = ?", name)
	}
	if err != nil {
		return fmt.Errorf("set group %s from %s to %s: %w", name, from, to, mapErr(err))
	}
	return nil
}

// changed reports ErrConflict when a conditional update changed no row
// but the row (found by exists) is there, ErrNotFound when it is not.
func (s *sqlStore) changed(ctx context.Context, res sql.Result, exists string, args ...any) error {
	n, err := res.RowsAffected()
	if err != nil || n > 0 {
		return err
	}
	var one int
	if err := s.queryRow(ctx, exists, args...).Scan(&one); err != nil {
		return err // sql.ErrNoRows becomes ErrNotFound in mapErr
	}
	return ErrConflict
}

// memberTable implements Members.
type memberTable struct{ s *sqlStore }

const memberCols = "group_name, email, name, handle, username"

func scanMember(sc interface{ Scan(...any) error }) (Member, error) {
	var m Member
	err := sc.Scan(&m.Group, &m.Email, &m.Name, &m.Handle, &m.Username)
	return m, err
}

// Sync deletes and re-inserts the group's members in one transaction:
// members have no rows hanging off them, so replacing is simplest. Two
// entries with one email, handle or username give ErrDuplicate and change
// nothing.
func (t memberTable) Sync(ctx context.Context, group string, ms []Member) error {
	err := t.s.tx(ctx, func(s *sqlStore) error {
		var one int
		if err := s.queryRow(ctx, "SELECT 1 FROM groups WHERE name = ?", group).Scan(&one); err != nil {
			return err
		}
		if _, err := s.exec(ctx, "DELETE FROM members WHERE group_name = ?", group); err != nil {
			return err
		}
		for _, m := range ms {
			if _, err := s.exec(ctx, "INSERT INTO members ("+memberCols+") VALUES (?, ?, ?, ?, ?)",
				group, lower(m.Email), m.Name, m.Handle, m.Username); err != nil {
				return fmt.Errorf("%s: %w", m.Email, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sync members of %s: %w", group, mapErr(err))
	}
	return nil
}

func (t memberTable) Get(ctx context.Context, group, email string) (Member, error) {
	m, err := scanMember(t.s.queryRow(ctx, "SELECT "+memberCols+" FROM members WHERE group_name = ? AND email = ?",
		group, lower(email)))
	if err != nil {
		return Member{}, fmt.Errorf("get member %s of %s: %w", email, group, mapErr(err))
	}
	return m, nil
}

func (t memberTable) List(ctx context.Context, group string) ([]Member, error) {
	rows, err := t.s.query(ctx, "SELECT "+memberCols+" FROM members WHERE group_name = ? ORDER BY email", group)
	if err != nil {
		return nil, fmt.Errorf("list members of %s: %w", group, mapErr(err))
	}
	return collect(rows, "list members of "+group, scanMember)
}

// pledgeTable implements Pledges.
type pledgeTable struct{ s *sqlStore }

const pledgeCols = "group_name, email, threshold, follow_threshold, show_name, confirmed, withdrawn, created_at, updated_at, confirmed_at"

func scanPledge(sc interface{ Scan(...any) error }) (Pledge, error) {
	var p Pledge
	err := sc.Scan(&p.Group, &p.Email, &p.Threshold, &p.FollowThreshold, &p.ShowName, &p.Confirmed, &p.Withdrawn,
		scanTime(&p.CreatedAt), scanTime(&p.UpdatedAt), scanTime(&p.ConfirmedAt))
	return p, err
}

// Put creates or replaces the member's pledge. CreatedAt is kept from the
// first Put; zero CreatedAt and UpdatedAt mean now.
func (t pledgeTable) Put(ctx context.Context, p Pledge) error {
	now := time.Now()
	if p.CreatedAt.IsZero() {
		p.CreatedAt = now
	}
	if p.UpdatedAt.IsZero() {
		p.UpdatedAt = now
	}
	_, err := t.s.exec(ctx, `INSERT INTO pledges (`+pledgeCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (group_name, email) DO UPDATE SET
			threshold = excluded.threshold,
			follow_threshold = excluded.follow_threshold,
			show_name = excluded.show_name,
			confirmed = excluded.confirmed,
			withdrawn = excluded.withdrawn,
			updated_at = excluded.updated_at,
			confirmed_at = excluded.confirmed_at`,
		p.Group, lower(p.Email), p.Threshold, p.FollowThreshold, p.ShowName, p.Confirmed, p.Withdrawn,
		t.s.d.ts(p.CreatedAt), t.s.d.ts(p.UpdatedAt), t.s.d.ts(p.ConfirmedAt))
	if err != nil {
		return fmt.Errorf("put pledge of %s in %s: %w", p.Email, p.Group, mapErr(err))
	}
	return nil
}

func (t pledgeTable) Get(ctx context.Context, group, email string) (Pledge, error) {
	p, err := scanPledge(t.s.queryRow(ctx, "SELECT "+pledgeCols+" FROM pledges WHERE group_name = ? AND email = ?",
		group, lower(email)))
	if err != nil {
		return Pledge{}, fmt.Errorf("get pledge of %s in %s: %w", email, group, mapErr(err))
	}
	return p, nil
}

func (t pledgeTable) List(ctx context.Context, group string) ([]Pledge, error) {
	rows, err := t.s.query(ctx, "SELECT "+pledgeCols+" FROM pledges WHERE group_name = ? ORDER BY email", group)
	if err != nil {
		return nil, fmt.Errorf("list pledges of %s: %w", group, mapErr(err))
	}
	return collect(rows, "list pledges of "+group, scanPledge)
}

// inviteTable implements Invites.
type inviteTable struct{ s *sqlStore }

const inviteCols = "group_name, email, token_hash, created_at, expires_at, sent_at, redeemed_at"

func scanInvite(sc interface{ Scan(...any) error }) (Invite, error) {
	var i Invite
	err := sc.Scan(&i.Group, &i.Email, &i.TokenHash, scanTime(&i.CreatedAt), scanTime(&i.ExpiresAt),
		scanTime(&i.SentAt), scanTime(&i.RedeemedAt))
	return i, err
}

// Put creates or updates the invite with inv.TokenHash. It never un-redeems
// one: only Redeem, or a Put of a new invite, sets RedeemedAt. Zero
// CreatedAt means now.
func (t inviteTable) Put(ctx context.Context, inv Invite) error {
	if inv.CreatedAt.IsZero() {
		inv.CreatedAt = time.Now()
	}
	_, err := t.s.exec(ctx, `INSERT INTO invites (`+inviteCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (token_hash) DO UPDATE SET
			expires_at = excluded.expires_at,
			sent_at = excluded.sent_at,
			redeemed_at = COALESCE(invites.redeemed_at, excluded.redeemed_at)`,
		inv.Group, lower(inv.Email), inv.TokenHash, t.s.d.ts(inv.CreatedAt), t.s.d.ts(inv.ExpiresAt),
		t.s.d.ts(inv.SentAt), t.s.d.ts(inv.RedeemedAt))
	if err != nil {
		return fmt.Errorf("put invite for %s in %s: %w", inv.Email, inv.Group, mapErr(err))
	}
	return nil
}

func (t inviteTable) GetByHash(ctx context.Context, tokenHash string) (Invite, error) {
	i, err := scanInvite(t.s.queryRow(ctx, "SELECT "+inviteCols+" FROM invites WHERE token_hash = ?", tokenHash))
	if err != nil {
		return Invite{}, fmt.Errorf("get invite: %w", mapErr(err))
	}
	return i, nil
}

func (t inviteTable) List(ctx context.Context, group string) ([]Invite, error) {
	rows, err := t.s.query(ctx, "SELECT "+inviteCols+" FROM invites WHERE group_name = ? ORDER BY email, created_at, token_hash", group)
	if err != nil {
		return nil, fmt.Errorf("list invites of %s: %w", group, mapErr(err))
	}
	return collect(rows, "list invites of "+group, scanInvite)
}

// Redeem is one conditional UPDATE: the database decides the single
// winner. Expiry is the caller's to check.
func (t inviteTable) Redeem(ctx context.Context, tokenHash string, at time.Time) error {
	if at.IsZero() {
		at = time.Now()
	}
	res, err := t.s.exec(ctx, "UPDATE invites SET redeemed_at = ? WHERE token_hash = ? AND redeemed_at IS NULL",
		t.s.d.ts(at), tokenHash)
	if err == nil {
		err = t.s.changed(ctx, res, "SELECT 1 FROM invites WHERE token_hash = ?", tokenHash)
	}
	if err != nil {
		return fmt.Errorf("redeem invite: %w", mapErr(err))
	}
	return nil
}

// accountTable implements Accounts.
type accountTable struct{ s *sqlStore }

const accountCols = "group_name, email, server, id, username, token, created_at, acct, moved_from, waiting"

// scan reads an account, opening its sealed token.
func (t accountTable) scan(sc interface{ Scan(...any) error }) (Account, error) {
	var a Account
	var tok string
	err := sc.Scan(&a.Group, &a.Email, &a.Server, &a.ID, &a.Username, &tok, scanTime(&a.CreatedAt), &a.Acct, &a.MovedFrom, &a.Waiting)
	if err == nil && tok != "" {
		var b []byte
		b, err = t.s.keys.Open(tok, tokenAD(a.Group, a.Email))
		a.Token = string(b)
	}
	return a, err
}

// Put creates or replaces the member's account; CreatedAt is kept from
// the first Put, and zero means now.
func (t accountTable) Put(ctx context.Context, a Account) error {
	if a.CreatedAt.IsZero() {
		a.CreatedAt = time.Now()
	}
	email, tok := lower(a.Email), ""
	if a.Token != "" {
		tok = t.s.keys.Seal([]byte(a.Token), tokenAD(a.Group, email))
	}
	_, err := t.s.exec(ctx, `INSERT INTO accounts (`+accountCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (group_name, email) DO UPDATE SET
			server = excluded.server,
			id = excluded.id,
			username = excluded.username,
			token = excluded.token,
			acct = excluded.acct,
			moved_from = excluded.moved_from,
			waiting = excluded.waiting`,
		a.Group, email, a.Server, a.ID, a.Username, tok, t.s.d.ts(a.CreatedAt), a.Acct, a.MovedFrom, a.Waiting)
	if err != nil {
		return fmt.Errorf("put account of %s in %s: %w", a.Email, a.Group, mapErr(err))
	}
	return nil
}

func (t accountTable) Get(ctx context.Context, group, email string) (Account, error) {
	a, err := t.scan(t.s.queryRow(ctx, "SELECT "+accountCols+" FROM accounts WHERE group_name = ? AND email = ?",
		group, lower(email)))
	if err != nil {
		return Account{}, fmt.Errorf("get account of %s in %s: %w", email, group, mapErr(err))
	}
	return a, nil
}

func (t accountTable) List(ctx context.Context, group string) ([]Account, error) {
	rows, err := t.s.query(ctx, "SELECT "+accountCols+" FROM accounts WHERE group_name = ? ORDER BY email", group)
	if err != nil {
		return nil, fmt.Errorf("list accounts of %s: %w", group, mapErr(err))
	}
	return collect(rows, "list accounts of "+group, t.scan)
}

// Enter is one statement, so an arrival is recorded whole or not at all
// and never undoes a change made to the row meanwhile.
func (t accountTable) Enter(ctx context.Context, group, email string) error {
	res, err := t.s.exec(ctx, "UPDATE accounts SET waiting = ? WHERE group_name = ? AND email = ?", false, group, lower(email))
	if err = oneRow(res, err); err != nil {
		return fmt.Errorf("account of %s in %s enters the room: %w", email, group, mapErr(err))
	}
	return nil
}

// oneRow is err, or ErrNotFound when an update by key changed no row.
func oneRow(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	return err
}

// journalTable implements Journal.
type journalTable struct{ s *sqlStore }

const stepCols = "run, key, status, result, error, attempts, updated_at"

// scanStep reads a journal row and opens its result. Results are sealed
// like tokens: some hold secrets (an OAuth app's client secret), and the
// journal cannot tell which.
func (s *sqlStore) scanStep(sc interface{ Scan(...any) error }) (Step, error) {
	var st Step
	if err := sc.Scan(&st.Run, &st.Key, &st.Status, &st.Result, &st.Error, &st.Attempts, scanTime(&st.UpdatedAt)); err != nil {
		return st, err
	}
	if st.Result != nil {
		b, err := s.keys.Open(string(st.Result), resultAD(st.Run, st.Key))
		if err != nil {
			return st, err
		}
		st.Result = b
	}
	return st, nil
}

func resultAD(run, key string) string { return "journal.result\x00" + run + "\x00" + key }

func (t journalTable) Get(ctx context.Context, run, key string) (Step, error) {
	st, err := t.s.scanStep(t.s.queryRow(ctx, "SELECT "+stepCols+" FROM journal WHERE run = ? AND key = ?", run, key))
	if err != nil {
		return Step{}, fmt.Errorf("get step %s/%s: %w", run, key, mapErr(err))
	}
	return st, nil
}

// Start inserts the entry if it is new; otherwise it locks the row, reads
// it, and updates it, in one transaction, so concurrent Starts count every
// attempt and each sees a distinct previous state. It clears Error and
// keeps Result.
func (t journalTable) Start(ctx context.Context, run, key string) (Step, error) {
	var (
		prev  Step
		first bool
	)
	err := t.s.tx(ctx, func(s *sqlStore) error {
		now := s.d.ts(time.Now())
		res, err := s.exec(ctx, `INSERT INTO journal (run, key, status, error, attempts, updated_at)
			VALUES (?, ?, ?, '', 1, ?) ON CONFLICT (run, key) DO NOTHING`, run, key, StepStarted, now)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			first = true
			return err
		}
		if prev, err = s.scanStep(s.queryRow(ctx, "SELECT "+stepCols+" FROM journal WHERE run = ? AND key = ?"+s.d.forUpdate,
			run, key)); err != nil {
			return err
		}
		_, err = s.exec(ctx, `UPDATE journal SET status = ?, error = '', attempts = attempts + 1, updated_at = ?
			WHERE run = ? AND key = ?`, StepStarted, now, run, key)
		return err
	})
	if err != nil {
		return Step{}, fmt.Errorf("start step %s/%s: %w", run, key, mapErr(err))
	}
	if first {
		return Step{}, fmt.Errorf("start step %s/%s: first attempt: %w", run, key, ErrNotFound)
	}
	return prev, nil
}

// Finish marks a started entry done with its result; ErrNotFound if it
// was never started.
func (t journalTable) Finish(ctx context.Context, run, key string, result []byte) error {
	return t.end(ctx, run, key, StepDone, result, "")
}

// Fail marks a started entry failed; the Result of an earlier success is
// kept. ErrNotFound if it was never started.
func (t journalTable) Fail(ctx context.Context, run, key, msg string) error {
	return t.end(ctx, run, key, StepFailed, nil, msg)
}

func (t journalTable) end(ctx context.Context, run, key string, status StepStatus, result []byte, msg string) error {
	q := "UPDATE journal SET status = ?, error = ?, updated_at = ?"
	args := []any{status, msg, t.s.d.ts(time.Now())}
	if status == StepDone {
		q += ", result = ?"
		if result != nil {
			result = []byte(t.s.keys.Seal(result, resultAD(run, key)))
		}
		args = append(args, result)
	}
	res, err := t.s.exec(ctx, q+" WHERE run = ? AND key = ?", append(args, run, key)...)
	if err == nil {
		var n int64
		if n, err = res.RowsAffected(); err == nil && n == 0 {
			err = ErrNotFound
		}
	}
	if err != nil {
		return fmt.Errorf("%s step %s/%s: %w", status, run, key, mapErr(err))
	}
	return nil
}

// Record upserts keys as done in one transaction.
func (t journalTable) Record(ctx context.Context, run string, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	err := t.s.tx(ctx, func(s *sqlStore) error {
		now := s.d.ts(time.Now())
		for _, k := range keys {
			if _, err := s.exec(ctx, `INSERT INTO journal (run, key, status, error, attempts, updated_at)
				VALUES (?, ?, ?, '', 1, ?) ON CONFLICT (run, key) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at`,
				run, k, StepDone, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record %d steps of %s: %w", len(keys), run, mapErr(err))
	}
	return nil
}

// List compares prefixes with substr, not LIKE: SQLite's LIKE ignores
// case and both treat % and _ specially.
func (t journalTable) List(ctx context.Context, run, prefix string) ([]Step, error) {
	q, args := "SELECT "+stepCols+" FROM journal WHERE run = ?", []any{run}
	if prefix != "" {
		q += " AND substr(key, 1, ?) = ?"
		args = append(args, utf8.RuneCountInString(prefix), prefix)
	}
	rows, err := t.s.query(ctx, q+" ORDER BY key", args...)
	if err != nil {
		return nil, fmt.Errorf("list steps %s/%s: %w", run, prefix, mapErr(err))
	}
	return collect(rows, "list steps "+run, t.s.scanStep)
}

// collect scans every row and closes rows.
func collect[T any](rows *sql.Rows, op string, scan func(interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", op, mapErr(err))
	}
	return out, nil
}

func lower(email string) string { return strings.ToLower(strings.TrimSpace(email)) }
