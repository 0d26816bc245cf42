package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

// held is an upload sent up to the middle of its file and held there: its
// body is a pipe the test feeds, so the server waits on it for as long as
// the test likes.
type held struct {
	pw   *io.PipeWriter
	rest []byte
}

// answer is the server's answer to the i-th held upload.
type answer struct {
	i      int
	status int
	header http.Header
	body   string
	err    error
}

// multipartBody is a form as a browser sends it: the fields in order,
// then the file field "export"; at is where the file's content starts.
func multipartBody(fields [][2]string, file string, content []byte) (body []byte, contentType string, at int) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range fields {
		mw.WriteField(f[0], f[1])
	}
	fw, _ := mw.CreateFormFile("export", file)
	at = buf.Len()
	fw.Write(content)
	mw.Close()
	return buf.Bytes(), mw.FormDataContentType(), at
}

// hold posts the form to u in b, declaring declared bytes (0: the
// form's length), and sends it up to the middle of the file; the answer
// comes on answers.
func hold(b *browser, u string, i int, fields [][2]string, file string, content []byte, declared int64, answers chan<- answer) *held {
	body, ct, at := multipartBody(fields, file, content)
	cut := at + len(content)/2
	pr, pw := io.Pipe()
	req, err := http.NewRequest(http.MethodPost, u, pr)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	req.ContentLength = int64(len(body))
	if declared > 0 {
		req.ContentLength = declared
	}
	go pw.Write(body[:cut]) // returns once sent, or when the pipe is closed
	go func() {
		resp, err := b.c.Do(req)
		a := answer{i: i, err: err}
		if err == nil {
			var out bytes.Buffer
			out.ReadFrom(resp.Body)
			resp.Body.Close()
			a.status, a.header, a.body = resp.StatusCode, resp.Header, html.UnescapeString(out.String())
		}
		answers <- a
	}()
	return &held{pw: pw, rest: body[cut:]}
}

// finish sends the rest of the form.
func (h *held) finish() {
	go func() {
		h.pw.Write(h.rest)
		h.pw.Close()
	}()
}

// abandon breaks the form off where it is.
func (h *held) abandon() { h.pw.CloseWithError(errors.New("abandoned by the test")) }

// next is the next answer; a server that gives none in 20 s fails.
func next(t *testing.T, answers <-chan answer) answer {
	t.Helper()
	select {
	case a := <-answers:
		if a.err != nil {
			t.Fatalf("upload %d: %v", a.i, a.err)
		}
		return a
	case <-time.After(20 * time.Second):
		t.Fatal("no answer to a held upload in 20 s")
		return answer{}
	}
}

// joinFields are the join form's fields of the i-th person, with the
// CSRF token of a join page b has loaded.
func (e *env) joinFields(b *browser, who string) [][2]string {
	e.t.Helper()
	code, page := b.get(e.url + "/join")
	if code != 200 {
		e.t.Fatalf("join page %d:\n%s", code, page)
	}
	return [][2]string{{"csrf", csrfOf(e.t, page)}, {"name", who + " Tern"}, {"email", who + "@example.net"},
		{"fediverse", "@" + who + "@old.example"}, {"mode", "any"}}
}

// pledgeUploadURL is the member's upload form's address, with the form's
// fields, for browser b.
func (e *env) pledgeUploadURL(b *browser, email, owner string) (string, [][2]string) {
	e.t.Helper()
	link := must(e.srv.PledgeLink(email))
	_, page := b.get(link)
	return link + "/follows", [][2]string{{"csrf", csrfOf(e.t, page)}, {"owner", owner}}
}

func (e *env) joined(email string) bool {
	e.t.Helper()
	_, err := e.st.Joins().Get(context.Background(), e.srv.GroupName(), email)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		e.t.Fatal(err)
	}
	return err == nil
}

// TestUploadsAtOnce: the join page receives at most so many files at
// once, and pledge pages so many of their own. An upload beyond them is
// answered at once, 503 with Retry-After, without reading its file: the
// join page comes back with what the person typed, and nothing is saved.
// The uploads taken are kept when they end, and the slots are free
// again. Every upload is held open by the test, so which ones wait and
// which are refused does not depend on timing.
func TestUploadsAtOnce(t *testing.T) {
	uploads, err := NewUploads(t.TempDir(), 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	e := start(t, opts{group: joinGroup(groups.EnrolOpen, 2, 3), tune: func(c *Config) { c.Uploads = uploads }})
	csv := mastodonCSV("ada@old.example", "ben@old.example", "someone@elsewhere.example")

	// Four strangers send their join with a file at once; two are taken
	// and wait for the rest of their files.
	answers := make(chan answer, 4)
	var hs []*held
	for i := range 4 {
		b := newBrowser(t, false)
		hs = append(hs, hold(b, e.url+"/join", i, e.joinFields(b, fmt.Sprintf("sender%d", i)), "following.csv", csv, 0, answers))
	}
	busy := map[int]bool{}
	for range 2 {
		a := next(t, answers)
		who := fmt.Sprintf("sender%d", a.i)
		if a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") != "60" || !strings.Contains(a.body, busyText) ||
			!strings.Contains(a.body, "Nothing was saved yet") {
			t.Fatalf("%s, beyond the join page's uploads: %d (Retry-After %q):\n%s", who, a.status, a.header.Get("Retry-After"), a.body)
		}
		for _, typed := range []string{who + " Tern", who + "@example.net", "@" + who + "@old.example"} {
			if !strings.Contains(a.body, `value="`+typed+`"`) {
				t.Errorf("%s's busy page lost %q:\n%s", who, typed, a.body)
			}
		}
		if !strings.Contains(a.body, `value="any" checked`) {
			t.Errorf("%s's busy page lost the pledge", who)
		}
		busy[a.i] = true
		hs[a.i].abandon()
	}
	// Members have slots of their own: the strangers do not keep them
	// from uploading.
	if code, page := e.upload(newBrowser(t, false), "ada@example.org", "@ada@old.example", "following.csv", mastodonCSV("ben@old.example")); code != http.StatusSeeOther {
		t.Fatalf("a member's upload while the join page's are taken: %d:\n%s", code, page)
	}
	for i, h := range hs {
		if !busy[i] {
			h.finish()
		}
	}
	for range 2 {
		if a := next(t, answers); a.status != http.StatusSeeOther || !strings.HasSuffix(a.header.Get("Location"), "/join?done=sent&follows=1") {
			t.Fatalf("sender%d, taken: %d %s:\n%s", a.i, a.status, a.header.Get("Location"), a.body)
		}
	}
	var kept []string
	for i := range 4 {
		email := fmt.Sprintf("sender%d@example.net", i)
		if e.joined(email) == busy[i] {
			t.Errorf("sender%d (turned away: %v) joined: %v", i, busy[i], e.joined(email))
		}
		if !busy[i] {
			kept = append(kept, email)
		} else if n := len(e.mb.To(email)); n != 0 {
			t.Errorf("sender%d, turned away, got %d mails", i, n)
		}
	}
	kept = append(kept, "ada@example.org")
	slices.Sort(kept)
	if got := e.followsOf(); !slices.Equal(got, kept) {
		t.Fatalf("follows of %q, want %q", got, kept)
	}
	// The slots are free again.
	if resp, page := e.joinUpload(e.joinFields(newBrowser(t, false), "late")[1:], "following.csv", csv); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("a join with a file after the others: %d:\n%s", resp.StatusCode, page)
	}

	// Pledge pages: one member upload at once here. Ada's is taken and
	// held; Ben's meanwhile is told to come back, on his page.
	ba, bb := newBrowser(t, false), newBrowser(t, false)
	u, fields := e.pledgeUploadURL(ba, "ada@example.org", "@ada@old.example")
	ada := hold(ba, u, 0, fields, "following.csv", csv, 0, answers)
	u, fields = e.pledgeUploadURL(bb, "ben@example.org", "@ben@old.example")
	ben := hold(bb, u, 1, fields, "following.csv", csv, 0, answers)
	first := next(t, answers)
	if first.status != http.StatusServiceUnavailable || first.header.Get("Retry-After") != "60" || !strings.Contains(first.body, busyText) ||
		!strings.Contains(first.body, "Upload my follows") {
		t.Fatalf("upload %d, beyond the pledge pages' uploads: %d:\n%s", first.i, first.status, first.body)
	}
	taken := []*held{ada, ben}[1-first.i]
	[]*held{ada, ben}[first.i].abandon()
	taken.finish()
	if a := next(t, answers); a.status != http.StatusSeeOther || !strings.Contains(a.header.Get("Location"), "done=follows") {
		t.Fatalf("upload %d, taken: %d:\n%s", a.i, a.status, a.body)
	}
}

// csvOfSize is a Mastodon following list of exactly n bytes (n > 120).
func csvOfSize(n int) []byte {
	b := []byte("Account address,Show boosts,Notify on new posts,Languages\n")
	const tail = "@old.example,true,false,\n"
	for i := 0; ; i++ {
		row := fmt.Sprintf("p%d%s", i, tail)
		if n-len(b)-len(row) < 2*len(row) {
			break
		}
		b = append(b, row...)
	}
	b = append(b, strings.Repeat("z", n-len(b)-len(tail))...)
	return append(b, tail...)
}

// TestJoinUploadCap: the join page, which anyone may use, takes a smaller
// file than a pledge page: at its cap the file is kept; one byte over, or
// a form that declares more, is refused before anything is saved, with
// what the person typed and what to do instead; the pledge page takes the
// same file.
func TestJoinUploadCap(t *testing.T) {
	const limit = 4 << 10
	e := start(t, opts{group: joinGroup(groups.EnrolOpen, 1, 3), tune: func(c *Config) { c.JoinUploadMax = limit }})
	if n := len(csvOfSize(limit)); n != limit {
		t.Fatalf("csvOfSize gives %d bytes", n)
	}
	if _, page := newBrowser(t, false).get(e.url + "/join"); !strings.Contains(page, "at most 4 KB here") || !strings.Contains(page, "which takes up to 256 MB") {
		t.Fatalf("the join page does not say its cap:\n%s", page)
	}

	resp, page := e.joinUpload(e.joinFields(newBrowser(t, false), "atcap")[1:], "following.csv", csvOfSize(limit))
	if resp.StatusCode != http.StatusSeeOther || !slices.Equal(e.followsOf(), []string{"atcap@example.net"}) {
		t.Fatalf("a file at the cap: %d, follows of %q:\n%s", resp.StatusCode, e.followsOf(), page)
	}

	refused := func(who string, status int, page string) {
		t.Helper()
		page = html.UnescapeString(page)
		for _, want := range []string{"larger than 4 KB, the most this page takes before you are let in",
			"upload it from your pledge page, which takes up to 256 MB", "or ask Ada Heron to import it for you",
			"Nothing was saved yet", `value="` + who + `@example.net"`, `value="@` + who + `@old.example"`, `id="export-error"`} {
			if !strings.Contains(page, want) {
				t.Errorf("%s: %d, no %q in:\n%s", who, status, want, page)
			}
		}
		if status != http.StatusUnprocessableEntity || e.joined(who+"@example.net") || len(e.mb.To(who+"@example.net")) != 0 {
			t.Errorf("%s: %d, joined %v, %d mails", who, status, e.joined(who+"@example.net"), len(e.mb.To(who+"@example.net")))
		}
	}
	resp, page = e.joinUpload(e.joinFields(newBrowser(t, false), "over")[1:], "following.csv", csvOfSize(limit+1))
	refused("over", resp.StatusCode, page)

	// A form that says it is far larger is answered before its file is
	// sent: the test never sends it.
	answers := make(chan answer, 1)
	b := newBrowser(t, false)
	h := hold(b, e.url+"/join", 0, e.joinFields(b, "huge"), "archive.zip", csvOfSize(limit), 1<<30, answers)
	a := next(t, answers)
	h.abandon()
	refused("huge", a.status, a.body)

	// Ada, a member, uploads the same file on her pledge page.
	if code, page := e.upload(newBrowser(t, false), "ada@example.org", "@ada@old.example", "following.csv", csvOfSize(limit+1)); code != http.StatusSeeOther {
		t.Fatalf("the pledge page refused a file over the join page's cap: %d:\n%s", code, page)
	}
}

// TestJoinUploadBrokenOff: an upload that ends before its file does
// saves nothing, not even the join, and the page keeps what was typed.
func TestJoinUploadBrokenOff(t *testing.T) {
	e := start(t, opts{group: joinGroup(groups.EnrolOpen, 1, 3)})
	b := newBrowser(t, false)
	body, ct, _ := multipartBody(e.joinFields(b, "cut"), "following.csv", mastodonCSV("ada@old.example"))
	resp, err := b.c.Post(e.url+"/join", ct, bytes.NewReader(body[:len(body)-60]))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	out.ReadFrom(resp.Body)
	page := html.UnescapeString(out.String())
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "The upload broke off before the end") ||
		!strings.Contains(page, "Nothing was saved yet") || !strings.Contains(page, `value="cut@example.net"`) {
		t.Fatalf("a form broken off: %d:\n%s", resp.StatusCode, page)
	}
	if e.joined("cut@example.net") || len(e.mb.To("cut@example.net")) != 0 || len(e.followsOf()) != 0 {
		t.Fatalf("a form broken off saved: joined %v, %d mails, follows of %q", e.joined("cut@example.net"), len(e.mb.To("cut@example.net")), e.followsOf())
	}
}

// TestUploadOutlastsTimeouts: an upload slower than the server's read
// and write timeouts for forms is still read, and answered.
func TestUploadOutlastsTimeouts(t *testing.T) {
	e := start(t, opts{group: joinGroup(groups.EnrolOpen, 1, 3)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// The pages' server with short timeouts; its cookies are the same
	// host's.
	strict := &http.Server{Handler: e.srv.Handler(), ReadTimeout: 200 * time.Millisecond, WriteTimeout: 200 * time.Millisecond}
	go strict.Serve(ln)
	t.Cleanup(func() { strict.Close() })

	answers := make(chan answer, 1)
	b := newBrowser(t, false)
	h := hold(b, "http://"+ln.Addr().String()+"/join", 0, e.joinFields(b, "slow"), "following.csv", mastodonCSV("ada@old.example"), 0, answers)
	time.Sleep(600 * time.Millisecond) // the slow line: what is tested is time passing
	h.finish()
	if a := next(t, answers); a.status != http.StatusSeeOther || !e.joined("slow@example.net") {
		t.Fatalf("a slow upload: %d:\n%s", a.status, a.body)
	}
}

// TestUploadsSpoolInTheirDirectory: uploads are spooled in the directory
// given (serve gives one beside the state, on its disk), never elsewhere:
// with the directory gone, an upload fails and saves nothing.
func TestUploadsSpoolInTheirDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "uploads")
	uploads, err := NewUploads(dir, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Fatalf("the uploads directory: %v, %v", fi, err)
	}
	e := start(t, opts{group: joinGroup(groups.EnrolOpen, 1, 3), tune: func(c *Config) { c.Uploads = uploads }})
	csv := mastodonCSV("ada@old.example")
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if resp, page := e.joinUpload(e.joinFields(newBrowser(t, false), "lost")[1:], "following.csv", csv); resp.StatusCode != http.StatusInternalServerError || e.joined("lost@example.net") {
		t.Fatalf("an upload with nowhere to go: %d, joined %v:\n%s", resp.StatusCode, e.joined("lost@example.net"), page)
	}
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if resp, page := e.joinUpload(e.joinFields(newBrowser(t, false), "found")[1:], "following.csv", csv); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("an upload with its directory back: %d:\n%s", resp.StatusCode, page)
	}
}
