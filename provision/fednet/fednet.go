// Package fednet is a private federation on one machine: host names on
// loopback addresses, a local certificate authority that issues their
// certificates, the /etc/hosts that servers on the net resolve the names
// with, and an HTTP client for Lifeboat that does the same and trusts the
// CA. GoToSocial looks accounts up over HTTPS only and by host name, so
// two local servers federate only this way.
//
// Each server runs on port 443 of its own loopback address, in its own
// mount namespace whose /etc/hosts maps the net's names: the machine's
// /etc/hosts is never changed. Running a command that way needs root (or
// an unprivileged user namespace) and util-linux's unshare.
package fednet

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/atomicfile"
)

// Room and Home are the names of a group's two local servers: the room
// (the group's destination) and home, where some members kept accounts
// of their own. Every net has its own /etc/hosts and client, so nets on
// one machine use the same names without clashing.
const (
	Room = "room.lifeboat.test"
	Home = "home.lifeboat.test"
)

// Port is where every server on a net listens, on its own address:
// GoToSocial names accounts by host name without a port.
const Port = 443

// Net is one private federation. Its files live in one directory and are
// reused by later runs: the same names keep their addresses and the CA its
// key, so servers left running keep working.
type Net struct {
	dir   string
	hosts map[string]netip.Addr
	ca    *x509.Certificate
	caKey *ecdsa.PrivateKey
	pool  *x509.CertPool
}

// ErrNoAddress: no free loopback address could be found for a name.
var ErrNoAddress = errors.New("no free loopback address on port 443")

// Open loads the net kept in dir, or makes it: a CA and, for each name
// not known yet, a loopback address whose port 443 is free. Names are host
// names such as "room.lifeboat.test" (the .test domain is never public).
func Open(dir string, names ...string) (*Net, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	n := &Net{dir: dir, hosts: map[string]netip.Addr{}}
	if err := n.loadCA(); err != nil {
		return nil, err
	}
	if err := n.loadHosts(names); err != nil {
		return nil, err
	}
	return n, nil
}

// CAFile is the CA's certificate (PEM), which servers on the net trust.
func (n *Net) CAFile() string { return filepath.Join(n.dir, "ca.pem") }

// HostsFile is the /etc/hosts of servers on the net.
func (n *Net) HostsFile() string { return filepath.Join(n.dir, "hosts") }

func (n *Net) caKeyFile() string { return filepath.Join(n.dir, "ca-key.pem") }
func (n *Net) hostsJSON() string { return filepath.Join(n.dir, "hosts.json") }

// Addr is name's loopback address (the zero Addr for a name not on the net).
func (n *Net) Addr(name string) netip.Addr { return n.hosts[name] }

// URL is the base URL of the server named name.
func (n *Net) URL(name string) string { return "https://" + name }

func (n *Net) loadCA() error {
	certPEM, err := os.ReadFile(n.CAFile())
	if errors.Is(err, os.ErrNotExist) {
		return n.makeCA()
	}
	if err != nil {
		return err
	}
	keyPEM, err := os.ReadFile(n.caKeyFile())
	if err != nil {
		return err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("read the local CA in %s: %w (delete the directory to start afresh)", n.dir, err)
	}
	key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		return fmt.Errorf("read the local CA in %s: not an ECDSA key (delete the directory to start afresh)", n.dir)
	}
	n.ca, n.caKey = pair.Leaf, key
	return n.makePool(certPEM)
}

func (n *Net) makeCA() error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "Lifeboat local federation CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return err
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return err
	}
	// The key first: a CA certificate without its key would be unusable.
	if err := atomicfile.Write(n.caKeyFile(), keyPEM, 0o600); err != nil {
		return err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := atomicfile.Write(n.CAFile(), certPEM, 0o644); err != nil {
		return err
	}
	n.ca, n.caKey = cert, key
	return n.makePool(certPEM)
}

// makePool is the machine's roots and the CA: Lifeboat's client reaches
// the net's servers and public ones alike.
func (n *Net) makePool(caPEM []byte) error {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(caPEM) {
		return fmt.Errorf("read the local CA in %s: no certificate (delete the directory to start afresh)", n.dir)
	}
	n.pool = pool
	return nil
}

func encodeKey(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

func serial() *big.Int {
	s, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return s
}

// loadHosts reads the addresses kept from earlier runs and gives every new
// name a free one.
func (n *Net) loadHosts(names []string) error {
	b, err := os.ReadFile(n.hostsJSON())
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &n.hosts); err != nil {
			return fmt.Errorf("read %s: %w (delete the directory to start afresh)", n.hostsJSON(), err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return err
	}
	changed := false
	for _, name := range names {
		if _, ok := n.hosts[name]; ok {
			continue
		}
		a, err := n.freeAddr()
		if err != nil {
			return err
		}
		n.hosts[name], changed = a, true
	}
	if changed {
		b, err := json.MarshalIndent(n.hosts, "", "  ")
		if err != nil {
			return err
		}
		if err := atomicfile.Write(n.hostsJSON(), b, 0o600); err != nil {
			return err
		}
	}
	return atomicfile.Write(n.HostsFile(), n.etcHosts(), 0o644)
}

// freeAddr picks a random address in 127.0.0.0/8 whose port 443 nobody
// listens on: several nets (tests of different packages, a demo) may run
// on one machine at once, each with the same names.
func (n *Net) freeAddr() (netip.Addr, error) {
	for range 64 {
		a := netip.AddrFrom4([4]byte{127, byte(1 + mrand.IntN(254)), byte(mrand.IntN(256)), byte(2 + mrand.IntN(253))})
		if slices.Contains(n.addrs(), a) {
			continue
		}
		ln, err := net.Listen("tcp", netip.AddrPortFrom(a, Port).String())
		if err != nil {
			continue
		}
		ln.Close()
		return a, nil
	}
	return netip.Addr{}, ErrNoAddress
}

func (n *Net) addrs() []netip.Addr {
	var out []netip.Addr
	for _, a := range n.hosts {
		out = append(out, a)
	}
	return out
}

func (n *Net) names() []string {
	var out []string
	for name := range n.hosts {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

func (n *Net) etcHosts() []byte {
	var b strings.Builder
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost\n")
	for _, name := range n.names() {
		fmt.Fprintf(&b, "%s\t%s\n", n.hosts[name], name)
	}
	return []byte(b.String())
}

// Certificate returns the files of name's certificate chain and key,
// issuing them on first use.
func (n *Net) Certificate(name string) (chain, key string, err error) {
	if _, ok := n.hosts[name]; !ok {
		return "", "", fmt.Errorf("%s is not on the local federation in %s", name, n.dir)
	}
	chain, key = filepath.Join(n.dir, name+".pem"), filepath.Join(n.dir, name+"-key.pem")
	if _, err := tls.LoadX509KeyPair(chain, key); err == nil {
		return chain, key, nil
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: name},
		DNSNames:     []string{name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(5, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, n.ca, &k.PublicKey, n.caKey)
	if err != nil {
		return "", "", err
	}
	keyPEM, err := encodeKey(k)
	if err != nil {
		return "", "", err
	}
	if err := atomicfile.Write(key, keyPEM, 0o600); err != nil {
		return "", "", err
	}
	if err := atomicfile.Write(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return "", "", err
	}
	return chain, key, nil
}

// HTTPClient trusts the CA (and the machine's roots) and resolves the
// net's names to their addresses; other names resolve as usual.
func (n *Net) HTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	// Bulk work sends many requests at once to one server (see fedi's
	// shared transport).
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 128
	t.TLSClientConfig = &tls.Config{RootCAs: n.pool, MinVersion: tls.VersionTLS12}
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	hosts := n.hosts
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err == nil {
			if a, ok := hosts[strings.ToLower(host)]; ok {
				addr = net.JoinHostPort(a.String(), port)
			}
		}
		return d.DialContext(ctx, network, addr)
	}
	return &http.Client{Transport: t}
}

// Confine makes cmd run in its own mount namespace with the net's hosts
// file as /etc/hosts, trusting the CA (Go programs read SSL_CERT_FILE).
// Call it after cmd's Path, Args and Env are set and before Start; the
// process keeps cmd's pid (unshare and sh exec it).
func (n *Net) Confine(cmd *exec.Cmd) error {
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		return fmt.Errorf("a local federation runs each server with its own /etc/hosts through unshare (util-linux): %w", err)
	}
	// $0 is the hosts file and "$@" the command, so that no path is
	// parsed by the shell.
	const script = `mount --bind "$0" /etc/hosts && exec "$@"`
	args := append([]string{"unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", script, n.HostsFile(), cmd.Path}, cmd.Args[1:]...)
	cmd.Path, cmd.Args = unshare, args
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	cmd.Env = append(slices.Clip(env), "SSL_CERT_FILE="+n.CAFile())
	return nil
}
