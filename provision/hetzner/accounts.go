package hetzner

import (
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/provision"
	"github.com/lifeboat-social/lifeboat/provision/gtsaccounts"
)

// Layout is where things are on the server, as the cloud-init templates
// lay them out. Tests point it at a stand-in's paths.
type Layout struct {
	Ready     string // made when first boot has finished
	AdminJSON string // Mastodon: the admin credentials first boot made
	GTSConfig string // GoToSocial's config file
	RunAs     string // the user GoToSocial runs as; empty: the SSH user
	MakerDir  string // where the account maker is copied
}

// DefaultLayout is the cloud-init templates' layout.
func DefaultLayout() Layout {
	return Layout{
		Ready:     "/root/lifeboat/ready",
		AdminJSON: "/root/lifeboat/admin.json",
		GTSConfig: "/etc/gotosocial/config.yaml",
		RunAs:     "gotosocial",
		MakerDir:  "/opt/lifeboat",
	}
}

func (l Layout) makerBin() string { return path.Join(l.MakerDir, "lifeboat-gts-accounts") }

// makerCmd runs the account maker as GoToSocial's user, so the database
// stays GoToSocial's. Requests (and the passwords in them) go on stdin.
func (l Layout) makerCmd() string {
	cmd := shellQuote(l.makerBin()) + " " + shellQuote(l.GTSConfig)
	if l.RunAs != "" {
		cmd = "runuser -u " + shellQuote(l.RunAs) + " -- " + cmd
	}
	return cmd
}

// installCmd writes the gzipped maker from stdin in place atomically.
func (l Layout) installCmd() string {
	bin := shellQuote(l.makerBin())
	part := shellQuote(l.makerBin() + ".part")
	return "set -e; install -d -m 0755 " + shellQuote(l.MakerDir) + "; gunzip -c >" + part +
		"; chmod 0755 " + part + "; mv -f " + part + " " + bin
}

// installMaker copies the account maker to the server unless the same
// build is there already (by SHA-256): it is large, and re-runs are common.
func installMaker(ctx context.Context, t SSHTarget, l Layout, local string, emit progress.Func) error {
	const step = "account maker"
	sum, size, err := fileSHA256(local)
	if err != nil {
		return fmt.Errorf("the account maker: %w", err)
	}
	out, err := t.Run(ctx, "sha256sum "+shellQuote(l.makerBin())+" 2>/dev/null || true")
	if err != nil {
		return fmt.Errorf("check the account maker on the server: %w", err)
	}
	if f := strings.Fields(string(out)); len(f) > 0 && f[0] == sum {
		return nil
	}
	emit.Emit(progress.Event{Kind: progress.StepStarted, Step: step,
		Message: fmt.Sprintf("copying the account maker to the server (%d MB, compressed on the way)", size>>20)})
	f, err := os.Open(local)
	if err != nil {
		return err
	}
	defer f.Close()
	pr, pw := io.Pipe()
	sent := &countingReader{r: f, every: size / 20, report: func(n int64) {
		emit.Emit(progress.Event{Kind: progress.Advanced, Step: step, Done: int(n >> 20), Total: int(size >> 20)})
	}}
	go func() {
		zw, _ := gzip.NewWriterLevel(pw, gzip.BestSpeed)
		_, err := io.Copy(zw, sent)
		if err == nil {
			err = zw.Close()
		}
		pw.CloseWithError(err)
	}()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	if _, err := t.RunInput(ctx, l.installCmd(), pr); err != nil {
		pr.CloseWithError(err)
		emit.Emit(progress.Event{Kind: progress.Failed, Step: step, Message: err.Error()})
		return fmt.Errorf("copy the account maker: %w", err)
	}
	emit.Emit(progress.Event{Kind: progress.StepDone, Step: step})
	return nil
}

// countingReader reports how much was read, every so many bytes: the
// copy of the maker can take minutes on a home connection.
type countingReader struct {
	r       io.Reader
	n, next int64
	every   int64
	report  func(n int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n >= c.next || err == io.EOF {
		c.report(c.n)
		c.next = c.n + max(c.every, 1)
	}
	return n, err
}

func fileSHA256(name string) (string, int64, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// newMaker returns an account maker that runs on the server over SSH,
// started on first use.
func newMaker(t SSHTarget, l Layout) *gtsaccounts.Maker {
	return gtsaccounts.New(func(ctx context.Context) (gtsaccounts.Proc, error) {
		return t.Start(ctx, l.makerCmd())
	})
}

// gotosocialAdmin makes the GoToSocial admin over SSH once first boot has
// finished: the password is made here, saved in Dir/admin.json (0600, sealed)
// before it is used, and reaches the server only on the account maker's
// standard input, so it is never in a command line or a file there. A
// re-run reuses the saved password, and the maker finds the account made
// before.
func (p *Provisioner) gotosocialAdmin(ctx context.Context, t SSHTarget, res Result, arch string, emit progress.Func) (string, error) {
	cfg := p.cfg
	if cfg.AccountsBin == nil {
		return "", fmt.Errorf("%w: no account maker: GoToSocial servers need lifeboat-gts-accounts (the tools installer builds it)", ErrConfig)
	}
	if err := waitReady(ctx, cfg.Wait, t, cfg.Layout, emit); err != nil {
		return "", err
	}
	bin, err := cfg.AccountsBin(ctx, goArch(arch))
	if err != nil {
		return "", fmt.Errorf("build the account maker for %s servers: %w", arch, err)
	}
	if err := installMaker(ctx, t, cfg.Layout, bin, emit); err != nil {
		return "", err
	}
	credsPath := filepath.Join(cfg.Dir, credsFile)
	creds, err := readCredentials(credsPath)
	if errors.Is(err, fs.ErrNotExist) {
		creds = Credentials{Software: groups.SoftwareGoToSocial, URL: res.URL, Username: cfg.AdminUser,
			Email: AdminEmail(cfg.Group), Password: provision.NewPassword()}
		b, _ := json.MarshalIndent(creds, "", "  ")
		err = writeSealed(credsPath, b)
	}
	if err != nil {
		return "", err
	}
	const step = "admin account"
	emit.Emit(progress.Event{Kind: progress.StepStarted, Step: step, Message: "creating the admin " + creds.Username + " on the server"})
	m := newMaker(t, cfg.Layout)
	defer m.Close()
	if err := m.CreateAdmin(ctx, creds.Username, creds.Email, creds.Password); err != nil {
		emit.Emit(progress.Event{Kind: progress.Failed, Step: step, Message: err.Error()})
		return "", err
	}
	emit.Emit(progress.Event{Kind: progress.StepDone, Step: step})
	return credsPath, nil
}

// goArch maps Hetzner's architecture names to Go's.
func goArch(hcloudArch string) string {
	if hcloudArch == "arm" {
		return "arm64"
	}
	return "amd64"
}

// waitReady waits until first boot has finished on the server.
func waitReady(ctx context.Context, w Waits, t SSHTarget, l Layout, emit progress.Func) error {
	_, err := sshWait(ctx, w, t, "first boot", "waiting for the server's first boot to finish", "test -e "+shellQuote(l.Ready), nil, emit)
	return err
}
