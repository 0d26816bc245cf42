package gtsaccounts

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// script is a stand-in maker speaking the line protocol, for what this
// package adds around the real one (internal/tools builds that; the local
// and hetzner tests run it against a real GoToSocial).
func script(t *testing.T, body string) (StartFunc, *atomic.Int32) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "maker.sh")
	if err := os.WriteFile(path, []byte(body), 0o700); err != nil {
		t.Fatal(err)
	}
	var starts atomic.Int32
	start := Exec("sh", path)
	return func(ctx context.Context) (Proc, error) {
		starts.Add(1)
		return start(ctx)
	}, &starts
}

// A maker that dies after each answer (as an SSH session that drops) is
// started again, and the request sent again, without the caller seeing it.
func TestRestartsADeadMaker(t *testing.T) {
	start, starts := script(t, `IFS='	' read -r user email pass admin; printf 'ok\t%s-id\n' "$user"`)
	m := New(start)
	defer m.Close()
	ctx := context.Background()
	for _, u := range []string{"ada", "ben", "cleo"} {
		id, err := m.CreateAccount(ctx, u, u+"@example.org", "pw pw pw pw")
		if err != nil || id != u+"-id" {
			t.Fatalf("%s: %q, %v", u, id, err)
		}
	}
	if starts.Load() != 3 {
		t.Fatalf("%d starts, want 3", starts.Load())
	}
}

// A maker that cannot answer at all fails once, with what it said.
func TestMakerThatNeverAnswers(t *testing.T) {
	start, starts := script(t, `echo "open database: disk on fire" >&2; exit 1`)
	m := New(start)
	defer m.Close()
	_, err := m.CreateAccount(context.Background(), "ada", "ada@example.org", "pw pw pw pw")
	if err == nil || !strings.Contains(err.Error(), "disk on fire") || starts.Load() != 1 {
		t.Fatalf("err %v after %d starts", err, starts.Load())
	}
}

// diedProc is a maker that died before reading its request: the write
// breaks the pipe, and its standard error is complete only once it has
// been waited for (as exec's copying goroutine makes it).
type diedProc struct{ closed bool }

func (p *diedProc) Write([]byte) (int, error) { return 0, errors.New("write |1: broken pipe") }
func (p *diedProc) Output() io.Reader         { return strings.NewReader("") }
func (p *diedProc) Close() error              { p.closed = true; return errors.New("exit status 1") }
func (p *diedProc) Said() string {
	if !p.closed {
		return ""
	}
	return "open database: disk on fire\n"
}

// The maker's own words reach the error whichever way its death shows:
// a broken pipe on the request or no answer line.
func TestMakerThatDiesBeforeReading(t *testing.T) {
	var starts atomic.Int32
	m := New(func(context.Context) (Proc, error) { starts.Add(1); return &diedProc{}, nil })
	defer m.Close()
	_, err := m.CreateAccount(context.Background(), "ada", "ada@example.org", "pw pw pw pw")
	if err == nil || !strings.Contains(err.Error(), "disk on fire") || starts.Load() != 1 {
		t.Fatalf("err %v after %d starts", err, starts.Load())
	}
}

func TestAnswers(t *testing.T) {
	start, _ := script(t, `while IFS='	' read -r user email pass admin; do
  case "$user" in
    heron) printf 'broken\tno user\n' ;;
    taken*) printf 'taken\tbelongs to someone else\n' ;;
    oops) printf 'error\tpassword too weak\n' ;;
    *) printf 'ok\t%s:%s\n' "$user" "$admin" ;;
  esac
done`)
	m := New(start)
	defer m.Close()
	ctx := context.Background()
	if id, err := m.CreateAccount(ctx, "heron", "h@example.org", "pw"); err != nil || id != "heron_2:0" {
		t.Errorf("broken name: %q, %v; want the next variant", id, err)
	}
	if _, err := m.CreateAccount(ctx, "taken", "t@example.org", "pw"); !errors.Is(err, ErrUsernameTaken) {
		t.Errorf("taken: %v", err)
	}
	if _, err := m.CreateAccount(ctx, "oops", "o@example.org", "pw"); err == nil || !strings.Contains(err.Error(), "password too weak") {
		t.Errorf("error answer: %v", err)
	}
	if err := m.CreateAdmin(ctx, "boss", "b@example.org", "pw"); err != nil {
		t.Errorf("admin: %v", err)
	}
	if kind, _, err := m.Create(ctx, "a\tb", "e", "p", false); kind != "error" || err != nil {
		t.Errorf("a tab in a username: %q, %v", kind, err)
	}
	if got := variant("abcdefghijklmnopqrstuvwxyz0123", 3); got != "abcdefghijklmnopqrstuvwxyz01_3" {
		t.Errorf("variant = %q", got)
	}
}
