package hetzner

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
)

// Pre-flight failures; callers branch on them with errors.Is.
var (
	ErrToken       = errors.New("the Hetzner Cloud token was refused")
	ErrLocation    = errors.New("unknown location")
	ErrServerType  = errors.New("server type not usable")
	ErrImage       = errors.New("image not found")
	ErrUnreachable = errors.New("the Hetzner Cloud API did not answer")
)

// Plan is what Lifeboat will create for a group and what it costs each
// month. Resources is filled by Provisioner.Plan (from terraform plan);
// Preflight leaves it empty.
type Plan struct {
	Group      string     `json:"group"`
	Software   string     `json:"software"`
	Domain     string     `json:"domain"`
	Location   string     `json:"location"`
	ServerType ServerType `json:"server_type"`
	Image      string     `json:"image"`
	Backups    bool       `json:"backups"`
	VolumeGB   int        `json:"volume_gb"`
	SSHFrom    []string   `json:"ssh_from,omitempty"`
	Members    int        `json:"members"`
	Cost       Cost       `json:"cost"`
	// OnHome is set when the destination goes on the campaign home's
	// machine: then ServerType, Location and Cost are the home's, the one
	// machine the group pays for, and no resource is created.
	OnHome    *OnHomePlan `json:"on_home,omitempty"`
	Resources []Change    `json:"resources,omitempty"`
	Warnings  []string    `json:"warnings,omitempty"`
}

// ServerType describes the chosen machine.
type ServerType struct {
	Name         string  `json:"name"`
	Cores        int     `json:"cores"`
	MemoryGB     float64 `json:"memory_gb"`
	DiskGB       int     `json:"disk_gb"`
	Architecture string  `json:"architecture"` // x86 | arm
}

// Cost is the monthly price from the API's pricing, VAT included.
type Cost struct {
	Currency  string     `json:"currency"`
	VATRate   string     `json:"vat_rate"`
	Lines     []CostLine `json:"lines"`
	Monthly   float64    `json:"monthly"`
	PerMember float64    `json:"per_member"`
}

// CostLine is one priced item.
type CostLine struct {
	Item    string  `json:"item"`
	Monthly float64 `json:"monthly"`
}

// Change is one resource Terraform will create, update or delete.
type Change struct {
	Address string `json:"address"`
	Action  string `json:"action"` // create | update | delete | replace | no-op
	// Forces are the attributes whose change makes Terraform replace the
	// resource (e.g. location).
	Forces []string `json:"forces,omitempty"`
	// Reason is Terraform's reason for the action, when it gives one
	// (e.g. replace_because_tainted: a create cut short).
	Reason string `json:"reason,omitempty"`
}

// api is the narrow slice of the Hetzner Cloud API that pre-flight uses.
// It reads locations and server types (whose per-location entries say
// where a type is available, recommended or deprecated), never
// datacenters: the API removed them.
type api interface {
	Locations(ctx context.Context) ([]*hcloud.Location, error)
	ServerType(ctx context.Context, name string) (*hcloud.ServerType, error)
	ServerTypes(ctx context.Context) ([]*hcloud.ServerType, error)
	Image(ctx context.Context, name string, arch hcloud.Architecture) (*hcloud.Image, error)
	Pricing(ctx context.Context) (hcloud.Pricing, error)
	// PowerOn starts the named server when it is off, and reports
	// whether it was.
	PowerOn(ctx context.Context, name string) (bool, error)
}

type hcloudAPI struct{ c *hcloud.Client }

func newAPI(cfg Config) api {
	opts := []hcloud.ClientOption{
		hcloud.WithToken(cfg.Token),
		hcloud.WithApplication("lifeboat", "1"),
		hcloud.WithHTTPClient(&http.Client{Timeout: 30 * time.Second}),
		hcloud.WithRetryOpts(hcloud.RetryOpts{MaxRetries: 2}),
	}
	if cfg.Endpoint != "" {
		opts = append(opts, hcloud.WithEndpoint(cfg.Endpoint))
	}
	return hcloudAPI{hcloud.NewClient(opts...)}
}

func (a hcloudAPI) Locations(ctx context.Context) ([]*hcloud.Location, error) {
	return a.c.Location.All(ctx)
}

func (a hcloudAPI) ServerType(ctx context.Context, name string) (*hcloud.ServerType, error) {
	t, _, err := a.c.ServerType.GetByName(ctx, name)
	return t, err
}

func (a hcloudAPI) ServerTypes(ctx context.Context) ([]*hcloud.ServerType, error) {
	return a.c.ServerType.All(ctx)
}

func (a hcloudAPI) Image(ctx context.Context, name string, arch hcloud.Architecture) (*hcloud.Image, error) {
	im, _, err := a.c.Image.GetForArchitecture(ctx, name, arch)
	return im, err
}

func (a hcloudAPI) PowerOn(ctx context.Context, name string) (bool, error) {
	s, _, err := a.c.Server.GetByName(ctx, name)
	if err != nil || s == nil || s.Status != hcloud.ServerStatusOff {
		return false, err
	}
	act, _, err := a.c.Server.Poweron(ctx, s)
	if err != nil {
		return false, err
	}
	return true, a.c.Action.WaitFor(ctx, act)
}

func (a hcloudAPI) Pricing(ctx context.Context) (hcloud.Pricing, error) {
	p, _, err := a.c.Pricing.Get(ctx)
	return p, err
}

// apiErr turns a client error into one a lead can act on.
func apiErr(what string, err error) error {
	switch {
	case hcloud.IsError(err, hcloud.ErrorCodeUnauthorized):
		return fmt.Errorf("%w: check HCLOUD_TOKEN (Hetzner Cloud console → your project → Security → API tokens; it needs read & write)", ErrToken)
	case hcloud.IsError(err, hcloud.ErrorCodeRateLimitExceeded):
		return fmt.Errorf("%s: the API's rate limit is reached; wait a few minutes: %w", what, err)
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "Client.Timeout"):
		return fmt.Errorf("%s: %w: %v", what, ErrUnreachable, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Preflight checks, before Terraform runs, that the token works, that the
// location and server type exist and the type can be ordered there, that
// the image exists for the type's architecture, and prices the plan. A
// type that cannot be ordered gets a *ServerTypeError naming the types the
// location recommends, with their prices.
func Preflight(ctx context.Context, cfg Config) (Plan, error) {
	cfg.setDefaults()
	if err := cfg.validate(false); err != nil {
		return Plan{}, err
	}
	return preflight(ctx, cfg, newAPI(cfg))
}

func preflight(ctx context.Context, cfg Config, a api) (Plan, error) {
	g := cfg.Group
	d := g.Destination
	p := Plan{
		Group: g.Name, Software: d.SoftwareOrDefault(), Domain: d.Domain, Location: d.Location,
		Image: cfg.Image, Backups: !cfg.NoBackups, VolumeGB: cfg.VolumeSize, SSHFrom: cfg.SSHFrom, Members: len(g.Members),
	}

	if err := checkLocation(ctx, a, d.Location); err != nil {
		return p, err
	}

	minMem := minMemoryGB(p.Software)
	st, err := a.ServerType(ctx, d.ServerType)
	if err != nil {
		return p, apiErr("get server type", err)
	}
	if st == nil {
		return p, typeError(ctx, a, d.ServerType, d.Location, "does not exist", minMem)
	}
	p.ServerType = ServerType{Name: st.Name, Cores: st.Cores, MemoryGB: float64(st.Memory), DiskGB: st.Disk, Architecture: string(st.Architecture)}
	now := time.Now()
	if ok, why := orderable(st, d.Location, now); !ok {
		if !hasServer(cfg.Dir) {
			return p, typeError(ctx, a, st.Name, d.Location, why+elsewhere(st, d.Location, now), minMem)
		}
		// The server exists: it keeps running whatever Hetzner sells now,
		// and a re-run (to wait, or to change the firewall) must not fail.
		p.Warnings = append(p.Warnings, fmt.Sprintf("%s %s; the server you have keeps running, but a new one (after down) needs another type", st.Name, why))
	} else if l := typeLocation(st, d.Location); l.IsDeprecated() {
		recs, err := recommended(ctx, a, d.Location, minMem)
		if err != nil {
			return p, err
		}
		w := fmt.Sprintf("%s is deprecated in %s and can be ordered there until %s", st.Name, d.Location, l.UnavailableAfter().Format(time.DateOnly))
		if len(recs) > 0 {
			w += "; recommended instead: " + offerNames(recs)
		}
		p.Warnings = append(p.Warnings, w)
	}
	if st.Memory < minMem {
		return p, typeError(ctx, a, st.Name, d.Location, fmt.Sprintf("has %g GB of memory and Mastodon needs at least %g GB", st.Memory, minMem), minMem)
	}

	im, err := a.Image(ctx, cfg.Image, st.Architecture)
	if err != nil {
		return p, apiErr("get image", err)
	}
	if im == nil {
		return p, fmt.Errorf("%w: %q for %s servers", ErrImage, cfg.Image, st.Architecture)
	}

	pr, err := a.Pricing(ctx)
	if err != nil {
		return p, apiErr("get prices", err)
	}
	p.Cost, err = price(pr, st, d.Location, !cfg.NoBackups, cfg.VolumeSize, len(g.Members))
	if err != nil {
		return p, err
	}
	if len(cfg.SSHFrom) == 0 {
		p.Warnings = append(p.Warnings, "no --ssh-from address: up needs your public IP to open SSH to you only")
	}
	if cfg.SMTP.Host == "" {
		p.Warnings = append(p.Warnings, "no SMTP relay (LIFEBOAT_SMTP_HOST): the server will not send email")
	}
	return p, nil
}

// checkLocation reports an unknown location, naming the known ones.
func checkLocation(ctx context.Context, a api, location string) error {
	locs, err := a.Locations(ctx)
	if err != nil {
		return apiErr("list locations", err)
	}
	var names []string
	for _, l := range locs {
		if l.Name == location {
			return nil
		}
		names = append(names, l.Name)
	}
	sort.Strings(names)
	return fmt.Errorf("%w %q: Hetzner Cloud has %s", ErrLocation, location, strings.Join(names, ", "))
}

// offerNames is "cx23 (4.15 EUR/month), cax11 (4.51 EUR/month)".
func offerNames(offers []TypeOffer) string {
	var s []string
	for _, o := range offers {
		s = append(s, fmt.Sprintf("%s (%.2f %s/month)", o.Name, o.Monthly, o.Currency))
	}
	return strings.Join(s, ", ")
}

// hasServer reports whether the state in dir already lists resources.
func hasServer(dir string) bool {
	empty, err := stateEmpty(filepath.Join(dir, stateFile))
	return err == nil && !empty
}

// price adds up the monthly cost, VAT included: the server, backups (a
// percentage of it), the IPv4 primary IP (IPv6 is free) and the volume.
func price(pr hcloud.Pricing, st *hcloud.ServerType, location string, backups bool, volumeGB, members int) (Cost, error) {
	c := Cost{Currency: pr.Currency, VATRate: pr.VATRate}
	gross := func(s string) float64 { f, _ := strconv.ParseFloat(s, 64); return f }
	server, ok := monthlyGross(pr, st, location)
	if !ok {
		return c, fmt.Errorf("get prices: no price for %s in %s", st.Name, location)
	}
	c.Lines = append(c.Lines, CostLine{"server " + st.Name, server})
	if backups {
		pct := gross(pr.ServerBackup.Percentage)
		c.Lines = append(c.Lines, CostLine{fmt.Sprintf("backups (%g%%)", pct), server * pct / 100})
	}
	for _, ip := range pr.PrimaryIPs {
		if ip.Type != "ipv4" {
			continue
		}
		for _, lp := range ip.Pricings {
			if lp.Location == location {
				c.Lines = append(c.Lines, CostLine{"primary IPv4", gross(lp.Monthly.Gross)})
				break
			}
		}
	}
	c.Lines = append(c.Lines, CostLine{"primary IPv6", 0})
	if volumeGB > 0 {
		c.Lines = append(c.Lines, CostLine{fmt.Sprintf("volume %d GB", volumeGB), float64(volumeGB) * gross(pr.Volume.PerGBMonthly.Gross)})
	}
	for i := range c.Lines {
		c.Lines[i].Monthly = cents(c.Lines[i].Monthly)
		c.Monthly += c.Lines[i].Monthly
	}
	c.Monthly = cents(c.Monthly)
	if members > 0 {
		c.PerMember = cents(c.Monthly / float64(members))
	}
	return c, nil
}

func cents(f float64) float64 { return math.Round(f*100) / 100 }
