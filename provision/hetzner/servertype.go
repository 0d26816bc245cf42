package hetzner

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"

	"github.com/lifeboat-social/lifeboat/groups"
)

// TypeOffer is a server type a location recommends, with its monthly
// price there (VAT included).
type TypeOffer struct {
	Name         string  `json:"name"`
	Cores        int     `json:"cores"`
	MemoryGB     float64 `json:"memory_gb"`
	DiskGB       int     `json:"disk_gb"`
	Architecture string  `json:"architecture"` // x86 | arm
	Monthly      float64 `json:"monthly"`
	Currency     string  `json:"currency"`
}

func (o TypeOffer) String() string {
	arch := ""
	if o.Architecture == string(hcloud.ArchitectureARM) {
		arch = "Arm, "
	}
	return fmt.Sprintf("%s (%s%d vCPU, %g GB RAM, %d GB disk) %.2f %s/month", o.Name, arch, o.Cores, o.MemoryGB, o.DiskGB, o.Monthly, o.Currency)
}

// ServerTypeError says why the group's server type cannot be used in its
// location and names the types that location recommends instead, with
// their prices. errors.Is(err, ErrServerType) holds.
type ServerTypeError struct {
	Type        string      `json:"type"`
	Location    string      `json:"location"`
	Reason      string      `json:"reason"` // e.g. "is deprecated in fsn1 and can no longer be ordered there (since 2026-01-01)"
	Recommended []TypeOffer `json:"recommended"`
}

func (e *ServerTypeError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v: %s %s", ErrServerType, e.Type, e.Reason)
	if len(e.Recommended) == 0 {
		fmt.Fprintf(&b, "; Hetzner recommends no server type in %s that fits", e.Location)
		return b.String()
	}
	fmt.Fprintf(&b, "\n  recommended in %s (set destination.server_type in the group file to one of them):", e.Location)
	for _, o := range e.Recommended {
		b.WriteString("\n    " + o.String())
	}
	return b.String()
}

func (e *ServerTypeError) Unwrap() error { return ErrServerType }

// maxOffers is how many recommended types a message names.
const maxOffers = 6

// minMemoryGB is the least memory the software runs in.
func minMemoryGB(software string) float32 {
	if software == groups.SoftwareMastodon {
		return 4
	}
	return 0
}

// typeLocation is the type's entry for a location: whether it is offered,
// available and recommended there, and its deprecation. Nil when the type
// is not offered there.
func typeLocation(st *hcloud.ServerType, location string) *hcloud.ServerTypeLocation {
	for i, l := range st.Locations {
		if l.Location != nil && l.Location.Name == location {
			return &st.Locations[i]
		}
	}
	return nil
}

// orderable reports whether a type can be ordered in a location now, and
// if it cannot, why.
func orderable(st *hcloud.ServerType, location string, now time.Time) (bool, string) {
	l := typeLocation(st, location)
	switch {
	case l == nil:
		return false, "is not offered in " + location
	case l.IsDeprecated() && now.After(l.UnavailableAfter()):
		return false, fmt.Sprintf("is deprecated in %s and can no longer be ordered there (since %s)", location, l.UnavailableAfter().Format(time.DateOnly))
	case !l.Available:
		return false, "is not available in " + location + " right now"
	}
	return true, ""
}

// elsewhere lists the other locations where the type can be ordered.
func elsewhere(st *hcloud.ServerType, location string, now time.Time) string {
	var out []string
	for _, l := range st.Locations {
		if l.Location == nil || l.Location.Name == location {
			continue
		}
		if ok, _ := orderable(st, l.Location.Name, now); ok {
			out = append(out, l.Location.Name)
		}
	}
	slices.Sort(out)
	if len(out) == 0 {
		return ""
	}
	return "; it can be ordered in " + strings.Join(out, ", ")
}

// recommended lists the types the location recommends that can be ordered
// there, are not deprecated there and have enough memory, cheapest first,
// priced from the API's pricing.
func recommended(ctx context.Context, a api, location string, minMemory float32) ([]TypeOffer, error) {
	all, err := a.ServerTypes(ctx)
	if err != nil {
		return nil, apiErr("list server types", err)
	}
	pr, err := a.Pricing(ctx)
	if err != nil {
		return nil, apiErr("get prices", err)
	}
	now := time.Now()
	var out []TypeOffer
	for _, st := range all {
		l := typeLocation(st, location)
		if l == nil || !l.Recommended || l.IsDeprecated() || st.Memory < minMemory {
			continue
		}
		if ok, _ := orderable(st, location, now); !ok {
			continue
		}
		monthly, ok := monthlyGross(pr, st, location)
		if !ok {
			continue
		}
		out = append(out, TypeOffer{Name: st.Name, Cores: st.Cores, MemoryGB: float64(st.Memory), DiskGB: st.Disk,
			Architecture: string(st.Architecture), Monthly: cents(monthly), Currency: pr.Currency})
	}
	slices.SortFunc(out, func(x, y TypeOffer) int {
		if x.Monthly != y.Monthly {
			if x.Monthly < y.Monthly {
				return -1
			}
			return 1
		}
		return strings.Compare(x.Name, y.Name)
	})
	if len(out) > maxOffers {
		out = out[:maxOffers]
	}
	return out, nil
}

// monthlyGross is a type's monthly price in a location, VAT included: from
// the pricing, or the type's own prices when the pricing lacks it.
func monthlyGross(pr hcloud.Pricing, st *hcloud.ServerType, location string) (float64, bool) {
	gross := func(s string) (float64, bool) { f, err := strconv.ParseFloat(s, 64); return f, err == nil }
	for _, stp := range pr.ServerTypes {
		if stp.ServerType == nil || stp.ServerType.ID != st.ID {
			continue
		}
		for _, lp := range stp.Pricings {
			if lp.Location != nil && lp.Location.Name == location {
				return gross(lp.Monthly.Gross)
			}
		}
	}
	for _, lp := range st.Pricings {
		if lp.Location != nil && lp.Location.Name == location {
			return gross(lp.Monthly.Gross)
		}
	}
	return 0, false
}

// typeError builds the error for a type that cannot be used, naming what
// the location recommends.
func typeError(ctx context.Context, a api, name, location, reason string, minMemory float32) error {
	recs, err := recommended(ctx, a, location, minMemory)
	if err != nil {
		return err
	}
	return &ServerTypeError{Type: name, Location: location, Reason: reason, Recommended: recs}
}
