package hetzner

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"

	"golang.org/x/crypto/ssh"

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
}

var safeValue = regexp.MustCompile(`^[A-Za-z0-9@._+-]*$`)

// renderCloudInit renders the cloud-init for the group's software. The
// output depends only on its inputs, so re-running up never changes a
// server's user data (which would replace the server).
func renderCloudInit(cfg Config, arch string, keys Keys) (string, error) {
	g := cfg.Group
	software := g.Destination.SoftwareOrDefault()
	for what, v := range map[string]string{"domain": g.Destination.Domain, "lead email": g.Lead.Email, "admin username": cfg.AdminUser} {
		if !safeValue.MatchString(v) {
			return "", fmt.Errorf("%w: %s %q has characters that are not allowed", ErrConfig, what, v)
		}
	}
	d := cloudInit{
		Group: g.Name, Hostname: "lifeboat-" + g.Name, Domain: g.Destination.Domain,
		Arch: "amd64", LeadEmail: g.Lead.Email, AdminUsername: cfg.AdminUser, AdminEmail: g.Lead.Email,
		SMTP: cfg.SMTP, HostKeyPrivate: strings.TrimSpace(keys.HostPEM), HostKeyPublic: keys.HostPub,
		RegistrationLimit: max(100, 2*len(g.Members)), Volume: cfg.VolumeSize > 0, BackupDays: BackupDays,
		GoToSocialVersion: GoToSocialVersion, MastodonVersion: MastodonVersion,
	}
	if arch == "arm" {
		d.Arch = "arm64"
	}
	name := "cloud-init/" + software + ".yaml.tmpl"
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
	if err := t.Execute(&b, d); err != nil {
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
	if v.AdminCIDRs == nil {
		v.AdminCIDRs = []string{}
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
