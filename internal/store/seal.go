package store

import (
	"context"
	"fmt"
	"os"
	"strings"
)

// sealedValue is one secret as stored, with the row it belongs to.
type sealedValue struct {
	table      string // groups | accounts | home_apps | journal
	group      string // journal: the run; home_apps: the server
	email      string // accounts only; journal: the key; home_apps: the redirect URI
	stored     string
	associated string
}

// secrets lists every secret in the store; with clearOnly, only those
// still in clear (left by a Lifeboat that did not seal them).
func (s *sqlStore) secrets(ctx context.Context, clearOnly bool) ([]sealedValue, error) {
	var out []sealedValue
	rows, err := s.query(ctx, "SELECT name, signing_key FROM groups WHERE signing_key IS NOT NULL"+s.d.forUpdate)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var name string
		var key []byte
		if err := rows.Scan(&name, &key); err != nil {
			rows.Close()
			return nil, err
		}
		if len(key) > 0 && !(clearOnly && sealed(string(key))) {
			out = append(out, sealedValue{table: "groups", group: name, stored: string(key), associated: signingKeyAD(name)})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	q := "SELECT group_name, email, token FROM accounts WHERE token <> ''"
	if clearOnly {
		q += " AND substr(token, 1, 5) <> '" + sealedPrefix + "'"
	}
	rows, err = s.query(ctx, q+s.d.forUpdate)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		v := sealedValue{table: "accounts"}
		if err := rows.Scan(&v.group, &v.email, &v.stored); err != nil {
			rows.Close()
			return nil, err
		}
		v.associated = tokenAD(v.group, v.email)
		out = append(out, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	q = "SELECT server, redirect_uri, client_secret FROM home_apps"
	if clearOnly {
		q += " WHERE substr(client_secret, 1, 5) <> '" + sealedPrefix + "'"
	}
	rows, err = s.query(ctx, q+s.d.forUpdate)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		v := sealedValue{table: "home_apps"}
		if err := rows.Scan(&v.group, &v.email, &v.stored); err != nil {
			rows.Close()
			return nil, err
		}
		v.associated = clientSecretAD(v.group, v.email)
		out = append(out, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Journal results are blobs, which compare with text differently in
	// each dialect: they are told apart here.
	rows, err = s.query(ctx, "SELECT run, key, result FROM journal WHERE result IS NOT NULL"+s.d.forUpdate)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		v := sealedValue{table: "journal"}
		var res []byte
		if err := rows.Scan(&v.group, &v.email, &res); err != nil {
			return nil, err
		}
		if v.stored = string(res); !(clearOnly && sealed(v.stored)) {
			v.associated = resultAD(v.group, v.email)
			out = append(out, v)
		}
	}
	return out, rows.Err()
}

// reseal opens each value and seals it with the ring's first key, in one
// transaction: a failure (a value no key opens) changes nothing.
func (s *sqlStore) reseal(ctx context.Context, clearOnly bool) (int, error) {
	n := 0
	err := s.tx(ctx, func(t *sqlStore) error {
		vs, err := t.secrets(ctx, clearOnly)
		if err != nil {
			return err
		}
		for _, v := range vs {
			plain, err := t.keys.Open(v.stored, v.associated)
			if err != nil {
				return fmt.Errorf("%s of %s %s: %w", v.table, v.group, v.email, err)
			}
			again := t.keys.Seal(plain, v.associated)
			switch v.table {
			case "groups":
				_, err = t.exec(ctx, "UPDATE groups SET signing_key = ? WHERE name = ?", []byte(again), v.group)
			case "accounts":
				_, err = t.exec(ctx, "UPDATE accounts SET token = ? WHERE group_name = ? AND email = ?", again, v.group, v.email)
			case "home_apps":
				_, err = t.exec(ctx, "UPDATE home_apps SET client_secret = ? WHERE server = ? AND redirect_uri = ?", again, v.group, v.email)
			default:
				_, err = t.exec(ctx, "UPDATE journal SET result = ? WHERE run = ? AND key = ?", []byte(again), v.group, v.email)
			}
			if err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("seal secrets: %w", mapErr(err))
	}
	if n > 0 && !s.d.positional && s.wdb != nil {
		// Move the new pages into the database file now, so the clear
		// or old values (overwritten there by secure_delete) do not
		// linger in it until the next automatic checkpoint.
		if _, err := s.wdb.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			return n, fmt.Errorf("seal secrets: checkpoint: %w", err)
		}
	}
	return n, nil
}

// sealClear seals what an older Lifeboat stored in clear. It reads first
// and writes only when there is something to seal, so opening a store
// costs no write.
func (s *sqlStore) sealClear(ctx context.Context) error {
	vs, err := s.secrets(ctx, true)
	if err != nil {
		return fmt.Errorf("read secrets: %w", mapErr(err))
	}
	if len(vs) == 0 {
		return nil
	}
	_, err = s.reseal(ctx, true)
	return err
}

// Reseal seals every secret again with the first key of the ring.
func (s *sqlStore) Reseal(ctx context.Context) (int, error) { return s.reseal(ctx, false) }

// Rotation is what a key rotation did: the new sealing key's id, how
// many secrets in the store and how many sealed files it sealed.
type Rotation struct {
	Key     string
	Secrets int
	Files   int
}

// ResealAll seals every secret in the store and every sealed file in
// the state directory cfg.Dir again with the first key of cfg.Keys.
func ResealAll(ctx context.Context, cfg Config) (Rotation, error) {
	st, err := Open(ctx, cfg)
	if err != nil {
		return Rotation{}, err
	}
	defer st.Close()
	rot := Rotation{Key: cfg.Keys.ID()}
	if rot.Secrets, err = st.Reseal(ctx); err != nil {
		return rot, err
	}
	if cfg.Dir != "" {
		rot.Files, err = ResealFiles(cfg.Keys, cfg.Dir)
	}
	return rot, err
}

// RotateKeyFile replaces the key in the key file: it puts a new key in
// front of the old ones, seals every secret in the store with it in one
// transaction and every sealed file in the state directory, and only
// then drops the old keys from the file. Cut off anywhere, the file still
// holds a key for every sealed secret, and running it again finishes the
// job. cfg.Keys is ignored.
func RotateKeyFile(ctx context.Context, cfg Config, file string) (Rotation, error) {
	old, err := LoadKeyFile(file, cfg.Dir)
	if err != nil {
		return Rotation{}, err
	}
	raw, err := keyLines(file)
	if err != nil {
		return Rotation{}, err
	}
	ring := append([]string{NewKey()}, raw...)
	if err := writeKeyFile(file, ring); err != nil {
		return Rotation{}, err
	}
	if cfg.Keys, err = ParseKeys(strings.Join(ring, "\n"), file); err != nil {
		return Rotation{}, err
	}
	rot, err := ResealAll(ctx, cfg)
	if err != nil {
		return Rotation{}, fmt.Errorf("rotate the key (the key file keeps the old key %s beside the new; run again): %w", old.ID(), err)
	}
	if err := writeKeyFile(file, ring[:1]); err != nil {
		return Rotation{}, err
	}
	return rot, nil
}

// keyLines are the keys in the key file, as written.
func keyLines(file string) ([]string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, strings.Split(l, ",")...)
		}
	}
	return out, nil
}
