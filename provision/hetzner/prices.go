package hetzner

import (
	"context"
	"errors"
	"os"
	"path/filepath"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/provision"
)

// PriceTypes are the server types a lead is offered for a new server.
var PriceTypes = []string{"cx22", "cx32", "cx42", "cax11"}

// Locations are where a lead is offered a new server; the first is the
// default.
var Locations = []string{"fsn1", "nbg1", "hel1", "ash", "hil"}

// Prices prices each of types for cfg.Group in its location (default
// DefaultLocation) through pre-flight, as lifeboat plan prices the chosen
// one: monthly cost and cost per member, VAT included. A type that cannot
// be ordered there carries why; without a token, Missing says so. Only
// cfg's Group, Token and Endpoint are used.
func Prices(ctx context.Context, cfg Config, types []string) (provision.Prices, error) {
	g := cfg.Group
	p := provision.Prices{Location: g.Destination.Location}
	if p.Location == "" {
		p.Location = Locations[0]
	}
	if cfg.Token == "" {
		p.Missing = append(p.Missing, "a Hetzner Cloud token: export HCLOUD_TOKEN (or HCLOUD_TOKEN_FILE) and restart")
		return p, nil
	}
	dir, err := os.MkdirTemp("", "lifeboat-prices-")
	if err != nil {
		return p, err
	}
	defer os.RemoveAll(dir)
	for _, t := range types {
		cg := *g
		cg.Destination = groups.Destination{Type: groups.DestNew, Cloud: groups.CloudHetzner, Software: g.Destination.SoftwareOrDefault(),
			Domain: "prices.invalid", Location: p.Location, ServerType: t}
		if cg.Destination.Software == "" {
			cg.Destination.Software = groups.SoftwareGoToSocial
		}
		plan, err := Preflight(ctx, Config{Group: &cg, Dir: filepath.Join(dir, t), Token: cfg.Token, Endpoint: cfg.Endpoint})
		pt := provision.PricedType{Name: t}
		switch {
		case errors.Is(err, ErrToken) || errors.Is(err, ErrUnreachable):
			return p, err
		case err != nil:
			pt.Err = err.Error()
		default:
			pt.Cores, pt.MemoryGB = plan.ServerType.Cores, plan.ServerType.MemoryGB
			pt.Monthly, pt.PerMember = plan.Cost.Monthly, plan.Cost.PerMember
			p.Currency = plan.Cost.Currency
		}
		p.Types = append(p.Types, pt)
	}
	return p, nil
}
