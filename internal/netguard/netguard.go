// Package netguard is the HTTP client for URLs derived from what a
// stranger typed (a fediverse address on a public page): it refuses to
// connect to loopback, private, link-local and other non-public
// addresses, bounds every wait, and caps every answer's size, so the
// page cannot be turned into a probe of the network Lifeboat runs in or
// made to hang or fill memory.
//
// The check is on the address the dialer connects to, after name
// resolution, not on the URL's text: a public name that resolves to
// 127.0.0.1, or a redirect to 10.0.0.1, is refused the same way.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// ErrForbidden is a connection refused because its address is not a
// public one.
var ErrForbidden = errors.New("netguard: address is not public")

// ErrTooLarge is an answer longer than the client's cap.
var ErrTooLarge = errors.New("netguard: answer too large")

// Options tune Client. The zero value refuses non-public addresses,
// caps answers at DefaultMaxBody and waits at most DefaultTimeout.
type Options struct {
	// AllowPrivate lets the client reach loopback and private addresses:
	// tests and the local demo, whose servers run on this machine.
	AllowPrivate bool
	// Transport is the base transport (TLS roots, name resolution); nil
	// means a fresh one. Proxies from the environment are never used: a
	// proxy would connect on the client's behalf, past the check.
	Transport *http.Transport
	// MaxBody caps each answer's body in bytes; 0 means DefaultMaxBody.
	MaxBody int64
	// Timeout bounds one request, redirects and body included; 0 means
	// DefaultTimeout.
	Timeout time.Duration
}

// Defaults of Options.
const (
	DefaultMaxBody = 1 << 20
	DefaultTimeout = 15 * time.Second
)

// Client returns an HTTP client with o's guard. It follows at most three
// redirects, each checked like the first request, and none from https
// to plain http.
func Client(o Options) *http.Client {
	var tr *http.Transport
	if o.Transport != nil {
		tr = o.Transport.Clone()
	} else {
		tr = http.DefaultTransport.(*http.Transport).Clone()
		tr.DialContext = nil
	}
	tr.Proxy = nil
	tr.TLSHandshakeTimeout = 5 * time.Second
	tr.ResponseHeaderTimeout = 10 * time.Second
	tr.MaxResponseHeaderBytes = 64 << 10
	if !o.AllowPrivate {
		tr.DialContext = guardDial(tr.DialContext)
	}
	max := o.MaxBody
	if max <= 0 {
		max = DefaultMaxBody
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &http.Client{
		Transport: capped{base: tr, max: max},
		Timeout:   timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			switch {
			case len(via) >= 3:
				return errors.New("netguard: too many redirects")
			case via[0].URL.Scheme == "https" && req.URL.Scheme != "https":
				// what was asked over TLS is not answered without it
				return fmt.Errorf("%w: a redirect from https to %s", ErrForbidden, req.URL.Scheme)
			}
			return nil
		},
	}
}

// guardDial checks the address each connection goes to. A transport's
// own dialer (one that resolves test names, say) is checked on the
// address it connected to; the default dialer checks before connecting.
func guardDial(base func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if base == nil {
		d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second,
			Control: func(network, address string, _ syscall.RawConn) error { return check(address) }}
		return d.DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := base(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if err := check(c.RemoteAddr().String()); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	}
}

// check refuses an ip:port that is not a public unicast address.
func check(address string) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrForbidden, address)
	}
	if !Public(ap.Addr()) {
		return fmt.Errorf("%w: %s", ErrForbidden, ap.Addr())
	}
	return nil
}

// nonPublic are ranges the net/netip predicates leave out: carrier-grade
// NAT, IETF protocol assignments, benchmarking, the documentation
// networks, 6to4 relays, NAT64 and the reserved 240/4.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("192.88.99.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("100::/64"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("2002::/16"),
}

// Public reports whether a is a public unicast address.
func Public(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() || !a.IsGlobalUnicast() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// capped cuts every answer's body at max bytes: reading past it fails
// with ErrTooLarge instead of returning a silently shortened answer.
type capped struct {
	base http.RoundTripper
	max  int64
}

func (c capped) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.ContentLength > c.max {
		resp.Body.Close()
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, resp.ContentLength, c.max)
	}
	resp.Body = &cappedBody{rc: resp.Body, left: c.max}
	return resp, nil
}

type cappedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a body of exactly the cap from a longer one.
		var one [1]byte
		if n, _ := b.rc.Read(one[:]); n > 0 {
			return 0, ErrTooLarge
		}
		return b.rc.Read(p)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *cappedBody) Close() error { return b.rc.Close() }
