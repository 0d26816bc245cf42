package arrival

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
)

// Login is a member's login on a server Lifeboat runs, with the password
// Lifeboat made for it.
type Login struct {
	Email, Username, Password, Server string
}

// Logins keeps the passwords Lifeboat makes for members, outside the
// store: the store never holds a password. The demo's members are
// simulated, and the lead logs in as them with these.
type Logins interface {
	// Login returns the login kept for email; ok is false when there is
	// none.
	Login(email string) (l Login, ok bool)
	// Keep records a login before the account is made with it, so that
	// a run cut off after the sign-up finds the password again.
	Keep(l Login) error
}

// LoginsFile keeps logins in a CSV file (email, username, password,
// server), mode 0600, one line appended and synced per login. A line cut
// off by a crash is ignored: its account was never made.
type LoginsFile struct {
	path string

	mu     sync.Mutex
	loaded map[string]Login
}

// OpenLogins returns the logins kept in path (a file that does not exist
// yet holds none).
func OpenLogins(path string) (*LoginsFile, error) {
	f := &LoginsFile{path: path, loaded: map[string]Login{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read logins: %w", err)
	}
	// A last line cut off mid-write goes, so the next one starts clean.
	if end := bytes.LastIndexByte(b, '\n') + 1; end < len(b) {
		if err := os.Truncate(path, int64(end)); err != nil {
			return nil, fmt.Errorf("repair logins: %w", err)
		}
		b = b[:end]
	}
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = 4
	recs, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("read logins %s: %w", path, err)
	}
	for i, rec := range recs {
		if i == 0 && rec[0] == "email" {
			continue
		}
		f.loaded[strings.ToLower(rec[0])] = Login{Email: rec[0], Username: rec[1], Password: rec[2], Server: rec[3]}
	}
	return f, nil
}

// Path is the file's path.
func (f *LoginsFile) Path() string { return f.path }

func (f *LoginsFile) Login(email string) (Login, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l, ok := f.loaded[strings.ToLower(email)]
	return l, ok
}

// Keep appends l and syncs the file before returning.
func (f *LoginsFile) Keep(l Login) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	fi, err := os.Stat(f.path)
	if errors.Is(err, fs.ErrNotExist) || err == nil && fi.Size() == 0 {
		w.Write([]string{"email", "username", "password", "server"})
	}
	w.Write([]string{l.Email, l.Username, l.Password, l.Server})
	w.Flush()
	file, err := os.OpenFile(f.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("keep login: %w", err)
	}
	_, werr := file.Write(b.Bytes())
	if err := errors.Join(werr, file.Chmod(0o600), file.Sync(), file.Close()); err != nil {
		return fmt.Errorf("keep login: %w", err)
	}
	f.loaded[strings.ToLower(l.Email)] = l
	return nil
}
