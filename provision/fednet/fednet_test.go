package fednet_test

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lifeboat-social/lifeboat/provision/fednet"
)

// TestNetServesNamesOverTrustedTLS: a server with a certificate from the
// net, listening on its name's address, is reached by name through the
// net's client, which verifies the certificate against the CA.
func TestNetServesNamesOverTrustedTLS(t *testing.T) {
	n, err := fednet.Open(t.TempDir(), "room.lifeboat.test", "home.lifeboat.test")
	if err != nil {
		t.Fatal(err)
	}
	room, home := n.Addr("room.lifeboat.test"), n.Addr("home.lifeboat.test")
	if !room.IsLoopback() || !home.IsLoopback() || room == home {
		t.Fatalf("addresses %s, %s; want two distinct loopback addresses", room, home)
	}
	chain, key, err := n.Certificate("room.lifeboat.test")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(chain, key)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", net.JoinHostPort(room.String(), "443"), &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "room") })}
	go srv.Serve(ln)
	defer srv.Close()

	resp, err := n.HTTPClient().Get(n.URL("room.lifeboat.test") + "/")
	if err != nil {
		t.Fatalf("the net's client cannot reach room by name: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "room" {
		t.Errorf("room answered %q", b)
	}
	// Another machine's client, without the CA, refuses the certificate.
	plain := &http.Client{Transport: &http.Transport{DialContext: n.HTTPClient().Transport.(*http.Transport).DialContext}}
	if _, err := plain.Get(n.URL("room.lifeboat.test") + "/"); err == nil {
		t.Error("a client without the local CA accepted room's certificate")
	}
}

// TestNetReopens: a second Open of the same directory keeps the CA, the
// certificates and every name's address (a demo's servers outlive the run
// that started them), and adds new names.
func TestNetReopens(t *testing.T) {
	dir := t.TempDir()
	n, err := fednet.Open(dir, "room.lifeboat.test")
	if err != nil {
		t.Fatal(err)
	}
	chain, _, err := n.Certificate("room.lifeboat.test")
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := os.ReadFile(n.CAFile())
	leaf, _ := os.ReadFile(chain)

	again, err := fednet.Open(dir, "room.lifeboat.test", "home.lifeboat.test")
	if err != nil {
		t.Fatal(err)
	}
	if again.Addr("room.lifeboat.test") != n.Addr("room.lifeboat.test") {
		t.Errorf("room moved from %s to %s", n.Addr("room.lifeboat.test"), again.Addr("room.lifeboat.test"))
	}
	if !again.Addr("home.lifeboat.test").IsValid() {
		t.Error("the new name has no address")
	}
	chain2, _, err := again.Certificate("room.lifeboat.test")
	if err != nil {
		t.Fatal(err)
	}
	if ca2, _ := os.ReadFile(again.CAFile()); !bytes.Equal(ca, ca2) {
		t.Error("the CA was made again")
	}
	if leaf2, _ := os.ReadFile(chain2); !bytes.Equal(leaf, leaf2) {
		t.Error("room's certificate was issued again")
	}
	for _, f := range []string{"ca-key.pem", "room.lifeboat.test-key.pem"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v; want 0600", f, fi.Mode().Perm())
		}
	}
	if _, _, err := again.Certificate("elsewhere.example"); err == nil {
		t.Error("a certificate was issued for a name not on the net")
	}
}

// TestConfineGivesItsOwnHosts: a confined command resolves the net's
// names from its own /etc/hosts and trusts the CA; the machine's
// /etc/hosts is untouched.
func TestConfineGivesItsOwnHosts(t *testing.T) {
	n, err := fednet.Open(t.TempDir(), "room.lifeboat.test")
	if err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile("/etc/hosts")
	cmd := exec.Command("/bin/sh", "-c", `cat /etc/hosts; echo "ca=$SSL_CERT_FILE"`)
	if err := n.Confine(cmd); err != nil {
		t.Fatal(err)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := n.Addr("room.lifeboat.test").String() + "\troom.lifeboat.test"
	if !strings.Contains(string(out), want) || !strings.Contains(string(out), "ca="+n.CAFile()) {
		t.Errorf("the confined command saw:\n%s\nwant a line %q and SSL_CERT_FILE", out, want)
	}
	if after, _ := os.ReadFile("/etc/hosts"); !bytes.Equal(before, after) {
		t.Error("the machine's /etc/hosts changed")
	}
}
