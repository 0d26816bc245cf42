package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Config says where the state lives.
type Config struct {
	// Dir is the state directory; the SQLite database is Dir/lifeboat.db.
	// It is created 0700 and the file 0600, although the tokens and
	// signing keys in it are sealed (see Keys).
	Dir string
	// URL (postgres://… or postgresql://…) selects PostgreSQL instead,
	// for several `lifeboat serve` replicas sharing one state.
	URL string
	// MaxConns caps PostgreSQL connections; 0 means 10.
	MaxConns int
	// Keys seal the secrets in the store; nil means LoadKeys(Dir):
	// $LIFEBOAT_SECRET_KEY, else the key file in the user's config
	// directory, made on first use. Every process sharing a database
	// needs the same keys.
	Keys *Keyring
}

// DBFile is the SQLite database's name within Config.Dir.
const DBFile = "lifeboat.db"

// Open opens the store and brings its schema up to date.
func Open(ctx context.Context, cfg Config) (Store, error) {
	var (
		s   *sqlStore
		err error
	)
	if cfg.Keys == nil && (cfg.URL != "" || cfg.Dir != "") {
		if cfg.Keys, err = LoadKeys(cfg.Dir); err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
	}
	switch {
	case cfg.URL != "":
		s, err = openPostgres(ctx, cfg)
	case cfg.Dir != "":
		// Two processes opening a new file at once race in switching it
		// to WAL, which SQLite answers with SQLITE_BUSY without waiting:
		// opening (and migrating) is serialised by a lock file.
		unlock, lerr := lockOpen(cfg.Dir)
		if lerr != nil {
			return nil, lerr
		}
		defer unlock()
		s, err = openSQLite(ctx, cfg)
	default:
		return nil, errors.New("open store: no state directory or database URL")
	}
	if err != nil {
		return nil, err
	}
	s.keys = cfg.Keys
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	if err := s.sealClear(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	return s, nil
}

// lockOpen takes an exclusive lock on Dir/lifeboat.db.lock.
func lockOpen(dir string) (func(), error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, DBFile+".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("open store: lock: %w", err)
	}
	return func() { f.Close() }, nil // closing releases the lock
}

// openSQLite opens two pools on one file: a single write connection, so
// writers in this process queue in database/sql instead of failing with
// SQLITE_BUSY, and read-only connections, which WAL lets run beside it.
// busy_timeout and BEGIN IMMEDIATE cover other processes on the same file.
func openSQLite(ctx context.Context, cfg Config) (*sqlStore, error) {
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	file := filepath.Join(cfg.Dir, DBFile)
	if strings.ContainsAny(file, "?#") {
		return nil, fmt.Errorf("open store: %q: path must not contain ? or #", file)
	}
	// Create the file ourselves so it is never world-readable, not even
	// for a moment; SQLite gives the -wal and -shm files the same mode.
	f, err := os.OpenFile(file, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	f.Close()
	if err := os.Chmod(file, 0o600); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	// secure_delete overwrites what an update or delete leaves behind, so
	// a secret sealed on open leaves no clear copy in the file's free pages.
	const common = "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=secure_delete(1)"
	w, err := sql.Open("sqlite", file+"?"+common+"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	// Connect the writer first: it switches the file to WAL, which the
	// read-only connections cannot do.
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open store %s: %w", file, err)
	}
	r, err := sql.Open("sqlite", file+"?"+common+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	n := max(4, runtime.NumCPU())
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	return &sqlStore{d: sqliteDialect, r: r, w: w, rdb: r, wdb: w}, nil
}

func openPostgres(ctx context.Context, cfg Config) (*sqlStore, error) {
	if !strings.HasPrefix(cfg.URL, "postgres://") && !strings.HasPrefix(cfg.URL, "postgresql://") {
		return nil, errors.New("open store: database URL must start with postgres://")
	}
	db, err := sql.Open("pgx", cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	n := cfg.MaxConns
	if n <= 0 {
		n = 10
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		// pgconn's errors name host and user but never the password.
		return nil, fmt.Errorf("open store: %w", err)
	}
	return &sqlStore{d: postgresDialect, r: db, w: db, rdb: db, wdb: db}, nil
}

// dialect holds the few differences between the two SQL dialects; all
// statements are otherwise shared.
type dialect struct {
	name string // also the migrations folder
	// positional marks statements with $1, $2… instead of ?.
	positional bool
	// forUpdate locks a row read within a transaction. SQLite needs none:
	// its transactions hold the database's single write lock.
	forUpdate string
	timeType  string
	// time turns a non-zero time into the driver's value.
	time func(time.Time) any
}

// sqliteTime is fixed-width UTC text, so stored times sort as they
// compare.
const sqliteTime = "2006-01-02T15:04:05.000000Z"

var (
	sqliteDialect = dialect{
		name:     "sqlite",
		timeType: "TEXT",
		time:     func(t time.Time) any { return t.Format(sqliteTime) },
	}
	postgresDialect = dialect{
		name:       "postgres",
		positional: true,
		forUpdate:  " FOR UPDATE",
		timeType:   "TIMESTAMPTZ",
		time:       func(t time.Time) any { return t },
	}
)

// bind rewrites ? placeholders for PostgreSQL. Statements here never hold
// a ? inside a string literal, but quotes are skipped anyway.
func (d dialect) bind(q string) string {
	if !d.positional {
		return q
	}
	var b strings.Builder
	n, quoted := 0, false
	for _, c := range q {
		switch {
		case c == '\'':
			quoted = !quoted
		case c == '?' && !quoted:
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// ts is a time as stored: UTC, to the microsecond (PostgreSQL's
// precision, so both drivers give back the same value), NULL when zero.
func (d dialect) ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return d.time(t.UTC().Truncate(time.Microsecond))
}

// timeScanner reads a stored time back; NULL is the zero time.
type timeScanner struct{ t *time.Time }

func scanTime(t *time.Time) timeScanner { return timeScanner{t} }

func (s timeScanner) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*s.t = time.Time{}
	case time.Time:
		*s.t = v.UTC()
	case string:
		return s.parse(v)
	case []byte:
		return s.parse(string(v))
	default:
		return fmt.Errorf("scan time: unexpected %T", src)
	}
	return nil
}

func (s timeScanner) parse(v string) error {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return fmt.Errorf("scan time: %w", err)
	}
	*s.t = t.UTC()
	return nil
}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// sqlStore implements Store for both drivers. Reads go to r and writes to
// w; for PostgreSQL they are one pool, and within a transaction both are
// the transaction (rdb and wdb are then nil).
type sqlStore struct {
	d        dialect
	r, w     querier
	rdb, wdb *sql.DB
	keys     *Keyring
}

func (s *sqlStore) Groups() Groups     { return groupTable{s} }
func (s *sqlStore) Members() Members   { return memberTable{s} }
func (s *sqlStore) Pledges() Pledges   { return pledgeTable{s} }
func (s *sqlStore) Invites() Invites   { return inviteTable{s} }
func (s *sqlStore) Accounts() Accounts { return accountTable{s} }
func (s *sqlStore) Journal() Journal   { return journalTable{s} }
func (s *sqlStore) Joins() Joins       { return joinTable{s} }
func (s *sqlStore) Follows() Follows   { return followTable{s} }
func (s *sqlStore) HomeApps() HomeApps { return homeAppTable{s} }

func (s *sqlStore) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return s.w.ExecContext(ctx, s.d.bind(q), args...)
}

func (s *sqlStore) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return s.r.QueryContext(ctx, s.d.bind(q), args...)
}

func (s *sqlStore) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return s.r.QueryRowContext(ctx, s.d.bind(q), args...)
}

// Tx runs fn in a transaction on the write connection. Within a
// transaction it simply calls fn: there is no nesting. On SQLite fn must
// not use the outer Store, whose writes would wait for this transaction
// to end.
func (s *sqlStore) Tx(ctx context.Context, fn func(Store) error) error {
	return s.tx(ctx, func(t *sqlStore) error { return fn(t) })
}

func (s *sqlStore) tx(ctx context.Context, fn func(*sqlStore) error) (err error) {
	if s.wdb == nil {
		return fn(s)
	}
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", mapErr(err))
	}
	defer func() {
		if p := recover(); p != nil {
			tx.Rollback()
			panic(p)
		}
	}()
	if err := fn(&sqlStore{d: s.d, r: tx, w: tx, keys: s.keys}); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", mapErr(err))
	}
	return nil
}

func (s *sqlStore) Ping(ctx context.Context) error {
	if s.wdb == nil {
		return nil // a transaction's connection is in use, so it answers
	}
	if err := s.wdb.PingContext(ctx); err != nil {
		return fmt.Errorf("ping store: %w", err)
	}
	if err := s.rdb.PingContext(ctx); err != nil {
		return fmt.Errorf("ping store: %w", err)
	}
	return nil
}

func (s *sqlStore) Close() error {
	if s.wdb == nil {
		return errors.New("close store: inside a transaction")
	}
	err := s.wdb.Close()
	if s.rdb != s.wdb {
		err = errors.Join(err, s.rdb.Close())
	}
	return err
}

// mapErr turns driver errors into the package's sentinels, keeping the
// driver's error in the chain for logs. A missing referenced row (a
// foreign key) is ErrNotFound: the caller named a group that is not there.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%w: %w", ErrDuplicate, err)
		case "23503": // foreign_key_violation
			return fmt.Errorf("%w: %w", ErrNotFound, err)
		case "40001", "40P01": // serialization_failure, deadlock_detected
			return fmt.Errorf("%w: %w", ErrConflict, err)
		}
		return err
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %w", ErrDuplicate, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%w: %w", ErrNotFound, err)
		}
	}
	return err
}

//go:embed migrations
var migrations embed.FS

// migrationLock is the advisory lock key that serialises PostgreSQL
// migrations when several processes open the store at once.
const migrationLock = 0x6c6966_65626f6174 // "lifeboat"

// migrate applies the dialect's migrations not yet recorded in
// schema_migrations, all in one transaction, so a failure leaves the
// schema as it was.
func (s *sqlStore) migrate(ctx context.Context) error {
	dir := path.Join("migrations", s.d.name)
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return err
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	return s.tx(ctx, func(t *sqlStore) error {
		if s.d.positional {
			if _, err := t.exec(ctx, "SELECT pg_advisory_xact_lock(?)", migrationLock); err != nil {
				return fmt.Errorf("lock for migration: %w", err)
			}
		}
		if _, err := t.exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT NOT NULL,
			applied_at `+s.d.timeType+` NOT NULL)`); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		var latest int
		if err := t.queryRow(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&latest); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		known := 0
		for _, e := range entries {
			v, err := strconv.Atoi(strings.SplitN(e.Name(), "_", 2)[0])
			if err != nil {
				return fmt.Errorf("migration %s: name must start with a number", e.Name())
			}
			known = max(known, v)
			if v <= latest {
				continue
			}
			body, err := migrations.ReadFile(path.Join(dir, e.Name()))
			if err != nil {
				return err
			}
			if _, err := t.exec(ctx, string(body)); err != nil {
				return fmt.Errorf("migration %s: %w", e.Name(), err)
			}
			if _, err := t.exec(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
				v, e.Name(), s.d.ts(time.Now())); err != nil {
				return fmt.Errorf("record migration %s: %w", e.Name(), err)
			}
		}
		if latest > known {
			return fmt.Errorf("database schema version %d is newer than this lifeboat knows (%d); upgrade lifeboat", latest, known)
		}
		return nil
	})
}
