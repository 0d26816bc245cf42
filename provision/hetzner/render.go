package hetzner

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"

	"github.com/lifeboat-social/lifeboat/internal/capped"
	"github.com/lifeboat-social/lifeboat/internal/config"

	"golang.org/x/crypto/ssh"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/atomicfile"
	"github.com/lifeboat-social/lifeboat/templates"
)

// Keys are the group's SSH keys, made once and kept in Dir/ssh: the client
// key Lifeboat logs in with, and the server's host key, which cloud-init
// installs so the client can pin it before the first connection.
type Keys struct {
	Client     ssh.Signer
	ClientPub  string // authorized_keys line
	HostPEM    string // OpenSSH private key, for cloud-init
	HostPub    string // authorized_keys form of the host key
	HostKey    ssh.PublicKey
	ClientFile string // path of the client's private key
}

// loadKeys reads the keys from dir/ssh, making them on first use.
func loadKeys(dir string) (Keys, error) {
	sshDir := filepath.Join(dir, "ssh")
	if err := os.MkdirAll(sshDir, 0o700); err != nil {
		return Keys{}, fmt.Errorf("create ssh dir: %w", err)
	}
	client, clientPEM, err := keyFile(filepath.Join(sshDir, "id_ed25519"), "lifeboat")
	if err != nil {
		return Keys{}, err
	}
	_ = clientPEM
	host, hostPEM, err := keyFile(filepath.Join(sshDir, "host_ed25519"), "host")
	if err != nil {
		return Keys{}, err
	}
	return Keys{
		Client:     client,
		ClientPub:  strings.TrimSpace(string(ssh.MarshalAuthorizedKey(client.PublicKey()))),
		HostPEM:    hostPEM,
		HostPub:    strings.TrimSpace(string(ssh.MarshalAuthorizedKey(host.PublicKey()))),
		HostKey:    host.PublicKey(),
		ClientFile: filepath.Join(sshDir, "id_ed25519"),
	}, nil
}

// keyFile reads an OpenSSH ed25519 private key, creating it (0600) and its
// .pub when missing.
func keyFile(path, comment string) (ssh.Signer, string, error) {
	if b, err := os.ReadFile(path); err == nil {
		s, err := ssh.ParsePrivateKey(b)
		if err != nil {
			return nil, "", fmt.Errorf("read key %s: %w", path, err)
		}
		return s, string(b), nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("read key: %w", err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, "", fmt.Errorf("generate key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return nil, "", fmt.Errorf("encode key: %w", err)
	}
	pemText := pem.EncodeToMemory(block)
	if err := atomicfile.Write(path, pemText, 0o600); err != nil {
		return nil, "", err
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, "", err
	}
	if err := os.WriteFile(path+".pub", ssh.MarshalAuthorizedKey(s.PublicKey()), 0o644); err != nil {
		return nil, "", err
	}
	return s, string(pemText), nil
}

// cloudInit is what the cloud-init templates see.
type cloudInit struct {
	Group, Hostname, Domain       string
	Arch                          string // amd64 | arm64 (release artefact names)
	LeadEmail                     string
	AdminUsername, AdminEmail     string
	SMTP                          SMTP
	HostKeyPrivate, HostKeyPublic string
	RegistrationLimit             int
	Volume                        bool
	BackupDays                    int
	GoToSocialVersion             string
	MastodonVersion               string
	// The lead's boot options (see BootOptions); empty: the defaults.
	GoToSocialFrom  string // base URL of the GoToSocial release files
	TLSCert, TLSKey string // PEM; GoToSocial serves them instead of Let's Encrypt
	TrustCA         string // PEM certificates the server trusts besides Debian's

	// GoToSocial's install script (gotosocial-install.sh.tmpl): the
	// first boot of a server of its own, or run over SSH on the campaign
	// home, where GoToSocial listens on loopback (Proxied, ProxyPort)
	// behind the home's Caddy.
	Install   string // the rendered script, for the cloud-init
	Ready     string // the file the script makes when it has finished
	Proxied   bool
	ProxyPort int
	// HomeVolume is where the campaign home's volume is mounted, when
	// GoToSocial shares the home: its data goes there too.
	HomeVolume string
}

// BootOptions are the first boot's choices a lead may make beyond the
// group file, for GoToSocial servers. Each one left empty keeps the
// default: the release from GoToSocial's GitHub releases, a certificate
// from Let's Encrypt, Debian's trusted certificates.
type BootOptions struct {
	// GoToSocialFrom is an https URL of a directory holding the release
	// files as GoToSocial publishes them, gotosocial_VERSION_linux_ARCH.tar.gz
	// and checksums.txt: a mirror the lead runs or trusts.
	GoToSocialFrom string
	// TLSCertFile and TLSKeyFile are a PEM certificate chain for the
	// group's domain and its private key, which GoToSocial serves instead
	// of asking Let's Encrypt (a certificate the lead already has, or
	// where port 80 cannot be reached). The key travels in the server's
	// user data, like the SMTP password.
	TLSCertFile, TLSKeyFile string
	// TrustCAFile holds PEM CA certificates the server trusts besides
	// Debian's: the issuer of a mirror's or an SMTP relay's certificate.
	TrustCAFile string
}

// Environment variables for BootOptions, named in its messages.
const (
	EnvGoToSocialFrom = config.EnvGoToSocialFrom
	EnvTLSCertFile    = config.EnvTLSCertFile
	EnvTLSKeyFile     = config.EnvTLSKeyFile
	EnvTrustCAFile    = config.EnvTrustCAFile
)

// maxPEMFile caps each certificate or key file: a chain of a few
// certificates is a few kilobytes.
const maxPEMFile = 64 << 10

// set reports whether any option is given.
func (b BootOptions) set() bool { return b != (BootOptions{}) }

// apply checks the options and puts them into the template's data. Every
// problem names the option (or its file) and what to do.
func (b BootOptions) apply(d *cloudInit, domain string) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, a...))
	}
	if u := b.GoToSocialFrom; u != "" {
		if !httpsURL(u) {
			return bad("%s %q must be an https URL of the directory holding the GoToSocial release files (no query, no spaces or quotes)", EnvGoToSocialFrom, u)
		}
		d.GoToSocialFrom = strings.TrimRight(u, "/")
	}
	if (b.TLSCertFile == "") != (b.TLSKeyFile == "") {
		return bad("%s and %s go together: set both, or neither for Let's Encrypt", EnvTLSCertFile, EnvTLSKeyFile)
	}
	if b.TLSCertFile != "" {
		chain, err := readPEMFile(b.TLSCertFile, EnvTLSCertFile)
		if err != nil {
			return err
		}
		key, err := readPEMFile(b.TLSKeyFile, EnvTLSKeyFile)
		if err != nil {
			return err
		}
		pair, err := tls.X509KeyPair(chain, key)
		if err != nil {
			return bad("%s and %s are not a certificate and its key: %v", b.TLSCertFile, b.TLSKeyFile, err)
		}
		leaf, err := x509.ParseCertificate(pair.Certificate[0])
		if err != nil {
			return bad("%s: %v", b.TLSCertFile, err)
		}
		if err := leaf.VerifyHostname(domain); err != nil {
			return bad("%s is not for the group's domain %s: %v", b.TLSCertFile, domain, err)
		}
		d.TLSCert, d.TLSKey = strings.TrimSpace(string(chain)), strings.TrimSpace(string(key))
	}
	if b.TrustCAFile != "" {
		cas, err := readTrustCA(b.TrustCAFile)
		if err != nil {
			return err
		}
		d.TrustCA = cas
	}
	return nil
}

// readTrustCA reads $LIFEBOAT_TRUST_CA_FILE: PEM CA certificates, each
// checked, returned trimmed for the cloud-init's ca_certs.
func readTrustCA(file string) (string, error) {
	cas, err := readPEMFile(file, EnvTrustCAFile)
	if err != nil {
		return "", err
	}
	n := 0
	for rest := cas; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if _, err := x509.ParseCertificate(block.Bytes); block.Type != "CERTIFICATE" || err != nil {
			return "", fmt.Errorf("%w: %s: block %d is not a certificate (%s)", ErrConfig, file, n+1, block.Type)
		}
		n++
	}
	if n == 0 {
		return "", fmt.Errorf("%w: %s holds no PEM certificate", ErrConfig, file)
	}
	return strings.TrimSpace(string(cas)), nil
}

// httpsURL reports whether u is an https URL that may stand in a
// first-boot script: no query, fragment, spaces or quotes.
func httpsURL(u string) bool {
	p, err := url.Parse(u)
	return err == nil && p.Scheme == "https" && p.Host != "" && p.RawQuery == "" && p.Fragment == "" && safeURL.MatchString(u)
}

// safeURL is what may stand in the first-boot script's release URL.
var safeURL = regexp.MustCompile(`^[A-Za-z0-9:/._~%+@-]+$`)

// readPEMFile reads a certificate or key file named by the option env,
// refusing one larger than maxPEMFile or with no PEM in it.
func readPEMFile(path, env string) ([]byte, error) {
	b, err := capped.ReadFile(path, maxPEMFile)
	if tl := (*capped.TooLargeError)(nil); errors.As(err, &tl) {
		return nil, fmt.Errorf("%w: %s: %v; a certificate file is a few KiB", ErrConfig, env, err)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrConfig, env, err)
	}
	if block, _ := pem.Decode(b); block == nil {
		return nil, fmt.Errorf("%w: %s: %s is not PEM (-----BEGIN ...-----)", ErrConfig, env, path)
	}
	return b, nil
}

var safeValue = regexp.MustCompile(`^[A-Za-z0-9@._+-]*$`)

// AdminEmail is the new server's admin address: the lead's, tagged
// "+lifeboat-admin", so that mail for the admin still reaches the lead.
// It must differ from the lead's own: the lead usually joins as a member
// too, and GoToSocial and Mastodon take each address for one account only.
func AdminEmail(g *groups.Group) string {
	at := strings.LastIndex(g.Lead.Email, "@")
	if at < 0 {
		return g.Lead.Email // refused by the checks that follow
	}
	return g.Lead.Email[:at] + "+lifeboat-admin" + g.Lead.Email[at:]
}

// renderCloudInit renders the cloud-init for the group's software. The
// output depends only on its inputs, so re-running up never changes a
// server's user data (which would replace the server).
func renderCloudInit(cfg Config, arch string, keys Keys) (string, error) {
	d, err := initData(cfg, arch)
	if err != nil {
		return "", err
	}
	d.HostKeyPrivate, d.HostKeyPublic = strings.TrimSpace(keys.HostPEM), keys.HostPub
	software := cfg.Group.Destination.SoftwareOrDefault()
	if software == groups.SoftwareGoToSocial {
		if d.Install, err = renderTemplate(gotosocialInstall, d); err != nil {
			return "", err
		}
		d.Install = strings.TrimSpace(d.Install)
	}
	return renderTemplate("cloud-init/"+software+".yaml.tmpl", d)
}

// gotosocialInstall is the one script that installs GoToSocial, on a
// server of its own or on the campaign home.
const gotosocialInstall = "cloud-init/gotosocial-install.sh.tmpl"

// initData is what the templates see for the group's server, its keys
// aside: checked values, the software's versions, the boot options.
func initData(cfg Config, arch string) (cloudInit, error) {
	g := cfg.Group
	software := g.Destination.SoftwareOrDefault()
	for what, v := range map[string]string{"domain": g.Destination.Domain, "lead email": g.Lead.Email, "admin username": cfg.AdminUser} {
		if !safeValue.MatchString(v) {
			return cloudInit{}, fmt.Errorf("%w: %s %q has characters that are not allowed", ErrConfig, what, v)
		}
	}
	d := cloudInit{
		Group: g.Name, Hostname: "lifeboat-" + g.Name, Domain: g.Destination.Domain,
		Arch: "amd64", LeadEmail: g.Lead.Email, AdminUsername: cfg.AdminUser, AdminEmail: AdminEmail(g),
		SMTP: cfg.SMTP, RegistrationLimit: max(100, 2*len(g.Members)), Volume: cfg.VolumeSize > 0, BackupDays: BackupDays,
		GoToSocialVersion: GoToSocialVersion, MastodonVersion: MastodonVersion, Ready: cfg.Layout.Ready,
	}
	if arch == "arm" {
		d.Arch = "arm64"
	}
	if cfg.Boot.set() && software != groups.SoftwareGoToSocial {
		return d, fmt.Errorf("%w: %s, %s, %s and %s are for GoToSocial servers; this group's server runs %s", ErrConfig,
			EnvGoToSocialFrom, EnvTLSCertFile, EnvTLSKeyFile, EnvTrustCAFile, software)
	}
	if err := cfg.Boot.apply(&d, g.Destination.Domain); err != nil {
		return d, err
	}
	return d, nil
}

// renderTemplate renders one of the embedded cloud-init templates.
func renderTemplate(name string, data any) (string, error) {
	src, err := fs.ReadFile(templates.Hetzner, name)
	if err != nil {
		return "", fmt.Errorf("read template: %w", err)
	}
	t, err := template.New(name).Option("missingkey=error").Funcs(template.FuncMap{
		"q":      quote,
		"sh":     shellQuote,
		"indent": indent,
	}).Parse(string(src))
	if err != nil {
		return "", fmt.Errorf("parse %s: %w", name, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("render %s: %w", name, err)
	}
	return b.String(), nil
}

// quote makes a YAML double-quoted scalar (JSON strings are valid YAML).
func quote(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	return strings.TrimSpace(b.String())
}

// shellQuote makes a single-quoted shell word.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func indent(n int, s string) string {
	pad := strings.Repeat(" ", n)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = pad + l
		}
	}
	return strings.Join(lines, "\n")
}

// vars are the Terraform module's variables.
type vars struct {
	Name         string            `json:"name"`
	Domain       string            `json:"domain"`
	Location     string            `json:"location"`
	ServerType   string            `json:"server_type"`
	Image        string            `json:"image"`
	SSHPublicKey string            `json:"ssh_public_key"`
	AdminCIDRs   []string          `json:"admin_cidrs"`
	UserData     string            `json:"user_data"`
	VolumeSize   int               `json:"volume_size"`
	Backups      bool              `json:"backups"`
	Labels       map[string]string `json:"labels"`
	PollInterval string            `json:"poll_interval"`
}

func renderVars(cfg Config, p Plan, keys Keys, userData string) ([]byte, error) {
	g := cfg.Group
	v := vars{
		Name: g.Name, Domain: g.Destination.Domain, Location: p.Location,
		ServerType: p.ServerType.Name, Image: cfg.Image, SSHPublicKey: keys.ClientPub, AdminCIDRs: cfg.SSHFrom,
		UserData: userData, VolumeSize: cfg.VolumeSize, Backups: !cfg.NoBackups,
		Labels: map[string]string{"lifeboat-software": g.Destination.SoftwareOrDefault()}, PollInterval: cfg.PollInterval,
	}
	return marshalVars(v)
}

// marshalVars writes the variables file's JSON.
func marshalVars(v vars) ([]byte, error) {
	if v.AdminCIDRs == nil {
		v.AdminCIDRs = []string{}
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
