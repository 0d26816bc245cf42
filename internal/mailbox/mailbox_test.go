package mailbox

import (
	"context"
	"net/smtp"
	"strings"
	"testing"
	"time"
)

func TestReceivesAndDecodes(t *testing.T) {
	var hooked []string
	s, err := Start("127.0.0.1:0", func(m Message) { hooked = append(hooked, m.Subject) })
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	msg := "From: lead@example.org\r\nTo: alice@example.org\r\nSubject: =?utf-8?q?Your_invite_=E2=9C=93?=\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=XX\r\n\r\n" +
		"--XX\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
		"Open http://127.0.0.1/invite/abc=3Ddef soon=\r\n now\r\n" +
		"--XX\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		"PHA+SGk8L3A+\r\n--XX--\r\n"
	if err := smtp.SendMail(s.Addr, nil, "lead@example.org", []string{"alice@example.org"}, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := s.Wait(ctx, func(m Message) bool { return len(m.To) == 1 && m.To[0] == "alice@example.org" })
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Your invite ✓" {
		t.Errorf("subject = %q", m.Subject)
	}
	if !strings.Contains(m.Text, "invite/abc=def soon now") {
		t.Errorf("text = %q", m.Text)
	}
	if m.HTML != "<p>Hi</p>" {
		t.Errorf("html = %q", m.HTML)
	}
	if len(s.To("ALICE@example.org")) != 1 || len(s.To("bob@example.org")) != 0 {
		t.Errorf("To() filters wrong: %d messages", len(s.Messages()))
	}
	if len(hooked) != 1 {
		t.Errorf("hook called %d times", len(hooked))
	}
}

func TestWaitHonoursContext(t *testing.T) {
	s, err := Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.Wait(ctx, func(Message) bool { return true }); err == nil {
		t.Fatal("Wait returned without mail")
	}
}
