package hcloudfake

import (
	"fmt"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
)

// Catalog is what the fake offers: edit it before the first request.
// There are no datacenters: the API no longer has them.
type Catalog struct {
	Locations   []schema.Location
	ServerTypes []schema.ServerType
	Images      []schema.Image
	Pricing     schema.Pricing
}

// Names in the default catalogue that tests rely on.
const (
	// CurrentType is the smallest current x86 type, recommended in every
	// location: the successor of cx22.
	CurrentType = "cx23"
	// UnavailableType is recommended but sold out in fsn1.
	UnavailableType = "cx53"
	// DeprecatedType is deprecated in every location and can no longer be
	// ordered (Hetzner deprecated cx22 and cpx11 on 2025-10-16).
	DeprecatedType = "cx22"
)

// The dates of the deprecation of the cx22 generation, as the fake tells
// them (announced 2025-10-16; no longer orderable from 2026).
var (
	deprecationAnnounced = time.Date(2025, 10, 16, 0, 0, 0, 0, time.UTC)
	deprecationEffective = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
)

type typeSpec struct {
	id         int64
	name       string
	cores      int
	mem        float32
	disk       int
	arch       string
	net        float64 // monthly, EUR, without VAT (the fake's figures)
	deprecated bool    // in every location, and no longer orderable
	soldOut    map[string]bool
}

var types = []typeSpec{
	{id: 22, name: "cpx11", cores: 2, mem: 2, disk: 40, arch: "x86", net: 4.35, deprecated: true},
	{id: 104, name: "cx22", cores: 2, mem: 4, disk: 40, arch: "x86", net: 3.79, deprecated: true},
	{id: 105, name: "cx32", cores: 4, mem: 8, disk: 80, arch: "x86", net: 6.80, deprecated: true},
	{id: 114, name: "cx23", cores: 2, mem: 4, disk: 40, arch: "x86", net: 3.49},
	{id: 115, name: "cx33", cores: 4, mem: 8, disk: 80, arch: "x86", net: 5.49},
	{id: 116, name: "cx43", cores: 8, mem: 16, disk: 160, arch: "x86", net: 9.49},
	{id: 117, name: "cx53", cores: 16, mem: 32, disk: 320, arch: "x86", net: 17.49, soldOut: map[string]bool{"fsn1": true}},
	{id: 118, name: "cpx22", cores: 2, mem: 4, disk: 80, arch: "x86", net: 7.99},
	{id: 45, name: "cax11", cores: 2, mem: 4, disk: 40, arch: "arm", net: 3.79},
}

const vat = 0.19

func price(net float64) schema.Price {
	return schema.Price{Net: fmt.Sprintf("%.10f", net), Gross: fmt.Sprintf("%.10f", net*(1+vat))}
}

// DefaultCatalog is three German/Finnish locations, server types with
// their availability, recommendation and deprecation per location and
// euro prices, and Debian and Ubuntu images.
func DefaultCatalog() Catalog {
	var c Catalog
	c.Locations = []schema.Location{
		{ID: 1, Name: "fsn1", Description: "Falkenstein DC Park 1", Country: "DE", City: "Falkenstein", Latitude: 50.47612, Longitude: 12.370071, NetworkZone: "eu-central"},
		{ID: 2, Name: "nbg1", Description: "Nuremberg DC Park 1", Country: "DE", City: "Nuremberg", Latitude: 49.452102, Longitude: 11.076665, NetworkZone: "eu-central"},
		{ID: 3, Name: "hel1", Description: "Helsinki DC Park 1", Country: "FI", City: "Helsinki", Latitude: 60.169855, Longitude: 24.938379, NetworkZone: "eu-central"},
	}

	var pricingTypes []schema.PricingServerType
	for _, t := range types {
		var prices []schema.PricingServerTypePrice
		var tl []schema.ServerTypeLocation
		for _, l := range c.Locations {
			prices = append(prices, schema.PricingServerTypePrice{
				Location: l.Name, PriceHourly: price(t.net / 730), PriceMonthly: price(t.net),
				IncludedTraffic: 21990232555520, PricePerTBTraffic: price(1),
			})
			e := schema.ServerTypeLocation{ID: l.ID, Name: l.Name, Available: !t.deprecated && !t.soldOut[l.Name], Recommended: !t.deprecated}
			if t.deprecated {
				e.Deprecation = &schema.DeprecationInfo{Announced: deprecationAnnounced, UnavailableAfter: deprecationEffective}
			}
			tl = append(tl, e)
		}
		// The type-wide deprecated and deprecation properties are being
		// phased out (since 2025-09-24, says hcloud-go): deprecations are
		// announced per location, so they stay false and null here.
		c.ServerTypes = append(c.ServerTypes, schema.ServerType{
			ID: t.id, Name: t.name, Description: fmt.Sprintf("%s %d vCPU %gGB", t.name, t.cores, t.mem), Category: "shared_vcpu",
			Cores: t.cores, Memory: t.mem, Disk: t.disk, StorageType: "local", CPUType: "shared", Architecture: t.arch,
			Prices: prices, Locations: tl,
		})
		pricingTypes = append(pricingTypes, schema.PricingServerType{ID: t.id, Name: t.name, Prices: prices})
	}

	created := time.Date(2023, 6, 13, 6, 0, 0, 0, time.UTC)
	img := func(id int64, name, flavor, version, arch, desc string) schema.Image {
		return schema.Image{ID: id, Status: "available", Type: "system", Name: &name, Description: desc, DiskSize: 5,
			Created: &created, OSFlavor: flavor, OSVersion: &version, Architecture: arch, RapidDeploy: true, Labels: map[string]string{}}
	}
	c.Images = []schema.Image{
		img(114690387, "debian-12", "debian", "12", "x86", "Debian 12"),
		img(114690389, "debian-12", "debian", "12", "arm", "Debian 12"),
		img(161547269, "ubuntu-24.04", "ubuntu", "24.04", "x86", "Ubuntu 24.04"),
		img(161547270, "ubuntu-24.04", "ubuntu", "24.04", "arm", "Ubuntu 24.04"),
	}

	var ipPrices, ip6Prices []schema.PricingPrimaryIPTypePrice
	for _, l := range c.Locations {
		ipPrices = append(ipPrices, schema.PricingPrimaryIPTypePrice{Location: l.Name, PriceHourly: price(0.5 / 730), PriceMonthly: price(0.5)})
		ip6Prices = append(ip6Prices, schema.PricingPrimaryIPTypePrice{Location: l.Name, PriceHourly: price(0), PriceMonthly: price(0)})
	}
	c.Pricing = schema.Pricing{
		Currency: "EUR", VATRate: "19.00",
		Image: schema.PricingImage{PricePerGBMonth: price(0.0119)},
		// The API lists both floating IP types (and hcloud-go relies on it).
		FloatingIPs: []schema.PricingFloatingIPType{
			{Type: "ipv4", Prices: []schema.PricingFloatingIPTypePrice{{Location: "fsn1", PriceMonthly: price(3)}}},
			{Type: "ipv6", Prices: []schema.PricingFloatingIPTypePrice{{Location: "fsn1", PriceMonthly: price(3)}}},
		},
		PrimaryIPs:        []schema.PricingPrimaryIP{{Type: "ipv4", Prices: ipPrices}, {Type: "ipv6", Prices: ip6Prices}},
		ServerBackup:      schema.PricingServerBackup{Percentage: "20.00"},
		ServerTypes:       pricingTypes,
		LoadBalancerTypes: []schema.PricingLoadBalancerType{},
		Volume:            schema.PricingVolume{PricePerGBPerMonth: price(0.044)},
	}
	return c
}

func (f *Fake) location(name string) (schema.Location, bool) {
	for _, l := range f.Catalog.Locations {
		if l.Name == name {
			return l, true
		}
	}
	return schema.Location{}, false
}

func (f *Fake) serverType(o schema.IDOrName) (schema.ServerType, bool) {
	for _, t := range f.Catalog.ServerTypes {
		if (o.ID != 0 && t.ID == o.ID) || (o.Name != "" && t.Name == o.Name) {
			return t, true
		}
	}
	return schema.ServerType{}, false
}

func (f *Fake) image(o schema.IDOrName, arch string) (schema.Image, bool) {
	for _, im := range f.Catalog.Images {
		if (o.ID != 0 && im.ID == o.ID) || (o.Name != "" && deref(im.Name) == o.Name && im.Architecture == arch) {
			return im, true
		}
	}
	return schema.Image{}, false
}
