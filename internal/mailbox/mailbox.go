// Package mailbox is a small SMTP server on loopback that keeps the mail
// it receives. The local destination points GoToSocial's SMTP at it so that
// confirmation mail reaches Lifeboat on one machine, and the tests use it
// as the real SMTP peer that captures invites and pledge confirmations.
package mailbox

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// Message is one received mail.
type Message struct {
	From    string
	To      []string
	Subject string
	Header  mail.Header
	Text    string // the decoded text/plain part (or the body when not multipart)
	HTML    string // the decoded text/html part, if any
	Raw     []byte
}

// Server is a running mailbox.
type Server struct {
	Addr string // host:port it listens on

	srv *smtp.Server
	ln  net.Listener

	mu      sync.Mutex
	msgs    []Message
	changed chan struct{} // closed and replaced on every new message
	hook    func(Message)
}

// Start listens on addr ("127.0.0.1:0" for a free port). hook, if not
// nil, is called with every message after it is stored, on the SMTP
// session's goroutine.
func Start(addr string, hook func(Message)) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("mailbox listen %s: %w", addr, err)
	}
	s := &Server{Addr: ln.Addr().String(), ln: ln, changed: make(chan struct{}), hook: hook}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }))
	s.srv.Domain = "localhost"
	s.srv.AllowInsecureAuth = true
	s.srv.MaxMessageBytes = 10 << 20
	s.srv.ReadTimeout = 30 * time.Second
	s.srv.WriteTimeout = 30 * time.Second
	go s.srv.Serve(ln)
	return s, nil
}

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// Host and Port split Addr for configs that want them apart.
func (s *Server) Host() string { h, _, _ := net.SplitHostPort(s.Addr); return h }

func (s *Server) Port() int {
	_, p, _ := net.SplitHostPort(s.Addr)
	var n int
	fmt.Sscan(p, &n)
	return n
}

// Messages returns a copy of everything received so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// To returns the messages addressed to rcpt (case-insensitive).
func (s *Server) To(rcpt string) []Message {
	var out []Message
	for _, m := range s.Messages() {
		for _, t := range m.To {
			if strings.EqualFold(t, rcpt) {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

// Wait blocks until match accepts a received message, and returns it.
func (s *Server) Wait(ctx context.Context, match func(Message) bool) (Message, error) {
	for {
		s.mu.Lock()
		for _, m := range s.msgs {
			if match(m) {
				s.mu.Unlock()
				return m, nil
			}
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Message{}, fmt.Errorf("wait for mail: %w", ctx.Err())
		}
	}
}

func (s *Server) add(m Message) {
	if s.hook != nil {
		s.hook(m)
	}
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

type session struct {
	s    *Server
	from string
	to   []string
}

func (x *session) AuthMechanisms() []string                    { return nil }
func (x *session) Auth(string) (any, error)                    { return nil, smtp.ErrAuthUnsupported }
func (x *session) Reset()                                      { x.from, x.to = "", nil }
func (x *session) Logout() error                               { return nil }
func (x *session) Mail(from string, _ *smtp.MailOptions) error { x.from = from; return nil }
func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.to = append(x.to, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := Parse(raw)
	if err != nil {
		return &smtp.SMTPError{Code: 554, Message: "cannot parse message: " + err.Error()}
	}
	m.From, m.To = x.from, append([]string(nil), x.to...)
	x.s.add(m)
	return nil
}

// Parse decodes a raw message into its subject and text and HTML parts.
func Parse(raw []byte) (Message, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Message{}, err
	}
	m := Message{Header: msg.Header, Raw: raw}
	dec := new(mime.WordDecoder)
	if subj, err := dec.DecodeHeader(msg.Header.Get("Subject")); err == nil {
		m.Subject = subj
	}
	err = walk(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, &m)
	return m, err
}

func walk(ctype, encoding string, body io.Reader, m *Message) error {
	if ctype == "" {
		ctype = "text/plain"
	}
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		return err
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			if err := walk(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, m); err != nil {
				return err
			}
		}
	}
	var r io.Reader = body
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, body)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	switch mt {
	case "text/plain":
		if m.Text == "" {
			m.Text = string(b)
		}
	case "text/html":
		if m.HTML == "" {
			m.HTML = string(b)
		}
	}
	return nil
}
