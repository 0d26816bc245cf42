// Package config is Lifeboat's configuration, read once: Load reads the
// environment, commands then override fields with their flags, and every
// other package gets what it needs from the Config it is handed. Secrets
// (tokens, passwords) come from the environment or from files only their
// owner can read, never from flags; files are read when a command needs
// them, so a bad token file does not break a command that uses none.
//
// The tools cache ($LIFEBOAT_TOOLS, $LIFEBOAT_PG_BIN, $LIFEBOAT_CHROMIUM)
// stays with internal/tools: the installer is a leaf that tests and
// benchmarks use without a Config.
package config

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Environment variables Load reads.
const (
	EnvState        = "LIFEBOAT_STATE"
	EnvDatabaseURL  = "LIFEBOAT_DATABASE_URL"
	EnvSSHFrom      = "LIFEBOAT_SSH_FROM"
	EnvAdminToken   = "LIFEBOAT_ADMIN_TOKEN"
	EnvLeadToken    = "LIFEBOAT_LEAD_TOKEN"
	EnvLeadServer   = "LIFEBOAT_LEAD_SERVER"
	EnvTerraform    = "LIFEBOAT_TERRAFORM"
	EnvHcloudMirror = "LIFEBOAT_HCLOUD_MIRROR"

	// A new GoToSocial server's first boot (see hetzner.BootOptions).
	EnvGoToSocialFrom = "LIFEBOAT_GOTOSOCIAL_FROM"
	EnvTLSCertFile    = "LIFEBOAT_TLS_CERT_FILE"
	EnvTLSKeyFile     = "LIFEBOAT_TLS_KEY_FILE"
	EnvTrustCAFile    = "LIFEBOAT_TRUST_CA_FILE"

	EnvSMTPAddr         = "LIFEBOAT_SMTP_ADDR"
	EnvSMTPSecurity     = "LIFEBOAT_SMTP_SECURITY"
	EnvSMTPUser         = "LIFEBOAT_SMTP_USER"
	EnvSMTPFrom         = "LIFEBOAT_SMTP_FROM"
	EnvSMTPPassword     = "LIFEBOAT_SMTP_PASSWORD"
	EnvSMTPPasswordFile = "LIFEBOAT_SMTP_PASSWORD_FILE"

	// The new-server SMTP scheme of earlier releases, still read (with a
	// warning) for one release.
	EnvSMTPHostOld     = "LIFEBOAT_SMTP_HOST"
	EnvSMTPPortOld     = "LIFEBOAT_SMTP_PORT"
	EnvSMTPUsernameOld = "LIFEBOAT_SMTP_USERNAME"

	EnvHcloudToken     = "HCLOUD_TOKEN"
	EnvHcloudTokenFile = "HCLOUD_TOKEN_FILE"
	EnvHcloudEndpoint  = "HCLOUD_ENDPOINT"
)

// Config is everything Lifeboat is configured with.
type Config struct {
	// StateDir holds the store and one folder per group.
	StateDir string
	// DatabaseURL is a PostgreSQL URL; empty: SQLite in StateDir.
	DatabaseURL string
	// SSHFrom are the networks a new server opens SSH to.
	SSHFrom []string
	// AdminToken is a server admin's token for the watcher. Secret.
	AdminToken string
	// LeadToken and LeadServer are the lead's own account, for sending
	// an admission request as a direct message. LeadToken is secret.
	LeadToken, LeadServer string

	SMTP    SMTP
	Hetzner Hetzner

	// Warnings name deprecated settings in use and what replaces them.
	Warnings []string
}

// SMTP is the one mail relay: Lifeboat's own mail and a new server's.
type SMTP struct {
	Addr         string // host:port
	Security     string // starttls | tls | none; empty: starttls
	User         string // empty: no AUTH
	From         string
	Password     string // secret
	PasswordFile string // a 0600 file holding the password
}

// Hetzner is how to reach Hetzner Cloud and run Terraform.
type Hetzner struct {
	Token     string // secret
	TokenFile string // a 0600 file holding the token
	Endpoint  string // empty: the real API
	// Terraform is a Terraform binary to use; empty: PATH, else built
	// into the tools cache.
	Terraform string
	// Mirror is a filesystem mirror of the hcloud provider; empty: the
	// tools cache, else the registry.
	Mirror string
	// PollInterval is how often the provider asks whether an action is
	// done (the --poll-interval flag); empty: the provider's default.
	PollInterval string
	// Boot tunes a new GoToSocial server's first boot: where the release
	// is downloaded from, the server's own certificate, extra trusted CAs.
	Boot Boot
}

// Boot are the first-boot options of a new GoToSocial server, as given;
// hetzner.BootOptions checks them when the cloud-init is rendered.
type Boot struct {
	GoToSocialFrom, TLSCertFile, TLSKeyFile, TrustCAFile string
}

// Load reads the configuration from the environment (getenv is
// os.Getenv outside tests).
func Load(getenv func(string) string) (Config, error) {
	c := Config{
		StateDir:    stateDir(getenv),
		DatabaseURL: getenv(EnvDatabaseURL),
		AdminToken:  strings.TrimSpace(getenv(EnvAdminToken)),
		LeadToken:   getenv(EnvLeadToken),
		LeadServer:  getenv(EnvLeadServer),
		SMTP: SMTP{
			Addr:         getenv(EnvSMTPAddr),
			Security:     getenv(EnvSMTPSecurity),
			User:         getenv(EnvSMTPUser),
			From:         getenv(EnvSMTPFrom),
			Password:     getenv(EnvSMTPPassword),
			PasswordFile: getenv(EnvSMTPPasswordFile),
		},
		Hetzner: Hetzner{
			Token:     strings.TrimSpace(getenv(EnvHcloudToken)),
			TokenFile: getenv(EnvHcloudTokenFile),
			Endpoint:  getenv(EnvHcloudEndpoint),
			Terraform: getenv(EnvTerraform),
			Mirror:    getenv(EnvHcloudMirror),
			Boot: Boot{
				GoToSocialFrom: getenv(EnvGoToSocialFrom),
				TLSCertFile:    getenv(EnvTLSCertFile),
				TLSKeyFile:     getenv(EnvTLSKeyFile),
				TrustCAFile:    getenv(EnvTrustCAFile),
			},
		},
	}
	if s := getenv(EnvSSHFrom); s != "" {
		for _, n := range strings.Split(s, ",") {
			if n = strings.TrimSpace(n); n != "" {
				c.SSHFrom = append(c.SSHFrom, n)
			}
		}
	}
	if err := c.oldSMTP(getenv); err != nil {
		return c, err
	}
	return c, nil
}

// oldSMTP reads LIFEBOAT_SMTP_HOST, _PORT and _USERNAME, which new
// servers' mail used before the one scheme, where the one scheme's
// variables are not set.
func (c *Config) oldSMTP(getenv func(string) string) error {
	host, port, user := getenv(EnvSMTPHostOld), getenv(EnvSMTPPortOld), getenv(EnvSMTPUsernameOld)
	if host == "" && port == "" && user == "" {
		return nil
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
			return fmt.Errorf("%s %q is not a port", EnvSMTPPortOld, port)
		}
	}
	if c.SMTP.Addr == "" && host != "" {
		if port == "" {
			port = "587"
		}
		c.SMTP.Addr = net.JoinHostPort(host, port)
	}
	if c.SMTP.User == "" {
		c.SMTP.User = user
	}
	c.Warnings = append(c.Warnings, fmt.Sprintf("%s, %s and %s are deprecated and will be removed in the next release: set %s=host:port and %s instead",
		EnvSMTPHostOld, EnvSMTPPortOld, EnvSMTPUsernameOld, EnvSMTPAddr, EnvSMTPUser))
	return nil
}

// Warn writes the warnings, one a line.
func (c Config) Warn(w io.Writer) {
	for _, m := range c.Warnings {
		fmt.Fprintln(w, "lifeboat: warning:", m)
	}
}

// stateDir is $LIFEBOAT_STATE, else $XDG_STATE_HOME/lifeboat, else
// ~/.local/state/lifeboat.
func stateDir(getenv func(string) string) string {
	if d := getenv(EnvState); d != "" {
		return d
	}
	if d := getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "lifeboat")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "state", "lifeboat")
	}
	return filepath.Join(os.TempDir(), "lifeboat-state")
}
