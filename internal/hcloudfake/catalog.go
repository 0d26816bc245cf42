package hcloudfake

import (
	"fmt"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
)

// Names in the default catalogue that tests rely on.
const (
	// UnavailableType is offered but sold out in fsn1.
	UnavailableType = "cx52"
	// DeprecatedType can no longer be ordered.
	DeprecatedType = "cx11"
)

type typeSpec struct {
	id      int64
	name    string
	cores   int
	mem     float32
	disk    int
	arch    string
	cpu     string
	net     float64 // monthly, EUR, without VAT
	gone    bool    // deprecated and unavailable
	soldOut map[string]bool
}

var types = []typeSpec{
	{id: 1, name: "cx11", cores: 1, mem: 2, disk: 20, arch: "x86", cpu: "shared", net: 3.29, gone: true},
	{id: 22, name: "cpx11", cores: 2, mem: 2, disk: 40, arch: "x86", cpu: "shared", net: 4.35},
	{id: 45, name: "cax11", cores: 2, mem: 4, disk: 40, arch: "arm", cpu: "shared", net: 3.79},
	{id: 104, name: "cx22", cores: 2, mem: 4, disk: 40, arch: "x86", cpu: "shared", net: 3.79},
	{id: 105, name: "cx32", cores: 4, mem: 8, disk: 80, arch: "x86", cpu: "shared", net: 6.80},
	{id: 106, name: "cx42", cores: 8, mem: 16, disk: 160, arch: "x86", cpu: "shared", net: 16.40},
	{id: 107, name: "cx52", cores: 16, mem: 32, disk: 320, arch: "x86", cpu: "shared", net: 32.40, soldOut: map[string]bool{"fsn1": true}},
}

const vat = 0.19

func price(net float64) schema.Price {
	return schema.Price{Net: fmt.Sprintf("%.10f", net), Gross: fmt.Sprintf("%.10f", net*(1+vat))}
}

// DefaultCatalog is three German/Finnish locations, a handful of server
// types with euro prices, and Debian and Ubuntu images.
func DefaultCatalog() Catalog {
	var c Catalog
	locs := []schema.Location{
		{ID: 1, Name: "fsn1", Description: "Falkenstein DC Park 1", Country: "DE", City: "Falkenstein", Latitude: 50.47612, Longitude: 12.370071, NetworkZone: "eu-central"},
		{ID: 2, Name: "nbg1", Description: "Nuremberg DC Park 1", Country: "DE", City: "Nuremberg", Latitude: 49.452102, Longitude: 11.076665, NetworkZone: "eu-central"},
		{ID: 3, Name: "hel1", Description: "Helsinki DC Park 1", Country: "FI", City: "Helsinki", Latitude: 60.169855, Longitude: 24.938379, NetworkZone: "eu-central"},
	}
	c.Locations = locs
	dcNames := map[string]schema.Datacenter{
		"fsn1": {ID: 4, Name: "fsn1-dc14", Description: "Falkenstein 1 virtual DC 14"},
		"nbg1": {ID: 2, Name: "nbg1-dc3", Description: "Nuremberg 1 virtual DC 3"},
		"hel1": {ID: 3, Name: "hel1-dc2", Description: "Helsinki 1 virtual DC 2"},
	}
	for _, l := range locs {
		dc := dcNames[l.Name]
		dc.Location = l
		st := &schema.DatacenterServerTypes{Supported: []int64{}, Available: []int64{}, AvailableForMigration: []int64{}}
		for _, t := range types {
			st.Supported = append(st.Supported, t.id)
			if !t.gone && !t.soldOut[l.Name] {
				st.Available = append(st.Available, t.id)
				st.AvailableForMigration = append(st.AvailableForMigration, t.id)
			}
		}
		dc.ServerTypes = st
		c.Datacenters = append(c.Datacenters, dc)
	}

	announced := time.Date(2024, 6, 6, 0, 0, 0, 0, time.UTC)
	var pricingTypes []schema.PricingServerType
	for _, t := range types {
		var prices []schema.PricingServerTypePrice
		var tl []schema.ServerTypeLocation
		for _, l := range locs {
			prices = append(prices, schema.PricingServerTypePrice{
				Location: l.Name, PriceHourly: price(t.net / 730), PriceMonthly: price(t.net),
				IncludedTraffic: 21990232555520, PricePerTBTraffic: price(1),
			})
			tl = append(tl, schema.ServerTypeLocation{ID: l.ID, Name: l.Name, Available: !t.gone && !t.soldOut[l.Name], Recommended: !t.gone})
		}
		st := schema.ServerType{
			ID: t.id, Name: t.name, Description: fmt.Sprintf("%s %d vCPU %gGB", t.name, t.cores, t.mem), Category: "shared_vcpu",
			Cores: t.cores, Memory: t.mem, Disk: t.disk, StorageType: "local", CPUType: t.cpu, Architecture: t.arch,
			Prices: prices, Locations: tl,
		}
		if t.gone {
			st.Deprecated = true
			st.Deprecation = &schema.DeprecationInfo{Announced: announced, UnavailableAfter: announced.AddDate(0, 3, 0)}
		}
		c.ServerTypes = append(c.ServerTypes, st)
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
	for _, l := range locs {
		ipPrices = append(ipPrices, schema.PricingPrimaryIPTypePrice{Datacenter: dcNames[l.Name].Name, Location: l.Name, PriceHourly: price(0.5 / 730), PriceMonthly: price(0.5)})
		ip6Prices = append(ip6Prices, schema.PricingPrimaryIPTypePrice{Datacenter: dcNames[l.Name].Name, Location: l.Name, PriceHourly: price(0), PriceMonthly: price(0)})
	}
	c.Pricing = schema.Pricing{
		Currency: "EUR", VATRate: "19.00",
		Image:      schema.PricingImage{PricePerGBMonth: price(0.0119)},
		FloatingIP: schema.PricingFloatingIP{PriceMonthly: price(3)},
		// The API lists both floating IP types (and hcloud-go relies on it).
		FloatingIPs: []schema.PricingFloatingIPType{
			{Type: "ipv4", Prices: []schema.PricingFloatingIPTypePrice{{Location: "fsn1", PriceMonthly: price(3)}}},
			{Type: "ipv6", Prices: []schema.PricingFloatingIPTypePrice{{Location: "fsn1", PriceMonthly: price(3)}}},
		},
		PrimaryIPs:        []schema.PricingPrimaryIP{{Type: "ipv4", Prices: ipPrices}, {Type: "ipv6", Prices: ip6Prices}},
		Traffic:           schema.PricingTraffic{PricePerTB: price(1)},
		ServerBackup:      schema.PricingServerBackup{Percentage: "20.00"},
		ServerTypes:       pricingTypes,
		LoadBalancerTypes: []schema.PricingLoadBalancerType{},
		Volume:            schema.PricingVolume{PricePerGBPerMonth: price(0.044)},
	}
	return c
}
