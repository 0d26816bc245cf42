package hetzner

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"

	"github.com/lifeboat-social/lifeboat/deploy"
	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/atomicfile"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/internal/store"
)

// A campaign home is the small server that runs lifeboat serve for a
// group while it gathers: its landing, join and pledge pages, reachable by
// strangers over HTTPS for weeks, long before a destination exists. It is
// made by the same Terraform module as a new destination (server, SSH key,
// firewall, primary IPs, and here always a volume), with its own
// cloud-init (cloud-init/home.yaml.tmpl): lifeboat serve as a systemd
// service (deploy.ServeUnit), Caddy in front getting the certificate over
// ACME, and the state on the volume.

// HomeConfig is everything a campaign home needs. Token, SMTP.Password
// and the store key the home is given are secret: they go to the
// provider's environment and to root-only files in the user data, never
// to argv or a log.
type HomeConfig struct {
	Group *groups.Group
	// GroupFile is the group file as the lead keeps it: the server's copy.
	GroupFile []byte
	// Dir is the home's state directory (0700): Terraform state, the
	// variables, the SSH keys, the store key the server is given.
	Dir string
	// DestinationDir is the group's new-destination state directory, read
	// only to price the destination beside the home (Together).
	DestinationDir string

	Token, Endpoint           string
	Terraform, ProviderMirror string
	PollInterval              string

	Domain   string // the campaign's domain, e.g. join.example.org
	Location string // default: the group's destination location, else fsn1
	VolumeGB int    // the state's volume; default DefaultHomeVolumeGB
	// ServerType is the lead's choice of type (a rescale, to hold the
	// group's server too); empty keeps the running server's, or picks
	// the smallest the location recommends.
	ServerType string
	Image      string   // default debian-12
	SSHFrom    []string // CIDRs that may reach SSH

	SMTP HomeSMTP
	Boot HomeBoot
	// Version is this Lifeboat's release, installed on the server from
	// the project's releases unless Boot.LifeboatFrom names a mirror.
	Version string

	// NoWait stops Up after apply; Wait tunes the waits after it.
	NoWait bool
	Wait   Waits

	// ConfirmReplace is asked, once Up has shown what will happen (through
	// progress), before it applies a plan that replaces or destroys the
	// home's server (another location, say); an error refuses, and so
	// does a nil ConfirmReplace. With the group's server on the home, Up
	// refuses without asking.
	ConfirmReplace func() error
}

// HomeSMTP is the relay lifeboat serve mails through (the settings of
// lifeboat serve's --smtp-* flags). Password is secret.
type HomeSMTP struct {
	Addr, Security, User, From string
	Password                   string `json:"-"`
}

// HomeBoot are the first boot's choices beyond the defaults, each empty
// for the default.
type HomeBoot struct {
	// LifeboatFrom is an https URL of a directory holding
	// lifeboat_linux_ARCH.tar.gz and checksums.txt; default: the release
	// of Version on GitHub.
	LifeboatFrom string
	// ACMEDirectory is the ACME server Caddy gets the certificate from;
	// default: Let's Encrypt.
	ACMEDirectory string
	// TrustCAFile holds PEM CA certificates the server trusts besides
	// Debian's (an ACME server's or a mirror's issuer).
	TrustCAFile string
}

// Environment variables for HomeBoot, named in its messages.
const (
	EnvLifeboatFrom  = "LIFEBOAT_RELEASE_FROM"
	EnvACMEDirectory = "LIFEBOAT_ACME_DIRECTORY"
)

// Home defaults.
const (
	DefaultHomeVolumeGB = 10
	DefaultLocation     = "fsn1"
	// releaseURL is where a released Lifeboat's files are published.
	releaseURL = "https://github.com/lifeboat-social/lifeboat/releases/download/"
	// homeSecretKey is the store key the home's lifeboat serve seals its
	// secrets with (0600), kept so that re-rendering changes nothing.
	homeSecretKey = "serve-secret.key"
	// maxUserData is Hetzner's limit on a server's user data.
	maxUserData = 32 << 10
	// maxGroupFile caps the group file copied into the user data (base64,
	// a third larger), leaving room for the rest.
	maxGroupFile = 16 << 10
)

// HomePlan is what the home will be and cost each month, before anything
// is created.
type HomePlan struct {
	Group      string     `json:"group"`
	Domain     string     `json:"domain"`
	Location   string     `json:"location"`
	ServerType ServerType `json:"server_type"`
	TypeFrom   string     `json:"server_type_from"` // TypeSmallest, TypeRunning or TypeAsked
	Image      string     `json:"image"`
	VolumeGB   int        `json:"volume_gb"`
	SSHFrom    []string   `json:"ssh_from,omitempty"`
	Members    int        `json:"members"`
	Cost       Cost       `json:"cost"`
	Together   *Together  `json:"together,omitempty"`
	Resources  []Change   `json:"resources,omitempty"`
	Warnings   []string   `json:"warnings,omitempty"`
}

// Together prices the home beside the group's new destination: on two
// servers, or on one, the home's machine holding GoToSocial too (resized
// when it is too small: OneServerType), so the lead pays for one machine.
type Together struct {
	DestinationType string  `json:"destination_type"`
	Destination     float64 `json:"destination_monthly"` // the destination alone, as plan prices it
	Separate        float64 `json:"separate_monthly"`    // home + destination
	OneServerType   string  `json:"one_server_type"`
	Resize          bool    `json:"resize"` // the home's type is too small for both
	OneServer       float64 `json:"one_server_monthly"`
	Saving          float64 `json:"saving_monthly"`
}

// Home provisions, reports and destroys a group's campaign home.
type Home struct {
	cfg      HomeConfig
	api      api
	typeFrom string
}

// NewHome returns the home for cfg, defaults filled in.
func NewHome(cfg HomeConfig) *Home {
	if cfg.Location == "" && cfg.Group != nil {
		cfg.Location = cfg.Group.Destination.Location
	}
	if cfg.Location == "" {
		cfg.Location = DefaultLocation
	}
	if cfg.VolumeGB == 0 {
		cfg.VolumeGB = DefaultHomeVolumeGB
	}
	if cfg.Image == "" {
		cfg.Image = DefaultImage
	}
	if cfg.PollInterval == "" {
		cfg.PollInterval = DefaultPollInterval
	}
	return &Home{cfg: cfg}
}

func (h *Home) client() api {
	if h.api == nil {
		h.api = newAPI(h.config())
	}
	return h.api
}

// config is the home as the Terraform runner and the API client see it.
func (h *Home) config() Config {
	c := h.cfg
	return Config{Group: c.Group, Dir: c.Dir, Token: c.Token, Endpoint: c.Endpoint, Terraform: c.Terraform,
		ProviderMirror: c.ProviderMirror, SSHFrom: c.SSHFrom, Image: c.Image, VolumeSize: c.VolumeGB,
		NoBackups: true, PollInterval: c.PollInterval}
}

// name is the module's name for the home: its resources are
// lifeboat-GROUP-home…, apart from a destination's lifeboat-GROUP….
func (h *Home) name() string { return h.cfg.Group.Name + "-home" }

// validate checks what pre-flight cannot ask the API about.
func (h *Home) validate(needSSH bool) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, a...))
	}
	c := h.cfg
	switch {
	case c.Group == nil:
		return bad("no group")
	case c.Domain == "":
		return bad("no domain for the campaign's pages: pass --domain, e.g. --domain join.%s.example", c.Group.Name)
	case !domainName.MatchString(c.Domain):
		return bad("domain %q is not a domain name (lower-case letters, digits, hyphens and dots, e.g. join.example.org)", c.Domain)
	case c.Dir == "":
		return bad("no state directory")
	case len(c.GroupFile) == 0:
		return bad("the group file is empty")
	case len(c.GroupFile) > maxGroupFile:
		return bad("the group file is %d bytes; the server's first-boot data holds at most %d KiB of it (members who join from the page are kept in the store, not the file)", len(c.GroupFile), maxGroupFile>>10)
	case c.Token == "":
		return bad("no Hetzner Cloud token: set HCLOUD_TOKEN or HCLOUD_TOKEN_FILE (a file only you can read)")
	case c.VolumeGB < 10 || c.VolumeGB > 10240:
		return bad("volume size %d GB: must be 10..10240", c.VolumeGB)
	case !safeValue.MatchString(c.Group.Lead.Email):
		return bad("lead email %q has characters that are not allowed", c.Group.Lead.Email)
	case strings.ContainsFunc(c.SMTP.Addr+c.SMTP.Security+c.SMTP.User+c.SMTP.From+c.SMTP.Password, unicode.IsControl):
		return bad("SMTP settings must not contain line breaks or other control characters")
	case needSSH && len(c.SSHFrom) == 0:
		return bad("no address for SSH: pass --ssh-from with your public IP (e.g. 203.0.113.7 or 2001:db8::/64); port 22 is opened to it only")
	}
	for _, s := range c.SSHFrom {
		if _, _, err := net.ParseCIDR(s); err != nil {
			return bad("--ssh-from %q is not a CIDR network", s)
		}
	}
	for env, u := range map[string]string{EnvLifeboatFrom: c.Boot.LifeboatFrom, EnvACMEDirectory: c.Boot.ACMEDirectory} {
		if u != "" && !httpsURL(u) {
			return bad("%s %q must be an https URL (no query, no spaces or quotes)", env, u)
		}
	}
	if c.Boot.LifeboatFrom == "" && !releaseVersion(c.Version) {
		return bad("this lifeboat (%s) is not a release, so there is no release for the server to install: set %s to an https directory holding lifeboat_linux_amd64.tar.gz (or arm64) and checksums.txt", c.Version, EnvLifeboatFrom)
	}
	return nil
}

// domainName is a DNS name of two labels or more, as it stands in the
// Caddyfile and the pages' base URL.
var domainName = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`)

// releaseVersion reports whether v names a published release (v1.2.3).
func releaseVersion(v string) bool {
	return strings.HasPrefix(v, "v") && safeValue.MatchString(v) && !strings.Contains(v, "devel") && !strings.Contains(v, "-0.") // pseudo-versions
}

// Preflight checks the token and the location, picks the smallest type
// the location recommends and can deliver, checks the image and prices
// the home; with a new destination on Hetzner in the group file, it also
// prices the two together.
func (h *Home) preflight(ctx context.Context) (HomePlan, error) {
	c := h.cfg
	a := h.client()
	p := HomePlan{Group: c.Group.Name, Domain: c.Domain, Location: c.Location, Image: c.Image, VolumeGB: c.VolumeGB,
		SSHFrom: c.SSHFrom, Members: len(c.Group.Members)}
	if err := checkLocation(ctx, a, c.Location); err != nil {
		return p, err
	}
	st, err := h.serverType(ctx, a)
	if err != nil {
		return p, err
	}
	p.TypeFrom = h.typeFrom
	p.ServerType = ServerType{Name: st.Name, Cores: st.Cores, MemoryGB: float64(st.Memory), DiskGB: st.Disk, Architecture: string(st.Architecture)}
	im, err := a.Image(ctx, c.Image, st.Architecture)
	if err != nil {
		return p, apiErr("get image", err)
	}
	if im == nil {
		return p, fmt.Errorf("%w: %q for %s servers", ErrImage, c.Image, st.Architecture)
	}
	pr, err := a.Pricing(ctx)
	if err != nil {
		return p, apiErr("get prices", err)
	}
	if p.Cost, err = price(pr, st, c.Location, false, c.VolumeGB, p.Members); err != nil {
		return p, err
	}
	p.Together, err = h.together(ctx, pr, p)
	if err != nil {
		p.Warnings = append(p.Warnings, "the group's new server could not be priced beside the home: "+err.Error())
	}
	if len(c.SSHFrom) == 0 {
		p.Warnings = append(p.Warnings, "no --ssh-from address: home up needs your public IP to open SSH to you only")
	}
	if c.SMTP.Addr == "" {
		p.Warnings = append(p.Warnings, "no SMTP relay (LIFEBOAT_SMTP_ADDR): the pages cannot mail confirmations or invites; joins wait for your approval")
	}
	return p, nil
}

// together prices the group's new destination beside the home, when the
// group file asks for a GoToSocial server on Hetzner: nil otherwise
// (Mastodon needs a machine of its own).
func (h *Home) together(ctx context.Context, pr hcloud.Pricing, home HomePlan) (*Together, error) {
	g := h.cfg.Group
	d := g.Destination
	if d.Type != groups.DestNew || (d.Cloud != "" && d.Cloud != groups.CloudHetzner) || d.ServerType == "" || d.Location == "" ||
		d.SoftwareOrDefault() != groups.SoftwareGoToSocial {
		return nil, nil
	}
	dcfg := Config{Group: g, Dir: h.cfg.DestinationDir, Image: h.cfg.Image}
	dcfg.setDefaults()
	a := h.client()
	dest, err := preflight(ctx, dcfg, a)
	if err != nil {
		return nil, err
	}
	fits, _, resize, err := holdsBoth(ctx, a, home.Location, home.ServerType, people(g))
	if err != nil {
		return nil, err
	}
	name := home.ServerType.Name
	if !fits {
		if resize == nil {
			return nil, fmt.Errorf("no server type in %s holds GoToSocial for %d people beside the pages", home.Location, people(g))
		}
		name = resize.Name
	}
	st, err := a.ServerType(ctx, name)
	if err != nil || st == nil {
		return nil, fmt.Errorf("get server type %s: %v", name, err)
	}
	one, err := price(pr, st, home.Location, false, home.VolumeGB, home.Members)
	if err != nil {
		return nil, err
	}
	t := &Together{DestinationType: dest.ServerType.Name, Destination: dest.Cost.Monthly,
		Separate: cents(home.Cost.Monthly + dest.Cost.Monthly), OneServerType: name, Resize: !fits, OneServer: one.Monthly}
	t.Saving = cents(t.Separate - t.OneServer)
	return t, nil
}

// Where the home's server type comes from.
const (
	TypeSmallest = "smallest" // the smallest the location recommends and can deliver now
	TypeRunning  = "running"  // the type the home's server has (kept: a re-run never rescales it)
	TypeAsked    = "asked"    // --server-type: the lead's choice, e.g. to hold the group's server too
)

// serverType is the home's type: the one asked for, else the one its
// server runs with, else the smallest the location recommends now.
func (h *Home) serverType(ctx context.Context, a api) (*hcloud.ServerType, error) {
	c := h.cfg
	name := c.ServerType
	h.typeFrom = TypeAsked
	if name == "" && hasServer(c.Dir) {
		if m, err := readHomeMachine(c.Dir); err == nil {
			name, h.typeFrom = m.ServerType, TypeRunning
		}
	}
	if name == "" {
		offers, err := recommended(ctx, a, c.Location, 0)
		if err != nil {
			return nil, err
		}
		if len(offers) == 0 {
			return nil, fmt.Errorf("%w: Hetzner offers no server type that can be ordered in %s now; try another --location", ErrServerType, c.Location)
		}
		name, h.typeFrom = offers[0].Name, TypeSmallest
	}
	st, err := a.ServerType(ctx, name)
	if err != nil {
		return nil, apiErr("get server type", err)
	}
	if st == nil {
		return nil, typeError(ctx, a, name, c.Location, "does not exist", 0)
	}
	if h.typeFrom == TypeAsked {
		if ok, why := orderable(st, c.Location, time.Now()); !ok {
			return nil, typeError(ctx, a, name, c.Location, why, 0)
		}
	}
	return st, nil
}

// Summary is the cost on one line: "5.27 EUR a month incl. 19% VAT
// (server cx23 4.15, primary IPv4 0.60, …)", for progress lines that
// must show the price before anything is created.
func (c Cost) Summary() string {
	var parts []string
	for _, l := range c.Lines {
		if l.Monthly != 0 {
			parts = append(parts, fmt.Sprintf("%s %.2f", l.Item, l.Monthly))
		}
	}
	return fmt.Sprintf("%.2f %s a month incl. %s%% VAT (%s)", c.Monthly, c.Currency, c.VATRate, strings.Join(parts, ", "))
}

// homeInit is what cloud-init/home.yaml.tmpl sees.
type homeInit struct {
	Group, Hostname, Domain, LeadEmail string
	Arch                               string
	HostKeyPrivate, HostKeyPublic      string
	TrustCA                            string
	LifeboatFrom, ACMEDirectory        string
	GroupFile                          string // base64
	ServeEnv                           string
	ServeUnit, AdminScript             string
	SecretKey, SMTPPassword            string // base64; SMTPPassword empty without one
}

// renderHome renders the home's cloud-init. Like renderCloudInit its
// output depends only on its inputs (the store key is kept in Dir).
func (h *Home) renderHome(arch string, keys Keys, secretKey string) (string, error) {
	c := h.cfg
	d := homeInit{
		Group: c.Group.Name, Hostname: "lifeboat-" + h.name(), Domain: c.Domain, LeadEmail: c.Group.Lead.Email,
		Arch: "amd64", HostKeyPrivate: strings.TrimSpace(keys.HostPEM), HostKeyPublic: keys.HostPub,
		LifeboatFrom: strings.TrimRight(c.Boot.LifeboatFrom, "/"), ACMEDirectory: c.Boot.ACMEDirectory,
		GroupFile: base64.StdEncoding.EncodeToString(c.GroupFile), ServeUnit: strings.TrimSpace(deploy.ServeUnit),
		AdminScript: strings.TrimSpace(deploy.AdminScript),
		SecretKey:   base64.StdEncoding.EncodeToString([]byte(secretKey + "\n")),
	}
	if arch == string(hcloud.ArchitectureARM) {
		d.Arch = "arm64"
	}
	if d.LifeboatFrom == "" {
		d.LifeboatFrom = releaseURL + c.Version
	}
	if c.Boot.TrustCAFile != "" {
		cas, err := readTrustCA(c.Boot.TrustCAFile)
		if err != nil {
			return "", err
		}
		d.TrustCA = cas
	}
	env := []string{"# lifeboat serve's settings; no secret here (those are credentials).", "LIFEBOAT_BASE_URL=https://" + c.Domain}
	for k, v := range map[string]string{"LIFEBOAT_SMTP_ADDR": c.SMTP.Addr, "LIFEBOAT_SMTP_SECURITY": c.SMTP.Security, "LIFEBOAT_SMTP_USER": c.SMTP.User, "LIFEBOAT_SMTP_FROM": c.SMTP.From} {
		if v != "" {
			env = append(env, k+"="+quote(v))
		}
	}
	if c.SMTP.Password != "" {
		d.SMTPPassword = base64.StdEncoding.EncodeToString([]byte(c.SMTP.Password + "\n"))
		env = append(env, "LIFEBOAT_SMTP_PASSWORD_FILE=/run/credentials/"+deploy.ServeUnitName+"/lifeboat_smtp-password")
	}
	// Map order varies: sort the SMTP lines so the output is stable.
	slices.Sort(env[2:])
	d.ServeEnv = strings.Join(env, "\n")
	ud, err := renderTemplate("cloud-init/home.yaml.tmpl", d)
	if err == nil && len(ud) > maxUserData {
		return "", fmt.Errorf("%w: the server's first-boot data is %d KiB, more than the %d KiB Hetzner takes: shorten the group file or the trusted CA file", ErrConfig, len(ud)>>10, maxUserData>>10)
	}
	return ud, err
}

// serveKey returns the store key the home's lifeboat serve is given,
// making it (0600) on first use.
func (h *Home) serveKey() (string, error) {
	path := filepath.Join(h.cfg.Dir, homeSecretKey)
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read the home's store key: %w", err)
	}
	k := store.NewKey()
	if err := atomicfile.Write(path, []byte(k+"\n"), 0o600); err != nil {
		return "", err
	}
	return k, nil
}

// prepare runs pre-flight, makes the keys, renders the cloud-init and the
// variables, and readies Terraform.
func (h *Home) prepare(ctx context.Context, emit progress.Func, needSSH bool) (HomePlan, Keys, *runner, error) {
	if len(h.cfg.SSHFrom) == 0 {
		h.cfg.SSHFrom = previousSSHFrom(filepath.Join(h.cfg.Dir, varsFile))
	}
	if err := h.validate(needSSH); err != nil {
		return HomePlan{}, Keys{}, nil, err
	}
	emit.Emit(progress.Event{Kind: progress.StepStarted, Step: "preflight", Message: "checking the token, location, server types, image and prices"})
	plan, err := h.preflight(ctx)
	if err != nil {
		emit.Emit(progress.Event{Kind: progress.Failed, Step: "preflight", Message: err.Error(), Err: err})
		return plan, Keys{}, nil, err
	}
	emit.Emit(progress.Event{Kind: progress.Log, Step: "preflight", Message: "the home costs " + plan.Cost.Summary()})
	emit.Emit(progress.Event{Kind: progress.StepDone, Step: "preflight"})
	if err := os.MkdirAll(h.cfg.Dir, 0o700); err != nil {
		return plan, Keys{}, nil, fmt.Errorf("create state dir: %w", err)
	}
	keys, err := loadKeys(h.cfg.Dir)
	if err != nil {
		return plan, Keys{}, nil, err
	}
	key, err := h.serveKey()
	if err != nil {
		return plan, keys, nil, err
	}
	ud, err := h.renderHome(plan.ServerType.Architecture, keys, key)
	if err != nil {
		return plan, keys, nil, err
	}
	cidrs := h.cfg.SSHFrom
	if len(cidrs) == 0 {
		cidrs = []string{placeholderSSHFrom} // plan only; up refuses to run without one
	}
	vb, err := marshalVars(vars{
		Name: h.name(), Domain: h.cfg.Domain, Location: h.cfg.Location, ServerType: plan.ServerType.Name, Image: h.cfg.Image,
		SSHPublicKey: keys.ClientPub, AdminCIDRs: cidrs, UserData: ud, VolumeSize: h.cfg.VolumeGB, Backups: false,
		Labels: map[string]string{"lifeboat-role": "home"}, PollInterval: h.cfg.PollInterval,
	})
	if err != nil {
		return plan, keys, nil, err
	}
	r, err := newRunner(ctx, h.config(), emit)
	if err != nil {
		return plan, keys, nil, err
	}
	if err := r.start(ctx, emit, vb); err != nil {
		return plan, keys, nil, err
	}
	return plan, keys, r, nil
}

// Plan runs pre-flight and terraform plan: what will be created, and the
// monthly cost. Nothing is created.
func (h *Home) Plan(ctx context.Context, emit progress.Func) (HomePlan, error) {
	plan, _, r, err := h.prepare(ctx, emit, false)
	if err != nil {
		return plan, err
	}
	plan.Resources, err = r.planStep(ctx, emit, "")
	return plan, err
}

// HomeResult is a home that was applied.
type HomeResult struct {
	Result
	VolumeID string   `json:"volume_id"`
	Plan     HomePlan `json:"plan"`
}

// Up creates or updates the home (re-running it changes only what
// differs), then, unless NoWait, waits for the DNS records and for the
// landing page over HTTPS.
//
// Up applies the plan it has read: one that replaces or destroys the
// home's server (the server's disk with it, and GoToSocial's programs
// when the group's server lives there) needs ConfirmReplace, and is
// refused while the group's server lives on the home.
func (h *Home) Up(ctx context.Context, emit progress.Func) (HomeResult, error) {
	// A refused plan leaves the variables as the last apply wrote them.
	vb, verr := os.ReadFile(filepath.Join(h.cfg.Dir, varsFile))
	plan, keys, r, err := h.prepare(ctx, emit, true)
	if err != nil {
		return HomeResult{}, err
	}
	planFile := filepath.Join(h.cfg.Dir, "home.tfplan")
	defer os.Remove(planFile)
	if plan.Resources, err = r.planStep(ctx, emit, planFile); err != nil {
		return HomeResult{}, err
	}
	if err := h.allowReplace(plan, emit); err != nil {
		if verr == nil {
			err = errors.Join(err, atomicfile.Write(filepath.Join(h.cfg.Dir, varsFile), vb, 0o600))
		}
		return HomeResult{}, err
	}
	if err := r.applyStep(ctx, emit, nil, planFile); err != nil {
		return HomeResult{}, err
	}
	res, err := serverResult(ctx, r, keys, h.cfg.Group.Name, h.cfg.Domain)
	if err != nil {
		return HomeResult{}, err
	}
	// A rescale (--server-type) leaves the server off: Hetzner changes
	// the type of a stopped server only, and the provider does not start
	// it again.
	if on, err := h.client().PowerOn(ctx, res.ServerName); err != nil {
		return HomeResult{}, apiErr("power the home on", err)
	} else if on {
		emit.Emit(progress.Event{Kind: progress.Log, Step: "apply", Message: "the home was off after its rescale: powered on"})
	}
	out, err := r.outputs(ctx)
	if err != nil {
		return HomeResult{}, err
	}
	hr := HomeResult{Result: res, VolumeID: out["volume_id"], Plan: plan}
	if h.cfg.NoWait {
		return hr, nil
	}
	if err := WaitDNS(ctx, h.cfg.Wait, res.DNS, emit); err != nil {
		return hr, err
	}
	if err := WaitPage(ctx, h.cfg.Wait, res.URL, emit); err != nil {
		return hr, err
	}
	hr.Waited = true
	return hr, nil
}

// ErrReplaceHome means home up would replace or destroy the home's
// server and was not allowed to.
var ErrReplaceHome = errors.New("home up would replace the campaign home's server")

// allowReplace lets a plan that replaces or destroys the home's server
// go on only when ConfirmReplace allows it, and never while the group's
// server lives on the home.
func (h *Home) allowReplace(plan HomePlan, emit progress.Func) error {
	var gone []string
	server := false
	for _, c := range plan.Resources {
		if c.Action != "replace" && c.Action != "delete" {
			continue
		}
		d := c.Action + " " + c.Address
		if len(c.Forces) > 0 {
			d += " (" + strings.Join(c.Forces, ", ") + " cannot change in place)"
		}
		gone = append(gone, d)
		server = server || c.Address == "hcloud_server.main"
	}
	if !server {
		return nil
	}
	what := fmt.Sprintf("home up would %s: the home's server is deleted and a new one made, its disk and what was installed on it lost, the pages down until the new one has booted", strings.Join(gone, "; "))
	emit.Emit(progress.Event{Kind: progress.Log, Step: "plan", Message: what})
	if h.cfg.DestinationDir != "" && onHomeRecorded(h.cfg.DestinationDir) {
		return fmt.Errorf("%s. Refused: %w (GoToSocial for %s). Nothing was changed. Run lifeboat down GROUP.yaml first (it exports the database and takes GoToSocial off the home), or change only what changes in place, such as --server-type (the home is resized in place)",
			what, ErrHomeInUse, h.cfg.Group.Destination.Domain)
	}
	if h.cfg.ConfirmReplace == nil {
		return fmt.Errorf("%w: %s; nothing was changed", ErrReplaceHome, what)
	}
	return h.cfg.ConfirmReplace()
}

// Down destroys the home: server, volume (and the state on it),
// addresses, firewall, SSH key.
// It refuses while the group's new server lives on the home: lifeboat
// down takes that off first (exporting its database).
func (h *Home) Down(ctx context.Context, emit progress.Func) error {
	if h.cfg.DestinationDir != "" && onHomeRecorded(h.cfg.DestinationDir) {
		return fmt.Errorf("%w (GoToSocial for %s): run lifeboat down GROUP.yaml first, which exports its database and removes it from the home; then home down", ErrHomeInUse, h.cfg.Group.Destination.Domain)
	}
	return New(h.config()).Down(ctx, emit)
}

// WaitPage waits until baseURL's landing page answers 200 over verified
// TLS: the proxy has its certificate and lifeboat serve is behind it.
func WaitPage(ctx context.Context, w Waits, baseURL string, emit progress.Func) error {
	w = w.withDefaults()
	const step = "https"
	emit.Emit(progress.Event{Kind: progress.StepStarted, Step: step, Message: "waiting for " + baseURL + " over HTTPS"})
	err := retry(ctx, w.Interval, w.Timeout, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/", nil)
		if err != nil {
			return err
		}
		resp, err := w.HTTP.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %s", resp.Status)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("wait for %s: %w", baseURL, err)
	}
	emit.Emit(progress.Event{Kind: progress.StepDone, Step: step})
	return nil
}
