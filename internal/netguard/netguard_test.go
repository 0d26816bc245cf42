package netguard

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

func TestPublic(t *testing.T) {
	for _, c := range []struct {
		addr   string
		public bool
	}{
		{"93.184.215.14", true},
		{"2a01:4f8:c17:b8f::2", true},
		{"127.0.0.1", false},
		{"127.8.9.10", false},
		{"::1", false},
		{"10.1.2.3", false},
		{"172.16.0.1", false},
		{"192.168.1.1", false},
		{"169.254.169.254", false}, // cloud metadata
		{"fe80::1", false},
		{"fc00::1", false},
		{"0.0.0.0", false},
		{"::", false},
		{"100.64.0.1", false},
		{"224.0.0.1", false},
		{"::ffff:127.0.0.1", false}, // v4-mapped loopback
		{"::ffff:10.0.0.1", false},
		{"64:ff9b::a00:1", false}, // NAT64 of 10.0.0.1
		{"198.51.100.7", false},
		{"255.255.255.255", false},
	} {
		if got := Public(netip.MustParseAddr(c.addr)); got != c.public {
			t.Errorf("Public(%s) = %v, want %v", c.addr, got, c.public)
		}
	}
}

func get(c *http.Client, u string) (string, error) {
	resp, err := c.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// TestRefusesLoopback: a server on loopback, reached by address, by a
// name that resolves to it, or by a redirect, is refused by the default
// dialer before it connects; AllowPrivate reaches it.
func TestRefusesLoopback(t *testing.T) {
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		if r.URL.Path == "/away" {
			http.Redirect(w, r, "http://"+r.Host+"/", http.StatusFound)
			return
		}
		io.WriteString(w, "inside")
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	guarded := Client(Options{})
	for _, u := range []string{srv.URL, "http://localhost:" + port + "/", "http://[::ffff:127.0.0.1]:" + port + "/"} {
		if _, err := get(guarded, u); !errors.Is(err, ErrForbidden) {
			t.Errorf("GET %s: %v, want ErrForbidden", u, err)
		}
	}
	if hits != 0 {
		t.Fatalf("the guarded client reached the server %d times", hits)
	}
	if body, err := get(Client(Options{AllowPrivate: true}), srv.URL); err != nil || body != "inside" {
		t.Fatalf("with AllowPrivate: %q, %v", body, err)
	}
}

// TestOwnDialerChecked: a transport with its own dialer (one that
// resolves names its own way) is checked on the address it reached.
func TestOwnDialerChecked(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "inside") }))
	defer srv.Close()
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
	}}
	if _, err := get(Client(Options{Transport: tr}), "http://social.example/"); !errors.Is(err, ErrForbidden) {
		t.Fatalf("a name its dialer took to loopback: %v, want ErrForbidden", err)
	}
	if body, err := get(Client(Options{Transport: tr, AllowPrivate: true}), "http://social.example/"); err != nil || body != "inside" {
		t.Fatalf("with AllowPrivate: %q, %v", body, err)
	}
}

// TestBodyCap: an answer over the cap fails to read, declared or not;
// one of exactly the cap reads whole.
func TestBodyCap(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := 100
		if r.URL.Path == "/big" {
			n = 101
		}
		if r.URL.Query().Get("chunked") == "" {
			w.Header().Set("Content-Length", strconv.Itoa(n))
		}
		w.Write([]byte(strings.Repeat("x", n)))
		w.(http.Flusher).Flush()
	}))
	defer srv.Close()
	c := Client(Options{AllowPrivate: true, MaxBody: 100})
	for _, q := range []string{"", "?chunked=1"} {
		if body, err := get(c, srv.URL+"/exact"+q); err != nil || len(body) != 100 {
			t.Errorf("exact%s: %d bytes, %v", q, len(body), err)
		}
		if _, err := get(c, srv.URL+"/big"+q); !errors.Is(err, ErrTooLarge) {
			t.Errorf("big%s: %v, want ErrTooLarge", q, err)
		}
	}
}

// TestNoDowngrade: an https answer that redirects to plain http is not
// followed.
func TestNoDowngrade(t *testing.T) {
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "plain") }))
	defer plain.Close()
	tls := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL, http.StatusFound)
	}))
	defer tls.Close()
	c := Client(Options{AllowPrivate: true, Transport: tls.Client().Transport.(*http.Transport)})
	if _, err := get(c, tls.URL); !errors.Is(err, ErrForbidden) {
		t.Fatalf("https to http: %v, want ErrForbidden", err)
	}
	if body, err := get(c, plain.URL); err != nil || body != "plain" {
		t.Fatalf("plain http asked for: %q, %v", body, err)
	}
}
