package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// followTable implements Follows.
type followTable struct{ s *sqlStore }

// followBatch is how many follows one INSERT writes: five values each,
// well under both drivers' limit on a statement's parameters.
const followBatch = 500

// Put replaces the member's import of the same owner in one transaction:
// a half-written import would be a graph with people silently missing.
func (t followTable) Put(ctx context.Context, imp FollowImport) error {
	if imp.CreatedAt.IsZero() {
		imp.CreatedAt = time.Now()
	}
	email := lower(imp.Email)
	err := t.s.tx(ctx, func(s *sqlStore) error {
		if _, err := s.exec(ctx, "DELETE FROM follow_imports WHERE group_name = ? AND email = ? AND self = ?",
			imp.Group, email, imp.Self); err != nil {
			return err
		}
		// The foreign key's cascade is not relied on: SQLite applies it
		// only with foreign_keys on, which a restored copy may lack.
		if _, err := s.exec(ctx, "DELETE FROM follow_edges WHERE group_name = ? AND email = ? AND self = ?",
			imp.Group, email, imp.Self); err != nil {
			return err
		}
		if _, err := s.exec(ctx, "INSERT INTO follow_imports (group_name, email, self, aliases, format, created_at) VALUES (?, ?, ?, ?, ?, ?)",
			imp.Group, email, imp.Self, strings.Join(imp.Aliases, " "), imp.Format, s.d.ts(imp.CreatedAt)); err != nil {
			return err
		}
		for batch := range slices.Chunk(imp.Edges, followBatch) {
			q := strings.Builder{}
			q.WriteString("INSERT INTO follow_edges (group_name, email, self, follower, followee) VALUES ")
			args := make([]any, 0, 5*len(batch))
			for i, e := range batch {
				if i > 0 {
					q.WriteString(", ")
				}
				q.WriteString("(?, ?, ?, ?, ?)")
				args = append(args, imp.Group, email, imp.Self, e[0], e[1])
			}
			if _, err := s.exec(ctx, q.String()+" ON CONFLICT DO NOTHING", args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("put follows of %s in %s: %w", imp.Email, imp.Group, mapErr(err))
	}
	return nil
}

func (t followTable) List(ctx context.Context, group string) ([]FollowImport, error) {
	rows, err := t.s.query(ctx, "SELECT group_name, email, self, aliases, format, created_at FROM follow_imports WHERE group_name = ? ORDER BY email, self", group)
	if err != nil {
		return nil, fmt.Errorf("list follows of %s: %w", group, mapErr(err))
	}
	imps, err := collect(rows, "list follows of "+group, func(sc interface{ Scan(...any) error }) (FollowImport, error) {
		var imp FollowImport
		var aliases string
		err := sc.Scan(&imp.Group, &imp.Email, &imp.Self, &aliases, &imp.Format, scanTime(&imp.CreatedAt))
		imp.Aliases = strings.Fields(aliases)
		return imp, err
	})
	if err != nil || len(imps) == 0 {
		return imps, err
	}
	rows, err = t.s.query(ctx, "SELECT email, self, follower, followee FROM follow_edges WHERE group_name = ?", group)
	if err != nil {
		return nil, fmt.Errorf("list follows of %s: %w", group, mapErr(err))
	}
	defer rows.Close()
	// By key, not by walking both lists in order: the databases' text
	// orders (collations) differ.
	at := make(map[[2]string]int, len(imps))
	for i, imp := range imps {
		at[[2]string{imp.Email, imp.Self}] = i
	}
	for rows.Next() {
		var email, self, from, to string
		if err := rows.Scan(&email, &self, &from, &to); err != nil {
			return nil, fmt.Errorf("list follows of %s: %w", group, err)
		}
		if i, ok := at[[2]string{email, self}]; ok {
			imps[i].Edges = append(imps[i].Edges, [2]string{from, to})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list follows of %s: %w", group, mapErr(err))
	}
	return imps, nil
}

func (t followTable) Delete(ctx context.Context, group, email string) (int, error) {
	var n int64
	err := t.s.tx(ctx, func(s *sqlStore) error {
		if _, err := s.exec(ctx, "DELETE FROM follow_edges WHERE group_name = ? AND email = ?", group, lower(email)); err != nil {
			return err
		}
		res, err := s.exec(ctx, "DELETE FROM follow_imports WHERE group_name = ? AND email = ?", group, lower(email))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("delete follows of %s in %s: %w", email, group, mapErr(err))
	}
	return int(n), nil
}

// Version is the number of imports and the newest one's time: a Put
// makes a newer time, a Delete a smaller number.
func (t followTable) Version(ctx context.Context, group string) (string, error) {
	var n int
	var newest time.Time
	err := t.s.queryRow(ctx, "SELECT COUNT(*), MAX(created_at) FROM follow_imports WHERE group_name = ?", group).Scan(&n, scanTime(&newest))
	if err != nil {
		return "", fmt.Errorf("version of follows of %s: %w", group, mapErr(err))
	}
	return fmt.Sprintf("%d@%d", n, newest.UnixMicro()), nil
}
