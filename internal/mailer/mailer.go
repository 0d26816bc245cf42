// Package mailer sends Lifeboat's mail (pledge links, confirmations,
// invites) over SMTP with STARTTLS or implicit TLS and authentication, and
// journals every send in the store so that a crash neither sends a mail
// twice nor skips one.
package mailer

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/capped"
)

// Security is how the connection to the SMTP server is protected.
type Security string

const (
	StartTLS Security = "starttls" // plain connect, then STARTTLS (required); port 587
	TLS      Security = "tls"      // implicit TLS from the first byte; port 465
	None     Security = "none"     // no TLS: only for a relay on loopback
)

// Config is how to reach the SMTP server. Password is a secret: it comes
// from the environment or a 0600 file, never from a flag, and is never
// printed.
type Config struct {
	Addr      string   // host:port
	Security  Security // default StartTLS
	Username  string   // empty: no AUTH
	Password  string
	From      string // envelope and header sender, e.g. "River Birders <lifeboat@example.org>"
	HelloName string // EHLO name; default "localhost"
	Timeout   time.Duration
	// TLSConfig overrides the TLS settings (tests use it for their own CA).
	TLSConfig *tls.Config
}

// ReadSecretFile reads a secret from a file that only its owner may read,
// without the trailing newline.
func ReadSecretFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("read secret file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("read secret file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("read secret file %s: mode %v lets others read it; chmod 600 it", path, fi.Mode().Perm())
	}
	// A secret is a line; a longer file is refused, never cut short.
	b, err := capped.Read(f, path, 4096)
	if err != nil {
		return "", fmt.Errorf("read secret file: %w", err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// Validate checks the config and fills defaults.
func (c *Config) Validate() error {
	if c.Security == "" {
		c.Security = StartTLS
	}
	switch c.Security {
	case StartTLS, TLS, None:
	default:
		return fmt.Errorf("smtp security %q: want starttls, tls or none", c.Security)
	}
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil || host == "" {
		return fmt.Errorf("smtp address %q: want host:port", c.Addr)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("smtp address %q: bad port", c.Addr)
	}
	if c.Security == None && c.Username != "" && !isLoopback(host) {
		return fmt.Errorf("smtp: refusing to send a password without TLS to %s", host)
	}
	if c.From == "" {
		return errors.New("smtp: no sender address (--smtp-from or LIFEBOAT_SMTP_FROM)")
	}
	if _, err := mail.ParseAddress(c.From); err != nil {
		return fmt.Errorf("smtp sender %q: %w", c.From, err)
	}
	if c.HelloName == "" {
		c.HelloName = "localhost"
	}
	if c.Timeout == 0 {
		c.Timeout = 30 * time.Second
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Message is one mail. Every message has a plain-text part; HTML is
// optional.
type Message struct {
	To      string // one address
	Subject string
	Text    string
	HTML    string
	// ID is the Message-ID without angle brackets; empty makes one. A
	// journaled send derives it from its key, so a resend after a crash
	// carries the same id and receivers can tell it is the same mail.
	ID string
}

// Sender sends one message.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// SMTP sends through an SMTP server, one connection per message.
type SMTP struct {
	cfg Config
	now func() time.Time
}

// New checks cfg and returns a sender.
func New(cfg Config) (*SMTP, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &SMTP{cfg: cfg, now: time.Now}, nil
}

// Send delivers m to the server.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	from, err := mail.ParseAddress(s.cfg.From)
	if err != nil {
		return fmt.Errorf("send mail: sender: %w", err)
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return fmt.Errorf("send mail: recipient: %w", err)
	}
	raw, err := Build(s.cfg.From, m, s.now())
	if err != nil {
		return fmt.Errorf("send mail: %w", err)
	}
	if err := s.deliver(ctx, from.Address, to.Address, raw); err != nil {
		return fmt.Errorf("send mail to %s: %w", to.Address, err)
	}
	return nil
}

func (s *SMTP) deliver(ctx context.Context, from, to string, raw []byte) error {
	host, _, _ := net.SplitHostPort(s.cfg.Addr)
	tlsCfg := s.cfg.TLSConfig
	if tlsCfg == nil {
		tlsCfg = &tls.Config{}
	}
	tlsCfg = tlsCfg.Clone()
	if tlsCfg.ServerName == "" {
		tlsCfg.ServerName = host
	}
	tlsCfg.MinVersion = max(tlsCfg.MinVersion, tls.VersionTLS12)

	d := net.Dialer{Timeout: s.cfg.Timeout}
	var conn net.Conn
	var err error
	if s.cfg.Security == TLS {
		conn, err = (&tls.Dialer{NetDialer: &d, Config: tlsCfg}).DialContext(ctx, "tcp", s.cfg.Addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", s.cfg.Addr)
	}
	if err != nil {
		return err
	}
	deadline := time.Now().Add(s.cfg.Timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if err := c.Hello(s.cfg.HelloName); err != nil {
		return err
	}
	if s.cfg.Security == StartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return errors.New("server does not offer STARTTLS (use --smtp-security tls or none)")
		}
		if err := c.StartTLS(tlsCfg); err != nil {
			return fmt.Errorf("starttls: %w", err)
		}
	}
	if s.cfg.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return errors.New("server does not offer AUTH")
		}
		// PlainAuth itself refuses to send the password without TLS
		// except to localhost.
		if err := c.Auth(smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, host)); err != nil {
			return fmt.Errorf("auth: %w", err)
		}
	}
	if err := c.Mail(from); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(raw); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// Build renders m as a MIME message: multipart/alternative with a
// quoted-printable text part and, when m.HTML is set, an HTML part.
func Build(from string, m Message, now time.Time) ([]byte, error) {
	for _, v := range []string{from, m.To, m.Subject, m.ID} {
		if strings.ContainsAny(v, "\r\n") {
			return nil, errors.New("build mail: line break in a header")
		}
	}
	if m.Text == "" {
		return nil, errors.New("build mail: no text part")
	}
	id := m.ID
	if id == "" {
		var b [16]byte
		rand.Read(b[:])
		id = hex.EncodeToString(b[:]) + "@lifeboat"
	}
	var buf bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&buf, "%s: %s\r\n", k, v) }
	h("From", from)
	h("To", m.To)
	h("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	h("Date", now.Format(time.RFC1123Z))
	h("Message-ID", "<"+id+">")
	h("MIME-Version", "1.0")
	h("Auto-Submitted", "auto-generated")

	if m.HTML == "" {
		h("Content-Type", "text/plain; charset=utf-8")
		h("Content-Transfer-Encoding", "quoted-printable")
		buf.WriteString("\r\n")
		if err := writeQP(&buf, m.Text); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	mw := multipart.NewWriter(nil)
	h("Content-Type", `multipart/alternative; boundary="`+mw.Boundary()+`"`)
	buf.WriteString("\r\n")
	mw = multipart.NewWriter(&buf)
	if err := mw.SetBoundary(boundaryOf(buf.Bytes())); err != nil {
		return nil, err
	}
	for _, part := range []struct{ ctype, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.ctype + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		if err := writeQP(w, part.body); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// boundaryOf finds the boundary written into the Content-Type header.
func boundaryOf(header []byte) string {
	s := string(header)
	i := strings.Index(s, `boundary="`)
	s = s[i+len(`boundary="`):]
	return s[:strings.IndexByte(s, '"')]
}

func writeQP(w io.Writer, s string) error {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
	qp := quotedprintable.NewWriter(w)
	if _, err := io.WriteString(qp, s); err != nil {
		return err
	}
	return qp.Close()
}

// MessageID derives a stable Message-ID from a journal run and key.
func MessageID(run, key string) string {
	h := sha256.Sum256([]byte(run + "\x00" + key))
	return hex.EncodeToString(h[:16]) + "@lifeboat"
}
