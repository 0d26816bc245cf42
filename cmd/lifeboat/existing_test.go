package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/provision"
	"github.com/lifeboat-social/lifeboat/provision/existing"
	"github.com/lifeboat-social/lifeboat/provision/existing/admission"
	"github.com/lifeboat-social/lifeboat/provision/existing/existingtest"
	"github.com/lifeboat-social/lifeboat/provision/local"
)

// lb runs the command line as run does, with its own state directory and
// captured output.
func lb(t *testing.T, state string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	app := &App{Stdout: &out, Stderr: &errb, StateDir: state}
	defer app.Close()
	code = runApp(context.Background(), app, args)
	return out.String(), errb.String(), code
}

func TestScoutCommand(t *testing.T) {
	state := t.TempDir()
	open := existingtest.Mastodon(t, existingtest.Open).URL
	approval := existingtest.Mastodon(t, existingtest.Approval).URL
	closed := existingtest.Mastodon(t, existingtest.Closed).URL

	out, errs, code := lb(t, state, "scout", "--json", open)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if got := strings.Join(keys, " "); got != "active_users contact languages registrations rules software version" {
		t.Fatalf("keys %s", got)
	}
	if m["software"] != "mastodon" || m["version"] != "4.3.2" || m["registrations"] != "open" || m["active_users"] != 12840.0 ||
		len(m["rules"].([]any)) != 4 {
		t.Fatalf("report %v", m)
	}

	out, _, code = lb(t, state, "scout", "--json", closed, approval)
	var arr []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &arr) != nil || len(arr) != 2 || arr[0]["registrations"] != "closed" || arr[1]["registrations"] != "approval" {
		t.Fatalf("exit %d, %s", code, out)
	}

	// Ranked for the example group (4 members): open, approval, closed.
	out, errs, code = lb(t, state, "scout", "--group", "../../examples/existing-server.yaml", closed, approval, open)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"registrations  approval (a reason is required)", "domain blocks  2 listed", "characters     500 a post",
		"1. " + open + " — good", "2. " + approval + " — good", "3. " + closed + " — poor", "registrations are closed"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	// Failures: one line each on stderr, exit 1; the good server is still reported.
	html := existingtest.NotMastodon(t).URL
	dead := existingtest.DeadURL(t)
	out, errs, code = lb(t, state, "scout", html, dead, open)
	lines := strings.Split(strings.TrimSpace(errs), "\n")
	if code != 1 || len(lines) != 2 || !strings.Contains(lines[0], html+": not a Mastodon-API server") ||
		!strings.Contains(lines[1], dead+": does not answer") || !strings.Contains(out, "Example Social") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	for _, args := range [][]string{{"scout", html}, {"scout", "--json", dead}} {
		out, errs, code = lb(t, state, args...)
		if code != 1 || strings.Count(errs, "\n") != 1 || out != "" {
			t.Fatalf("%v: exit %d, stdout %q, stderr %q", args, code, out, errs)
		}
	}
	if _, _, code = lb(t, state, "scout"); code != 2 {
		t.Fatalf("no URL: exit %d", code)
	}
}

// TestRequestReviewWatchCommands runs the lead's and the admin's commands
// against the approval-mode fixture, whose admin API refuses the token
// as Mastodon refuses one without the admin scopes.
func TestRequestReviewWatchCommands(t *testing.T) {
	lead, admin := t.TempDir(), t.TempDir()
	srv := existingtest.Mastodon(t, existingtest.Approval).URL
	file := filepath.Join(t.TempDir(), "request.json")

	out, errs, code := lb(t, lead, "request", "../../examples/existing-server.yaml", "--server", srv, "--days", "7", "--out", file, "--link")
	if code != 0 {
		t.Fatalf("request: exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "(4 members)") || !strings.Contains(out, "lifeboat-admission:") || !strings.Contains(out, "mods@approval.example") {
		t.Fatalf("request output:\n%s", out)
	}
	doc, _ := os.ReadFile(file)
	// The lead's contact (mara) is in it on purpose; members' emails are not.
	for _, email := range []string{"noor@example.org", "otto@example.org", "priya@example.org"} {
		if bytes.Contains(doc, []byte(email)) {
			t.Fatalf("the request shows a member's email %s", email)
		}
	}

	out, errs, code = lb(t, admin, "admin", "review", file)
	if code != 0 || !strings.Contains(out, "signature      valid") || !strings.Contains(out, "decision       none yet") ||
		!strings.Contains(out, "4 members, 0% of your 830 active users") || !strings.Contains(out, "the group accepted all 4 of your current rules") {
		t.Fatalf("review: exit %d\n%s\n%s", code, out, errs)
	}
	answer := filepath.Join(t.TempDir(), "answer.json")
	out, errs, code = lb(t, admin, "admin", "review", file, "--accept", "--message", "welcome", "--answer", answer)
	if code != 0 || !strings.Contains(out, "Accepted.") || !strings.Contains(out, "lifeboat request accepted GROUP.yaml answer.json") {
		t.Fatalf("accept: exit %d\n%s\n%s", code, out, errs)
	}
	out, _, _ = lb(t, admin, "admin", "review", file)
	if !strings.Contains(out, "decision       accepted") {
		t.Fatalf("decision not recorded:\n%s", out)
	}
	if fi, err := os.Stat(filepath.Join(admin, admission.AdminKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin key: %v %v", fi, err)
	}

	// A request with the same content signed by another key (on the old
	// format: the same claimed id) neither sees nor changes the decision.
	rekeyed := filepath.Join(t.TempDir(), "rekeyed.json")
	copyDoc, _ := rekey(t, doc)
	os.WriteFile(rekeyed, copyDoc, 0o644)
	out, errs, code = lb(t, admin, "admin", "review", rekeyed, "--no-scout")
	if code != 0 || !strings.Contains(out, "signature      valid") || !strings.Contains(out, "decision       none yet") {
		t.Fatalf("re-keyed copy: exit %d\n%s\n%s", code, out, errs)
	}
	if _, errs, code = lb(t, admin, "admin", "review", rekeyed, "--no-scout", "--reject"); code != 0 {
		t.Fatalf("reject the copy: exit %d: %s", code, errs)
	}
	// Its answer went to the admin's state directory, named by identity.
	answers, _ := filepath.Glob(filepath.Join(admin, "answers", "answer-*.json"))
	if len(answers) != 1 {
		t.Fatalf("answers in the state directory: %v", answers)
	}
	copyAnswer := answers[0]
	if out, _, _ = lb(t, admin, "admin", "review", file, "--no-scout"); !strings.Contains(out, "decision       accepted") {
		t.Fatalf("rejecting the copy changed the group's decision:\n%s", out)
	}

	// The lead imports the admin's answer; the launch check reads it.
	group := "../../examples/existing-server.yaml"
	leadAccepted := func() bool {
		st, err := store.Open(context.Background(), store.Config{Dir: lead})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		ok, err := admission.AcceptedFor(context.Background(), st, "harbour-knitters")
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if leadAccepted() {
		t.Fatal("accepted before the answer reached the lead")
	}
	if _, errs, code = lb(t, lead, "request", "accepted", group, copyAnswer); code != 2 || !strings.Contains(errs, "did not make") {
		t.Fatalf("the copy's answer: exit %d: %s", code, errs)
	}
	out, errs, code = lb(t, lead, "request", "accepted", group, answer)
	if code != 0 || !strings.Contains(out, "accepted (\"welcome\")") || !strings.Contains(out, "ready for the launch") || !leadAccepted() {
		t.Fatalf("import: exit %d\n%s\n%s", code, out, errs)
	}
	ans, _ := os.ReadFile(answer)
	forged := filepath.Join(t.TempDir(), "forged.json")
	os.WriteFile(forged, bytes.Replace(ans, []byte(`"accepted": true`), []byte(`"accepted": false`), 1), 0o644)
	if _, errs, code = lb(t, lead, "request", "accepted", group, forged); code != 2 || !strings.Contains(errs, "signature") {
		t.Fatalf("a tampered answer: exit %d: %s", code, errs)
	}

	// A member joins late: an amendment with only that change, signed
	// with the group's key; the admin sees and accepts only the addition.
	grown := filepath.Join(t.TempDir(), "grown.yaml")
	yaml, _ := os.ReadFile(group)
	os.WriteFile(grown, append(yaml, []byte("  - name: Quinn Twist\n    email: quinn@example.org\n")...), 0o644)
	amendment := filepath.Join(t.TempDir(), "amendment.json")
	out, errs, code = lb(t, lead, "request", grown, "--server", srv, "--amend", "--out", amendment)
	if code != 0 || !strings.Contains(out, "1 members added, 0 removed") {
		t.Fatalf("amend: exit %d\n%s\n%s", code, out, errs)
	}
	if out, _, _ = lb(t, lead, "request", grown, "--server", srv, "--amend", "--out", amendment+"2"); !strings.Contains(out, "unchanged") {
		t.Fatalf("amend again:\n%s", out)
	}
	out, errs, code = lb(t, admin, "admin", "review", amendment, "--accept", "--answer", filepath.Join(t.TempDir(), "amend-answer.json"))
	if code != 0 || !strings.Contains(out, "adds           1 members") || !strings.Contains(out, "removes        0 members") ||
		!strings.Contains(out, "admitted now") || !strings.Contains(out, "additions accepted") {
		t.Fatalf("review amendment: exit %d\n%s\n%s", code, out, errs)
	}
	// Reviewed again, it keeps its answer.
	if out, errs, code = lb(t, admin, "admin", "review", amendment); code != 0 || !strings.Contains(out, "additions accepted") {
		t.Fatalf("review amendment again: exit %d\n%s\n%s", code, out, errs)
	}

	// A tampered request: exit 1, signature INVALID.
	tampered := filepath.Join(t.TempDir(), "tampered.json")
	os.WriteFile(tampered, bytes.Replace(doc, []byte(`"title": "Harbour Knitters"`), []byte(`"title": "Harbour Kn1tters"`), 1), 0o644)
	out, errs, code = lb(t, admin, "admin", "review", tampered, "--accept")
	if code != 1 || !strings.Contains(out, "signature      INVALID") || !strings.Contains(errs, "does not verify") {
		t.Fatalf("tampered: exit %d\n%s\n%s", code, out, errs)
	}

	// The token: never a flag, from the environment or a 0600 file.
	t.Setenv("LIFEBOAT_ADMIN_TOKEN", "")
	if _, errs, code = lb(t, admin, "admin", "watch", "--server", srv, "--once"); code != 2 || !strings.Contains(errs, "LIFEBOAT_ADMIN_TOKEN") {
		t.Fatalf("no token: exit %d: %s", code, errs)
	}
	tokFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokFile, []byte("sekrit-token-value\n"), 0o644)
	if _, errs, code = lb(t, admin, "admin", "watch", "--server", srv, "--once", "--token-file", tokFile); code != 2 || !strings.Contains(errs, "chmod 600") {
		t.Fatalf("0644 token file: exit %d: %s", code, errs)
	}
	if _, errs, code = lb(t, admin, "admin", "watch", "--server", srv, "--token", "x"); code != 2 {
		t.Fatalf("--token flag: exit %d: %s", code, errs)
	}
	os.Chmod(tokFile, 0o600)
	out, errs, code = lb(t, admin, "admin", "watch", "--server", srv, "--once", "--token-file", tokFile)
	if code != 1 || !strings.Contains(errs, "lacks scope admin:read:accounts") || strings.Count(errs, "\n") != 1 {
		t.Fatalf("403 token: exit %d\n%s\n%s", code, out, errs)
	}
	t.Setenv("LIFEBOAT_ADMIN_TOKEN", "sekrit-token-value")
	out, errs, code = lb(t, admin, "admin", "watch", "--server", srv, "--once", "--dry-run")
	if code != 1 || !strings.Contains(errs, "admin:read:accounts") {
		t.Fatalf("403 token from env: exit %d\n%s\n%s", code, out, errs)
	}
	if strings.Contains(out+errs, "sekrit") {
		t.Fatal("the token was printed")
	}
}

// TestAdmissionCommandsRealGoToSocial is the admission through the
// commands on a real GoToSocial v0.17.3 (approval mode, reasons kept):
// request, review --accept, members and an impostor sign up with proofs,
// and admin watch --once with the admin's token from the environment
// approves exactly the member.
func TestAdmissionCommandsRealGoToSocial(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	srv := startApprovalServer(t, dir)
	lead, admin := filepath.Join(dir, "lead"), filepath.Join(dir, "admin")
	file := filepath.Join(dir, "request.json")

	// The server names its admin as contact; the lead has an account of
	// their own there, from which --dm writes to the contact.
	adminMe, err := fedi.New(srv.URL).WithToken(srv.AdminToken).VerifyCredentials(ctx)
	if err != nil {
		t.Fatal(err)
	}
	setContact(t, srv.URL, srv.AdminToken, adminMe.Username)
	if _, err := srv.Accounts.CreateAccount(ctx, "knitlead", "lead@knitters.example", "lead password long 42"); err != nil {
		t.Fatal(err)
	}
	app, err := fedi.New(srv.URL).RegisterApp(ctx, "lead", "", []string{"read", "write"})
	if err != nil {
		t.Fatal(err)
	}
	leadToken, err := fedi.New(srv.URL).SignInAndAuthorize(ctx, app, "lead@knitters.example", "lead password long 42")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("LIFEBOAT_LEAD_TOKEN", leadToken)

	out, errs, code := lb(t, lead, "request", "../../examples/existing-server.yaml", "--server", srv.URL, "--out", file, "--dm")
	if code != 0 {
		t.Fatalf("request: exit %d: %s", code, errs)
	}
	if strings.Contains(out+errs, leadToken) {
		t.Fatal("the lead's token was printed")
	}
	// The admin got it: a direct mention from the lead, naming the group
	// and how to check the request.
	var notes []struct {
		Type    string `json:"type"`
		Account struct {
			Username string `json:"username"`
		} `json:"account"`
		Status struct {
			Visibility string `json:"visibility"`
			Content    string `json:"content"`
		} `json:"status"`
	}
	// GoToSocial makes notifications a moment after the post, in the
	// background.
	for deadline := time.Now().Add(30 * time.Second); len(notes) == 0 && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		getJSON(t, srv.URL+"/api/v1/notifications?types[]=mention", srv.AdminToken, &notes)
	}
	if len(notes) != 1 || notes[0].Account.Username != "knitlead" || notes[0].Status.Visibility != "direct" ||
		!strings.Contains(notes[0].Status.Content, "Harbour Knitters") || !strings.Contains(notes[0].Status.Content, "lifeboat admin review") {
		t.Fatalf("the admin's mentions: %+v", notes)
	}
	if out, errs, code := lb(t, admin, "admin", "review", file, "--accept"); code != 0 {
		t.Fatalf("review: exit %d\n%s\n%s", code, out, errs)
	}

	// The invite page mints the member's proof at each load: Noor loads
	// it three times and signs up three times, as noor@, NOOR@ and
	// Noor@, one proof each.
	st, err := store.Open(ctx, store.Config{Dir: lead})
	if err != nil {
		t.Fatal(err)
	}
	var noor []string
	for range 3 {
		p, _, err := admission.MemberProof(ctx, st, "harbour-knitters", srv.URL, "noor@example.org")
		if err != nil {
			t.Fatal(err)
		}
		noor = append(noor, p)
	}
	otto, _, err := admission.MemberProof(ctx, st, "harbour-knitters", srv.URL, "otto@example.org")
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	// An attacker makes a re-keyed copy of the group's request, and the
	// admin is fooled into accepting it too; the attacker mints proofs
	// with their key for Priya (a member) and for themself.
	doc, _ := os.ReadFile(file)
	rekeyed := filepath.Join(dir, "rekeyed.json")
	copyDoc, evilKey := rekey(t, doc)
	os.WriteFile(rekeyed, copyDoc, 0o644)
	if out, errs, code := lb(t, admin, "admin", "review", rekeyed, "--accept"); code != 0 {
		t.Fatalf("review the copy: exit %d\n%s\n%s", code, out, errs)
	}
	copyReq, err := admission.Decode(copyDoc)
	if err != nil {
		t.Fatal(err)
	}
	evil := map[string]string{}
	for _, email := range []string{"priya@example.org", "eve@evil.example"} {
		if evil[email], err = admission.IssueProof(copyReq, evilKey, email, admission.Window{}); err != nil {
			t.Fatal(err)
		}
	}

	reg := existing.NewRegistrar(srv.URL)
	signUps := []struct {
		existing.Member
		confirm bool
	}{
		{existing.Member{Username: "noor", Email: "noor@example.org", Proof: noor[0]}, true},
		{existing.Member{Username: "noor2", Email: "NOOR@example.org", Proof: noor[1]}, true},
		{existing.Member{Username: "noor3", Email: "Noor@example.org", Proof: noor[2]}, true},
		{existing.Member{Username: "otto", Email: "otto@example.org", Proof: otto}, false},         // never confirms
		{existing.Member{Username: "mallory", Email: "mallory@example.org", Proof: noor[0]}, true}, // another's proof
		{existing.Member{Username: "priyafake", Email: "priya@example.org", Proof: evil["priya@example.org"]}, true},
		{existing.Member{Username: "eve", Email: "eve@evil.example", Proof: evil["eve@evil.example"]}, true},
		{existing.Member{Username: "visitor", Email: "visitor@example.org", Proof: "no proof, but I would love to join"}, true},
	}
	for _, m := range signUps {
		m.Password, m.GroupTitle = "a long enough password 42", "Harbour Knitters"
		if _, err := reg.SignUp(ctx, m.Member); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range signUps {
		if m.confirm {
			existingtest.ConfirmEmail(t, filepath.Join(dir, "gts"), srv.URL, m.Email)
		}
	}

	t.Setenv("LIFEBOAT_ADMIN_TOKEN", srv.AdminToken)
	out, errs, code = lb(t, admin, "admin", "watch", "--server", srv.URL, "--once", "--dry-run")
	if code != 0 || strings.Count(out, "approve @noor") != 1 || !strings.Contains(out, "[dry run]") {
		t.Fatalf("dry run: exit %d\n%s\n%s", code, out, errs)
	}
	// Exactly one of Noor's accounts is approved (the oldest; GoToSocial
	// gives their sign-ups the same second), and nobody else; a second
	// poll changes nothing.
	c := fedi.New(srv.URL).WithToken(srv.AdminToken)
	chosen := ""
	for poll := range 2 {
		out, errs, code = lb(t, admin, "admin", "watch", "--server", srv.URL, "--once")
		if code != 0 {
			t.Fatalf("watch: exit %d\n%s\n%s", code, out, errs)
		}
		if strings.Contains(out+errs, srv.AdminToken) {
			t.Fatal("the admin token was printed")
		}
		var approved []string
		for _, m := range signUps {
			as, err := c.AdminAccounts(ctx, url.Values{"username": {m.Username}, "origin": {"local"}})
			if err != nil || len(as) != 1 {
				t.Fatalf("%s: %v, %d accounts", m.Username, err, len(as))
			}
			if as[0].Approved {
				approved = append(approved, m.Username)
			}
		}
		if len(approved) != 1 || !strings.HasPrefix(approved[0], "noor") || (chosen != "" && approved[0] != chosen) {
			t.Fatalf("poll %d approved %v, want one of noor's accounts\n%s", poll, approved, out)
		}
		chosen = approved[0]
		if poll == 0 {
			for _, want := range []string{"member already has an approved account",
				"leave @otto", "email is not confirmed", "leave @mallory", "proof is for another email",
				"leave @priyafake", "leave @eve", "not one of the group's members", "leave @visitor"} {
				if !strings.Contains(out, want) {
					t.Errorf("watch output lacks %q:\n%s", want, out)
				}
			}
			if strings.Count(out, "member already has an approved account") != 2 {
				t.Errorf("noor's other accounts:\n%s", out)
			}
		}
	}
}

// startApprovalServer starts a GoToSocial in approval mode with reasons
// required, its state in dir/gts, as an existing server whose admin
// watches sign-ups.
func startApprovalServer(t *testing.T, dir string) *provision.Server {
	t.Helper()
	l := local.New(local.Config{Dir: filepath.Join(dir, "gts"), Title: "Admission", ReasonRequired: true})
	// Stopped even when it did not answer in time: it may still be
	// starting.
	t.Cleanup(func() { l.Stop(context.Background()) })
	srv, err := l.Start(context.Background(), progress.Discard)
	if err != nil {
		t.Fatalf("start GoToSocial: %v", err)
	}
	return srv
}

// rekey is an attacker's copy of a request document: the same content,
// signed with a key of the attacker's.
func rekey(t *testing.T, doc []byte) ([]byte, ed25519.PrivateKey) {
	t.Helper()
	var r admission.Request
	if err := json.Unmarshal(doc, &r); err != nil {
		t.Fatal(err)
	}
	_, k, _ := ed25519.GenerateKey(nil)
	r.PublicKey = base64.RawURLEncoding.EncodeToString(k.Public().(ed25519.PublicKey))
	r.Signature = ""
	b, _ := json.Marshal(r)
	r.Signature = base64.RawURLEncoding.EncodeToString(ed25519.Sign(k, append([]byte("lifeboat-admission-request\x00"), b...)))
	return r.Encode(), k
}

// setContact makes username the server's contact account, as its admin
// does in the settings.
func setContact(t *testing.T, server, token, username string) {
	t.Helper()
	apiCall(t, http.MethodPatch, server+"/api/v1/instance", token, url.Values{"contact_username": {username}}, nil)
}

func getJSON(t *testing.T, u, token string, out any) {
	t.Helper()
	apiCall(t, http.MethodGet, u, token, nil, out)
}

// apiCall sends one Mastodon-API request (form: its body, if any) and
// decodes the answer into out (if not nil); anything but 200 fails.
func apiCall(t *testing.T, method, u, token string, form url.Values, out any) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	req.Header.Set("Authorization", "Bearer "+token)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s %s: %d %s", method, u, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
}
