package web

import (
	"context"
	"crypto/ed25519"
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/admission"
	"github.com/lifeboat-social/lifeboat/groups"
)

// For an existing server the invite page sends the member to the server's
// sign-up with a reason carrying their admission proof — one the admin's
// watcher accepts for this member's email and for no other.
func TestExistingInviteCarriesAdmissionProof(t *testing.T) {
	g := testGroup(4, 2)
	g.Destination = groups.Destination{Type: groups.DestExisting, Server: "https://social.example"}
	e := start(t, opts{group: g})
	ctx := context.Background()

	sg, err := e.st.Groups().Get(ctx, g.Name)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	var emails []string
	for _, m := range g.Members {
		emails = append(emails, m.Email)
	}
	req, err := admission.New(admission.Draft{Server: g.Destination.Server, Group: admission.Group{Name: g.Name, Title: g.Title},
		Emails: emails, Window: admission.Window{From: now.Add(-time.Hour), Until: now.Add(48 * time.Hour)}},
		ed25519.PrivateKey(sg.SigningKey), now)
	if err != nil {
		t.Fatal(err)
	}
	if err := admission.SaveRequest(ctx, e.st.Journal(), req); err != nil {
		t.Fatal(err)
	}

	for _, m := range g.Members[:2] {
		e.pledge(m.Email, 0, false, true)
	}
	// viable now: the server launches by itself and mails the invites
	e.mailLink("ada@example.org", "Your invite") // waits for the mail
	inv := regexp.MustCompile(`http://[^\s"<>]+/invite/[A-Za-z0-9_-]+`).FindString(e.mb.To("ada@example.org")[len(e.mb.To("ada@example.org"))-1].Text)
	code, page := newBrowser(t, false).get(inv)
	if code != 200 || !strings.Contains(page, "https://social.example/auth/sign_up") {
		t.Fatalf("invite page %d:\n%s", code, page)
	}
	found := regexp.MustCompile(`lifeboat-proof:[A-Za-z0-9_-]+`).FindString(html.UnescapeString(page))
	if found == "" {
		t.Fatalf("no proof on the page:\n%s", page)
	}
	p, err := admission.ParseProof(found)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Check(req, "ada@example.org", now); err != nil {
		t.Errorf("the proof does not admit its member: %v", err)
	}
	if err := p.Check(req, "ben@example.org", now); err == nil {
		t.Error("the proof admits another member")
	}
}
