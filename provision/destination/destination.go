// Package destination builds a group's destination from its group file:
// the one place that chooses between the local server, an existing
// server and a new one on Hetzner Cloud. Commands and the TUI call For
// and use what it returns through provision.Destination (and, where they
// only need a server that already runs, provision.Attacher).
package destination

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/config"
	"github.com/lifeboat-social/lifeboat/internal/tools"
	"github.com/lifeboat-social/lifeboat/provision"
	"github.com/lifeboat-social/lifeboat/provision/existing"
	"github.com/lifeboat-social/lifeboat/provision/hetzner"
	"github.com/lifeboat-social/lifeboat/provision/local"
)

// Config is what building a destination needs beyond the group.
type Config struct {
	config.Config
	// Log receives the tools installer's output (building GoToSocial,
	// Terraform or the provider the first time).
	Log io.Writer
}

// For returns the group's destination. The local server is kept running
// after Stop (the demo's server, visited afterwards and stopped with
// lifeboat demo --stop); a new server's Terraform and provider are found
// (or built) here, so For may take a while the first time.
func For(ctx context.Context, g *groups.Group, cfg Config) (provision.Destination, error) {
	switch g.Destination.Type {
	case groups.DestLocal:
		return local.New(local.Config{Dir: LocalDir(cfg.StateDir, g.Name), Title: g.Title, Keep: true, Tools: installer(cfg.Log)}), nil
	case groups.DestExisting:
		return existing.New(existing.Config{URL: g.Destination.Server}), nil
	case groups.DestNew:
		hc, err := Hetzner(ctx, g, cfg)
		if errors.Is(err, errNoTools) && !hetzner.HasServer(hc.Dir) {
			return noServerYet{err}, nil
		}
		if err != nil {
			return nil, err
		}
		return hetzner.NewDestination(hc), nil
	}
	return nil, fmt.Errorf("group %s: unknown destination type %q", g.Name, g.Destination.Type)
}

// GroupDir is where a group's own files live (a local server, Terraform
// state, exports).
func GroupDir(stateDir, group string) string { return filepath.Join(stateDir, "groups", group) }

// LocalDir is where the group's local GoToSocial lives.
func LocalDir(stateDir, group string) string {
	return filepath.Join(GroupDir(stateDir, group), "local")
}

// Hetzner is the provisioner's configuration for the group's new server:
// its state directory, the token, endpoint, SSH sources and mail relay
// from cfg, Terraform and the provider mirror, and the account maker
// copied to a GoToSocial server. The token is not required here: reading
// a server that exists needs none; applying checks it.
func Hetzner(ctx context.Context, g *groups.Group, cfg Config) (hetzner.Config, error) {
	d := g.Destination
	if d.Type != groups.DestNew || d.Cloud != groups.CloudHetzner {
		return hetzner.Config{}, fmt.Errorf("%w: destination is %q (cloud %q), not a new server on Hetzner (type: new, cloud: hetzner)", hetzner.ErrConfig, d.Type, d.Cloud)
	}
	token, err := hetznerToken(cfg.Config)
	if err != nil {
		return hetzner.Config{}, err
	}
	smtp, err := smtpFor(cfg.SMTP)
	if err != nil {
		return hetzner.Config{}, err
	}
	hc := hetzner.Config{
		Group: g, Dir: filepath.Join(GroupDir(cfg.StateDir, g.Name), "hetzner"), HomeDir: HomeDir(cfg.StateDir, g.Name),
		Token: token, Endpoint: cfg.Hetzner.Endpoint, PollInterval: cfg.Hetzner.PollInterval, SMTP: smtp,
		Boot: hetzner.BootOptions(cfg.Hetzner.Boot),
		AccountsBin: func(ctx context.Context, goarch string) (string, error) {
			return installer(cfg.Log).GoToSocialAccountsFor(ctx, "linux", goarch)
		},
	}
	// An endpoint on this machine is a fake API: no real server is
	// behind what it creates, so there is nothing to wait for.
	hc.NoWait = hetzner.IsLoopbackEndpoint(hc.Endpoint)
	for _, s := range cfg.SSHFrom {
		hc.SSHFrom = append(hc.SSHFrom, hetzner.NormalizeCIDR(strings.TrimSpace(s)))
	}
	if hc.Terraform, hc.ProviderMirror, err = hetznerTools(ctx, cfg); err != nil {
		return hc, fmt.Errorf("%w: %w", errNoTools, err)
	}
	return hc, nil
}

// hetznerToken is the configured token, or the one in the token file.
func hetznerToken(cfg config.Config) (string, error) {
	if cfg.Hetzner.Token != "" || cfg.Hetzner.TokenFile == "" {
		return cfg.Hetzner.Token, nil
	}
	return hetzner.TokenFromFile(cfg.Hetzner.TokenFile)
}

// Prices prices the server types a new server can have for g
// (hetzner.Prices, with the configured token and endpoint).
func Prices(ctx context.Context, g *groups.Group, cfg config.Config) (provision.Prices, error) {
	token, err := hetznerToken(cfg)
	if err != nil {
		return provision.Prices{}, err
	}
	return hetzner.Prices(ctx, hetzner.Config{Group: g, Token: token, Endpoint: cfg.Hetzner.Endpoint}, hetzner.PriceTypes)
}

// smtpFor is the one mail relay as a new server's settings: GoToSocial
// and Mastodon take the host and port apart and a bare sender address.
func smtpFor(s config.SMTP) (hetzner.SMTP, error) {
	out := hetzner.SMTP{Username: s.User, Password: s.Password, From: s.From}
	if s.Addr != "" {
		host, port, err := net.SplitHostPort(s.Addr)
		if err != nil {
			return out, fmt.Errorf("%w: %s %q: want host:port", hetzner.ErrConfig, config.EnvSMTPAddr, s.Addr)
		}
		out.Host = host
		if out.Port, err = strconv.Atoi(port); err != nil || out.Port <= 0 || out.Port > 65535 {
			return out, fmt.Errorf("%w: %s %q: bad port", hetzner.ErrConfig, config.EnvSMTPAddr, s.Addr)
		}
	}
	if s.From != "" {
		if a, err := mail.ParseAddress(s.From); err == nil {
			out.From = a.Address
		}
	}
	if out.Password == "" && s.PasswordFile != "" && out.Host != "" {
		p, err := hetzner.TokenFromFile(s.PasswordFile)
		if err != nil {
			return out, err
		}
		out.Password = p
	}
	return out, nil
}

// hetznerTools returns Terraform (the configured one, PATH, or built
// into the tools cache) and the provider mirror (the configured one, the
// tools cache, or built there when Terraform was too; empty means the
// registry).
func hetznerTools(ctx context.Context, cfg Config) (terraform, mirror string, err error) {
	in := installer(cfg.Log)
	onPath := ""
	terraform = cfg.Hetzner.Terraform
	if terraform == "" {
		onPath, _ = exec.LookPath("terraform")
		terraform = onPath
	}
	if terraform == "" {
		if terraform, err = in.Terraform(ctx); err != nil {
			return "", "", fmt.Errorf("find terraform: %w", err)
		}
	}
	mirror = cfg.Hetzner.Mirror
	if mirror == "" {
		cached := filepath.Join(in.Dir, "hcloud-mirror-"+tools.HcloudProviderVersion)
		if _, err := os.Stat(cached); err == nil || onPath == "" {
			if mirror, err = in.HcloudMirror(ctx); err != nil {
				return "", "", fmt.Errorf("find the hcloud provider: %w", err)
			}
		}
	}
	return terraform, mirror, nil
}

func installer(log io.Writer) *tools.Installer {
	in := tools.New()
	if log != nil {
		in.Log = log
	}
	return in
}

// Fix is what a lead must do about a destination's failure.
type Fix int

const (
	FixCause     Fix = iota // fix the cause the error names, then retry
	FixToken                // the cloud token was refused: check it
	FixDNS                  // set the DNS records, wait, retry
	FixPlacement            // choose another server type, location or image
)

// FixFor decides, from the error's type, what the lead must do.
func FixFor(err error) Fix {
	switch {
	case errors.Is(err, hetzner.ErrToken):
		return FixToken
	case errors.Is(err, hetzner.ErrDNS):
		return FixDNS
	case errors.Is(err, hetzner.ErrServerType), errors.Is(err, hetzner.ErrLocation), errors.Is(err, hetzner.ErrImage):
		return FixPlacement
	}
	return FixCause
}
