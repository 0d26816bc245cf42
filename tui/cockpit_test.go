package tui

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/mailbox"
	"github.com/lifeboat-social/lifeboat/internal/mailer"
	"github.com/lifeboat-social/lifeboat/lead"
	"github.com/lifeboat-social/lifeboat/provision/existing"
	"github.com/lifeboat-social/lifeboat/provision/existing/admission"
	"github.com/lifeboat-social/lifeboat/provision/existing/existingtest"
	"github.com/lifeboat-social/lifeboat/web"
)

// groupServer is the group's web server as the command makes it for
// the TUI's hooks: the fixture's store, mail through sender.
func (f *fixture) groupServer(t *testing.T, ctx context.Context, file, baseURL string, sender mailer.Sender) *web.Server {
	t.Helper()
	g, probs := groups.Load(file)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	srv, err := web.New(ctx, web.Config{Group: g, File: file, Store: f.st, BaseURL: baseURL, Mail: sender})
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

// x on the pledges screen asks where the group's pages are and where the
// files go (the group's state directory unless the lead says otherwise), and
// the export writes a CSV with one working link per member and a
// printable sheet holding the same links.
func TestExportPledgeLinks(t *testing.T) {
	f := newFixture(t)
	// the command writes them as lifeboat pledges export does (its own
	// test compares the two); here, the links as the group's server makes them
	f.d.ExportPledges = func(ctx context.Context, file, baseURL, csvPath, sheetPath string) (int, error) {
		srv := f.groupServer(t, ctx, file, baseURL, nil)
		links, err := srv.PledgeLinks()
		if err != nil {
			return 0, err
		}
		var c, s bytes.Buffer
		if err := web.WriteLinksCSV(&c, links); err != nil {
			return 0, err
		}
		if err := web.WriteSheet(&s, web.PledgeSheet, srv.GroupTitle(), links); err != nil {
			return 0, err
		}
		os.MkdirAll(filepath.Dir(csvPath), 0o700)
		if err := os.WriteFile(csvPath, c.Bytes(), 0o600); err != nil {
			return 0, err
		}
		return len(links), os.WriteFile(sheetPath, s.Bytes(), 0o600)
	}
	play(t, sizes[1], New(context.Background(), f.d, f.file), waitFor("Jamal"), press("2"), waitFor("would go now"),
		press("x"), waitFor("Export the pledge links"), press("https://lifeboat.example.org<enter><enter><enter>"),
		waitFor("wrote 12 pledge links"))
	// by default in the group's state directory
	csvPath := filepath.Join(f.d.StateDir, "groups", "river-birders", "pledge-links.csv")
	sheetPath := filepath.Join(f.d.StateDir, "groups", "river-birders", "pledge-links.html")
	data, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(string(data))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	g, _ := groups.Load(f.file)
	if len(rows) != len(g.Members)+1 {
		t.Fatalf("%d rows, want a header and one per member (%d):\n%s", len(rows), len(g.Members), data)
	}
	sheet, err := os.ReadFile(sheetPath)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i, m := range g.Members {
		r := rows[i+1]
		if r[1] != m.Email || !strings.HasPrefix(r[2], "https://lifeboat.example.org/pledge/") || seen[r[2]] {
			t.Errorf("row %d: %q, want %s's own pledge link", i+1, r, m.Email)
		}
		seen[r[2]] = true
		if !strings.Contains(string(sheet), r[2]) {
			t.Errorf("the sheet lacks %s's link", m.Email)
		}
	}
}

// relay is a real SMTP peer on loopback and a sender mailing through
// it, as the group's.
func relay(t *testing.T) (*mailbox.Server, mailer.Sender) {
	t.Helper()
	mb, err := mailbox.Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mb.Close() })
	sender, err := mailer.New(mailer.Config{Addr: mb.Addr, Security: mailer.None, From: "River Birders <lifeboat@example.org>"})
	if err != nil {
		t.Fatal(err)
	}
	return mb, sender
}

// o mails every member their pledge link through a real SMTP peer; a
// second o sends nothing again (the mails are journaled once each).
func TestOpenPledgesMailsEveryMember(t *testing.T) {
	f := newFixture(t)
	mb, sender := relay(t)
	f.d.OpenPledges = func(ctx context.Context, file, baseURL string) (int, error) {
		return f.groupServer(t, ctx, file, baseURL, sender).OpenPledges(ctx)
	}
	play(t, sizes[1], New(context.Background(), f.d, f.file), waitFor("Jamal"), press("2"), waitFor("would go now"),
		press("o"), waitFor("Public URL"), press("https://lifeboat.example.org<enter>"), waitFor("sent 12 pledge links"),
		press("o"), waitFor("Public URL"), press("<enter>"), waitFor("sent 0 pledge links"))
	g, _ := groups.Load(f.file)
	for _, m := range g.Members {
		got := mb.To(m.Email)
		if len(got) != 1 || !strings.Contains(got[0].Text, "https://lifeboat.example.org/pledge/") {
			t.Errorf("%s got %d mails, want one with their pledge link", m.Email, len(got))
		}
	}
}

// R on the destination screen writes the admission request as lifeboat
// request does: the file in the group's state directory verifies with the
// admission package, names the server scouted, every member and the
// window asked for, and is the request the lead's side waits on; with
// the direct message asked for, the server's contact gets it from the
// lead's account.
func TestWriteAdmissionRequest(t *testing.T) {
	f := newFixture(t)
	srv := mastodon(t, existingtest.Approval, "APPRV")
	f.toExistingAt(t, srv)
	var (
		mu     sync.Mutex
		posted []url.Values
	)
	lead0 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/v1/statuses" || r.Header.Get("Authorization") != "Bearer lead-token" {
			http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
			return
		}
		r.ParseForm()
		mu.Lock()
		posted = append(posted, r.PostForm)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":"1","created_at":"2027-01-01T12:00:00.000Z","visibility":"direct","content":"","account":{"id":"7","acct":"ada"}}`))
	}))
	defer lead0.Close()
	f.d.AnnounceRequest = func(ctx context.Context, r *existing.Report, req *admission.Request) error {
		return lead.Announce(ctx, r, req, lead0.URL, "lead-token")
	}
	m := play(t, sizes[1], New(context.Background(), f.d, f.file), waitFor("Jamal"), press("3"), waitFor("s scouts servers"),
		press("R"), waitFor("Admission request for River Birders"),
		press("<enter><ctrl+u>10<enter>Twelve birders from the river.<enter>"), waitFor("announce"), press("y"), waitFor("by direct message to @admin@approval.example"))

	path := filepath.Join(f.d.StateDir, "groups", "river-birders", "admission-"+strings.ReplaceAll(strings.TrimPrefix(srv, "http://"), ":", "_")+".json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	req, err := admission.Decode(data)
	if err != nil {
		t.Fatalf("the request written does not verify: %v", err)
	}
	if req.Server != srv || req.Size != 12 || req.Group.Name != "river-birders" || req.Message != "Twelve birders from the river." ||
		!req.Window.From.Equal(fixedNow) || !req.Window.Until.Equal(fixedNow.Add(10*24*time.Hour)) || len(req.Rules) != 4 {
		t.Errorf("request %+v", req)
	}
	latest, err := admission.LatestRequest(context.Background(), f.st.Journal(), "river-birders", srv)
	if err != nil || latest.ID() != req.ID() {
		t.Errorf("the journal's latest request: %v, %v; want %s", latest, err, req.ID())
	}
	if v := m.View(); !strings.Contains(v, req.Fingerprint()) {
		t.Errorf("the fingerprint %s is not shown:\n%s", req.Fingerprint(), v)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(posted) != 1 || posted[0].Get("visibility") != "direct" || !strings.HasPrefix(posted[0].Get("status"), "@admin@approval.example ") ||
		!strings.Contains(posted[0].Get("status"), req.Fingerprint()) {
		t.Errorf("direct messages %v", posted)
	}
}
