package arrival

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLoginsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logins.csv")
	f, err := OpenLogins(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.Login("ada@example.org"); ok {
		t.Fatal("a login in a file that does not exist")
	}
	ada := Login{Email: "ada@example.org", Username: "ada", Password: "p,w\"1", Server: "http://127.0.0.1:1"}
	if err := f.Keep(ada); err != nil {
		t.Fatal(err)
	}
	if err := f.Keep(Login{Email: "ben@example.org", Username: "ben", Password: "pw2", Server: "http://127.0.0.1:1"}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("logins file: %v, mode %v", err, fi.Mode().Perm())
	}
	// A crash mid-line: the cut line is dropped and the next one is
	// written on a line of its own.
	w, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	w.WriteString("cy@example.org,cy,pw")
	w.Close()
	g, err := OpenLogins(path)
	if err != nil {
		t.Fatal(err)
	}
	if l, ok := g.Login("ADA@example.org"); !ok || l != ada {
		t.Fatalf("ada after reopening: %+v", l)
	}
	if _, ok := g.Login("cy@example.org"); ok {
		t.Fatal("a half-written login was read")
	}
	if err := g.Keep(Login{Email: "cy@example.org", Username: "cy", Password: "pw3"}); err != nil {
		t.Fatal(err)
	}
	h, err := OpenLogins(path)
	if err != nil {
		t.Fatal(err)
	}
	if l, ok := h.Login("cy@example.org"); !ok || l.Password != "pw3" {
		t.Fatalf("cy: %+v", l)
	}
	b, _ := os.ReadFile(path)
	if want := "email,username,password,server\nada@example.org,ada,\"p,w\"\"1\",http://127.0.0.1:1\nben@example.org,ben,pw2,http://127.0.0.1:1\ncy@example.org,cy,pw3,\n"; string(b) != want {
		t.Fatalf("file:\n%s\nwant:\n%s", b, want)
	}
}
