package hetzner

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"

	"github.com/lifeboat-social/lifeboat/groups"
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
	Datacenter string     `json:"datacenter"`
	ServerType ServerType `json:"server_type"`
	Image      string     `json:"image"`
	Backups    bool       `json:"backups"`
	VolumeGB   int        `json:"volume_gb"`
	SSHFrom    []string   `json:"ssh_from,omitempty"`
	Members    int        `json:"members"`
	Cost       Cost       `json:"cost"`
	Resources  []Change   `json:"resources,omitempty"`
	Warnings   []string   `json:"warnings,omitempty"`
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
}

// api is the narrow slice of the Hetzner Cloud API that pre-flight uses.
type api interface {
	Locations(ctx context.Context) ([]*hcloud.Location, error)
	ServerType(ctx context.Context, name string) (*hcloud.ServerType, error)
	Datacenters(ctx context.Context) ([]*hcloud.Datacenter, error)
	Image(ctx context.Context, name string, arch hcloud.Architecture) (*hcloud.Image, error)
	Pricing(ctx context.Context) (hcloud.Pricing, error)
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

func (a hcloudAPI) Datacenters(ctx context.Context) ([]*hcloud.Datacenter, error) {
	return a.c.Datacenter.All(ctx)
}

func (a hcloudAPI) Image(ctx context.Context, name string, arch hcloud.Architecture) (*hcloud.Image, error) {
	im, _, err := a.c.Image.GetForArchitecture(ctx, name, arch)
	return im, err
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
// the image exists for the type's architecture, and prices the plan.
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

	locs, err := a.Locations(ctx)
	if err != nil {
		return p, apiErr("list locations", err)
	}
	var names []string
	found := false
	for _, l := range locs {
		names = append(names, l.Name)
		found = found || l.Name == d.Location
	}
	sort.Strings(names)
	if !found {
		return p, fmt.Errorf("%w %q: Hetzner Cloud has %s", ErrLocation, d.Location, strings.Join(names, ", "))
	}

	st, err := a.ServerType(ctx, d.ServerType)
	if err != nil {
		return p, apiErr("get server type", err)
	}
	if st == nil {
		return p, fmt.Errorf("%w: %q does not exist (see https://www.hetzner.com/cloud for the types)", ErrServerType, d.ServerType)
	}
	if st.IsDeprecated() && time.Now().After(st.UnavailableAfter()) {
		return p, fmt.Errorf("%w: %s is deprecated and can no longer be ordered; pick a current type", ErrServerType, st.Name)
	}
	p.ServerType = ServerType{Name: st.Name, Cores: st.Cores, MemoryGB: float64(st.Memory), DiskGB: st.Disk, Architecture: string(st.Architecture)}
	if p.Software == groups.SoftwareMastodon && st.Memory < 4 {
		return p, fmt.Errorf("%w: Mastodon needs at least 4 GB of memory and %s has %g GB; pick e.g. cx22 or larger", ErrServerType, st.Name, st.Memory)
	}

	dcs, err := a.Datacenters(ctx)
	if err != nil {
		return p, apiErr("list datacenters", err)
	}
	var elsewhere []string
	for _, dc := range dcs {
		if dc.Location == nil {
			continue
		}
		available := false
		for _, t := range dc.ServerTypes.Available {
			if t != nil && t.ID == st.ID {
				available = true
			}
		}
		switch {
		case available && dc.Location.Name == d.Location && p.Datacenter == "":
			p.Datacenter = dc.Name
		case available && dc.Location.Name != d.Location:
			elsewhere = append(elsewhere, dc.Location.Name)
		}
	}
	if p.Datacenter == "" {
		msg := fmt.Sprintf("%s is not available in %s right now", st.Name, d.Location)
		if len(elsewhere) > 0 {
			sort.Strings(elsewhere)
			msg += "; it is in " + strings.Join(uniq(elsewhere), ", ")
		}
		return p, fmt.Errorf("%w: %s", ErrServerType, msg)
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

func uniq(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// price adds up the monthly cost, VAT included: the server, backups (a
// percentage of it), the IPv4 primary IP (IPv6 is free) and the volume.
func price(pr hcloud.Pricing, st *hcloud.ServerType, location string, backups bool, volumeGB, members int) (Cost, error) {
	c := Cost{Currency: pr.Currency, VATRate: pr.VATRate}
	gross := func(s string) float64 { f, _ := strconv.ParseFloat(s, 64); return f }
	server := -1.0
	for _, stp := range pr.ServerTypes {
		if stp.ServerType == nil || stp.ServerType.ID != st.ID {
			continue
		}
		for _, lp := range stp.Pricings {
			if lp.Location != nil && lp.Location.Name == location {
				server = gross(lp.Monthly.Gross)
			}
		}
	}
	if server < 0 {
		// Pricing lists every type; fall back to the type's own prices.
		for _, lp := range st.Pricings {
			if lp.Location != nil && lp.Location.Name == location {
				server = gross(lp.Monthly.Gross)
			}
		}
	}
	if server < 0 {
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
