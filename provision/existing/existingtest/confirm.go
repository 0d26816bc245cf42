package existingtest

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite" // to read the token GoToSocial stored
)

// ConfirmEmail does on a real GoToSocial (run by provision/local in dir)
// what a member does with its confirmation mail: it opens the link and
// presses the button, so the server marks the email confirmed itself.
// No mail relay runs in tests; GoToSocial stores the link's token in its
// database when it hands the mail to its sender, and that is where it is
// read. email must be spelt as at sign-up.
func ConfirmEmail(t testing.TB, dir, serverURL, email string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "gts.db")+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The mail is sent by a worker a moment after the sign-up.
	// Until then the user's row may exist with no token (NULL).
	var token string
	for deadline := time.Now().Add(30 * time.Second); token == "" && time.Now().Before(deadline); {
		var tok sql.NullString
		err := db.QueryRow(`SELECT confirmation_token FROM users WHERE unconfirmed_email = ?`, email).Scan(&tok)
		if err != nil && err != sql.ErrNoRows {
			t.Fatalf("read the confirmation token of %s: %v", email, err)
		}
		if token = tok.String; token == "" {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if token == "" {
		t.Fatalf("GoToSocial sent %s no confirmation", email)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u := strings.TrimRight(serverURL, "/") + "/confirm_email?token=" + url.QueryEscape(token)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	req.Header.Set("Accept", "text/html")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("confirm %s: %d %s", email, resp.StatusCode, body)
	}
}
