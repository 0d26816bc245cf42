package boottest

import (
	"archive/tar"
	"compress/gzip"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/tools"
)

// testCA is a certificate authority made for one test run: it issues the
// GoToSocial server's certificate (the lead's own-certificate TLS mode)
// and the release mirror's.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	PEM  []byte
	Pool *x509.CertPool
}

func newCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Lifeboat boot test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), Pool: pool}
}

// issue makes a server certificate for a DNS name or an IP address and
// returns it with its key as PEM.
func (ca *testCA) issue(t *testing.T, host string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if ip := net.ParseIP(host); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{host}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	k, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k})
}

// writeFile writes a test input file (0600) and returns its path.
func writeFile(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// packRelease packs the cached GoToSocial build as GoToSocial publishes
// its releases: gotosocial_VERSION_linux_ARCH.tar.gz holding the binary
// and web/{template,assets}, and checksums.txt with its SHA-256. It
// returns the directory holding both, and the binary's SHA-256.
func packRelease(t *testing.T, gts tools.GoToSocial, version, arch string) (dir, binSum string) {
	t.Helper()
	dir = t.TempDir()
	name := fmt.Sprintf("gotosocial_%s_linux_%s.tar.gz", version, arch)
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.New()
	zw, _ := gzip.NewWriterLevel(io.MultiWriter(f, sum), gzip.BestSpeed)
	tw := tar.NewWriter(zw)
	add := func(src, name string) {
		fi, err := os.Stat(src)
		if err != nil {
			t.Fatal(err)
		}
		hdr, err := tar.FileInfoHeader(fi, "")
		if err != nil {
			t.Fatal(err)
		}
		hdr.Name, hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = name, 0, 0, "", ""
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if fi.IsDir() {
			return
		}
		in, err := os.Open(src)
		if err != nil {
			t.Fatal(err)
		}
		defer in.Close()
		if _, err := io.Copy(tw, in); err != nil {
			t.Fatal(err)
		}
	}
	add(gts.Bin, "gotosocial")
	for sub, from := range map[string]string{"web/template": gts.TemplateDir, "web/assets": gts.AssetDir} {
		err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(from, p)
			add(p, filepath.ToSlash(filepath.Join(sub, rel)))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	line := fmt.Sprintf("%s  %s\n", hex.EncodeToString(sum.Sum(nil)), name)
	if err := os.WriteFile(filepath.Join(dir, "checksums.txt"), []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	bs, err := os.ReadFile(gts.Bin)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(bs)
	return dir, hex.EncodeToString(s[:])
}

// serveMirror serves dir over HTTPS on addr (the host's end of the link)
// with a certificate from ca, under /releases/, and returns the URL of
// that directory and a counter of files fetched.
func serveMirror(t *testing.T, ca *testCA, addr net.IP, dir string) (string, func() map[string]int) {
	t.Helper()
	certPEM, keyPEM := ca.issue(t, addr.String())
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", net.JoinHostPort(addr.String(), "0"), &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	fetched := make(chan string, 16)
	files := http.StripPrefix("/releases/", http.FileServer(http.Dir(dir)))
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case fetched <- r.URL.Path:
		default:
		}
		files.ServeHTTP(w, r)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	counts := map[string]int{}
	return "https://" + ln.Addr().String() + "/releases", func() map[string]int {
		for {
			select {
			case p := <-fetched:
				counts[p]++
			default:
				return counts
			}
		}
	}
}
