// Package hetzner provisions a new instance for a group on Hetzner Cloud:
// pre-flight checks and prices through hcloud-go, the embedded Terraform
// module (templates/hetzner) driven through terraform-exec, cloud-init for
// GoToSocial or Mastodon, and the waits that follow an apply (DNS, TLS,
// the admin credentials over SSH with a pinned host key).
//
// Everything about one group lives in Config.Dir (mode 0700): the
// Terraform state (it holds secrets; 0600), the variables file, the
// generated SSH keys and the fetched admin credentials.
package hetzner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/lifeboat-social/lifeboat/groups"
)

// Config is everything a Provisioner needs. Token is sensitive: it is
// passed to hcloud-go and to Terraform's environment, never printed and
// never put in argv or a file Lifeboat writes.
type Config struct {
	Group *groups.Group
	// Dir is this group's state directory for the Hetzner destination.
	Dir string

	Token    string // Hetzner Cloud API token (HCLOUD_TOKEN)
	Endpoint string // API endpoint; empty for the real API (HCLOUD_ENDPOINT)

	Terraform      string // Terraform binary
	ProviderMirror string // filesystem mirror holding the hcloud provider; empty: the registry

	SSHFrom      []string // CIDRs that may reach SSH: the lead's address
	Image        string   // default debian-12
	VolumeSize   int      // GB of media volume; 0 for none
	NoBackups    bool     // turn Hetzner's server backups off
	SMTP         SMTP
	AdminUser    string // default admin
	PollInterval string // provider poll_interval (default 500ms): --poll-interval; raised on rate limits, lowered by tests

	// Boot is the GoToSocial release mirror, own certificate and extra
	// trusted CAs for the server's first boot; zero: the defaults.
	Boot BootOptions

	// AccountsBin returns the local path of lifeboat-gts-accounts built
	// for linux and the server's GOARCH (amd64 or arm64): GoToSocial
	// servers get it copied over SSH, to make the admin and members'
	// accounts. Not needed for Mastodon.
	AccountsBin func(ctx context.Context, goarch string) (string, error)
	// Layout is where things are on the server; zero: DefaultLayout.
	Layout Layout

	// HomeDir is the group's campaign home's state directory: when the
	// home exists, a GoToSocial destination goes on its machine (see
	// shared.go) unless OwnServer asks for a server of its own.
	HomeDir   string
	OwnServer bool

	// NoWait stops Up after apply: the DNS records are reported but not
	// waited for, and nothing is fetched over SSH.
	NoWait bool
	// Wait tunes the waits after apply; zero values use the defaults.
	Wait Waits
}

// SMTP is the relay the new server sends mail through. Password is
// sensitive.
type SMTP struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Username string `json:"username"`
	Password string `json:"-"`
	From     string `json:"from"`
}

// Defaults.
const (
	DefaultImage        = "debian-12"
	DefaultAdminUser    = "admin"
	DefaultPollInterval = "500ms"
	GoToSocialVersion   = "0.17.3"
	MastodonVersion     = "v4.3.8"
	BackupDays          = 7
)

// ErrConfig marks a configuration the lead must fix (bad input).
var ErrConfig = errors.New("invalid configuration")

func (c *Config) setDefaults() {
	if c.Layout == (Layout{}) {
		c.Layout = DefaultLayout()
	}
	if c.Image == "" {
		c.Image = DefaultImage
	}
	if c.AdminUser == "" {
		c.AdminUser = DefaultAdminUser
	}
	if c.PollInterval == "" {
		c.PollInterval = DefaultPollInterval
	}
	if c.SMTP.Port == 0 && c.SMTP.Host != "" {
		c.SMTP.Port = 587
	}
	if c.SMTP.From == "" && c.Group != nil && c.SMTP.Host != "" {
		c.SMTP.From = "lifeboat@" + c.Group.Destination.Domain
	}
}

// validate checks what pre-flight cannot ask the API about.
func (c *Config) validate(needSSH bool) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, a...))
	}
	if c.Group == nil {
		return bad("no group")
	}
	d := c.Group.Destination
	if d.Type != groups.DestNew || (d.Cloud != "" && d.Cloud != groups.CloudHetzner) {
		return bad("group %s does not ask for a new server on Hetzner (destination type %q, cloud %q)", c.Group.Name, d.Type, d.Cloud)
	}
	if d.Domain == "" || d.Location == "" || d.ServerType == "" {
		return bad("destination needs domain, location and server_type")
	}
	if c.Dir == "" {
		return bad("no state directory")
	}
	if c.Token == "" {
		return bad("no Hetzner Cloud token: set HCLOUD_TOKEN or HCLOUD_TOKEN_FILE (a file only you can read)")
	}
	if c.VolumeSize != 0 && (c.VolumeSize < 10 || c.VolumeSize > 10240) {
		return bad("volume size %d GB: must be 0 or 10..10240", c.VolumeSize)
	}
	if _, err := time.ParseDuration(c.PollInterval); err != nil {
		return bad("poll interval %q: %v", c.PollInterval, err)
	}
	if needSSH && len(c.SSHFrom) == 0 {
		return bad("no address for SSH: pass --ssh-from with your public IP (e.g. 203.0.113.7 or 2001:db8::/64); port 22 is opened to it only")
	}
	for _, s := range c.SSHFrom {
		if _, _, err := net.ParseCIDR(s); err != nil {
			return bad("--ssh-from %q is not a CIDR network", s)
		}
	}
	if strings.ContainsAny(c.SMTP.Host+c.SMTP.Username+c.SMTP.Password+c.SMTP.From, "\n\r") {
		return bad("SMTP settings must not contain line breaks")
	}
	return nil
}

// NormalizeCIDR turns an address into a host network (203.0.113.7 →
// 203.0.113.7/32) and leaves networks alone.
func NormalizeCIDR(s string) string {
	if strings.Contains(s, "/") {
		return s
	}
	if ip := net.ParseIP(s); ip != nil {
		if ip.To4() != nil {
			return ip.String() + "/32"
		}
		return ip.String() + "/128"
	}
	return s
}

// TokenFromEnv returns the API token from HCLOUD_TOKEN, or from the file
// named by HCLOUD_TOKEN_FILE, which must not be readable by group or
// others. The token is never taken from a flag.
func TokenFromEnv() (string, error) {
	if t := strings.TrimSpace(os.Getenv("HCLOUD_TOKEN")); t != "" {
		return t, nil
	}
	path := os.Getenv("HCLOUD_TOKEN_FILE")
	if path == "" {
		return "", nil
	}
	return TokenFromFile(path)
}

// TokenFromFile reads a token from a file with mode 0600 or stricter.
func TokenFromFile(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("read token file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("%w: token file %s has mode %v; run: chmod 600 %s", ErrConfig, path, fi.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read token file: %w", err)
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", fmt.Errorf("%w: token file %s is empty", ErrConfig, path)
	}
	return t, nil
}

// IsLoopbackEndpoint reports whether the API endpoint is on this machine
// (a fake): there is no real server behind what it creates, so nothing
// can be waited for after apply.
func IsLoopbackEndpoint(endpoint string) bool {
	if endpoint == "" {
		return false
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	h := u.Hostname()
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
