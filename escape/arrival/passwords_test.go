package arrival_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lifeboat-social/lifeboat/escape"
	"github.com/lifeboat-social/lifeboat/escape/arrival"
	"github.com/lifeboat-social/lifeboat/internal/gtstest"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

// TestCrashBetweenSignUpAndSignIn: the run is cut off after the server
// made the accounts and before their ids and tokens were recorded. A new
// process (a new engine, the store and the logins file opened again)
// finds the same accounts, not new ones, and signs them in with the
// passwords kept in the logins file. No password ever reaches the store,
// and no token is in it in clear.
func TestCrashBetweenSignUpAndSignIn(t *testing.T) {
	_, srv := gtstest.Server(t)
	ctx := context.Background()
	g := group("crash", 3)
	dir := filepath.Join(t.TempDir(), "state")
	loginsPath := filepath.Join(t.TempDir(), "logins.csv")
	openAll := func() (store.Store, *arrival.Engine) {
		st, err := store.Open(ctx, store.Config{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		l, err := arrival.OpenLogins(loginsPath)
		if err != nil {
			t.Fatal(err)
		}
		return st, arrival.New(arrival.Config{Store: st, Group: g, Server: srv, Logins: l})
	}
	st, e := openAll()
	if err := escape.SaveGroup(ctx, st, g); err != nil {
		t.Fatal(err)
	}
	made := map[string]string{}
	for _, m := range g.Members {
		if err := e.Join(ctx, m.Email, "", ""); err != nil {
			t.Fatal(err)
		}
		a, err := st.Accounts().Get(ctx, g.Name, m.Email)
		if err != nil || a.ID == "" {
			t.Fatalf("%s: %+v, %v", m.Email, a, err)
		}
		made[a.Email] = a.ID
		// the crash: the sign-up happened, its id was never recorded
		a.ID = ""
		if err := st.Accounts().Put(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	// a crash can also leave a half-written line in the logins file
	f, err := os.OpenFile(loginsPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("half@example.org,ha")
	f.Close()
	st.Close()

	st, e = openAll()
	defer st.Close()
	arrive(t, e, g, 0, 1, 2)
	if err := e.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	verifyMesh(t, st, e, g, srv.URL, 3)
	accs, err := st.Accounts().List(ctx, g.Name)
	if err != nil {
		t.Fatal(err)
	}
	var tokens []string
	for _, a := range accs {
		if made[a.Email] != a.ID {
			t.Errorf("%s: account %s after the crash, %s before: a second account was made", a.Email, a.ID, made[a.Email])
		}
		tokens = append(tokens, a.Token)
	}

	// The logins file: 0600, one line per member, nothing half-written.
	b, err := os.ReadFile(loginsPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(loginsPath); fi.Mode().Perm() != 0o600 {
		t.Errorf("logins file mode %v", fi.Mode().Perm())
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil || len(recs) != 4 || strings.Join(recs[0], ",") != "email,username,password,server" {
		t.Fatalf("logins file (%v):\n%s", err, b)
	}
	st.Close()
	var passwords []string
	for _, r := range recs[1:] {
		passwords = append(passwords, r[2])
	}
	assertNotStored(t, dir, "password", passwords)
	assertNotStored(t, dir, "token", tokens)
}

// assertNotStored fails if any of the secrets is in the SQLite files.
func assertNotStored(t *testing.T, dir, what string, secrets []string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, store.DBFile+"*"))
	if len(files) == 0 {
		t.Fatal("no database files")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			if len(s) < 8 {
				t.Fatalf("a %s of %d characters proves nothing", what, len(s))
			}
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds a %s in clear", filepath.Base(f), what)
			}
		}
	}
}

// TestMembersOwnPasswordForgotten: a member's own password (the web
// page's sign-up) makes the account and is kept nowhere.
func TestMembersOwnPasswordForgotten(t *testing.T) {
	_, srv := gtstest.Server(t)
	ctx := context.Background()
	g := group("own", 1)
	dir := filepath.Join(t.TempDir(), "state")
	st, err := store.Open(ctx, store.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := escape.SaveGroup(ctx, st, g); err != nil {
		t.Fatal(err)
	}
	e := arrival.New(arrival.Config{Store: st, Group: g, Server: srv})
	const pw = "the member's own passphrase 4711"
	if err := e.Join(ctx, g.Members[0].Email, "", pw); err != nil {
		t.Fatal(err)
	}
	// Lifeboat cannot sign the member in: it kept no password. The
	// member authorises Lifeboat through OAuth instead.
	if err := e.SignIn(ctx, g.Members[0].Email); !errors.Is(err, arrival.ErrPasswordLost) {
		t.Fatalf("sign in without a kept password: %v", err)
	}
	st.Close()
	assertNotStored(t, dir, "password", []string{pw})
}
