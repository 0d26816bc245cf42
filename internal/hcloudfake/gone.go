package hcloudfake

import (
	"encoding/json"
	"net/http"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
)

// What the API has removed, with the changelog entry that announced it
// (https://docs.hetzner.cloud/changelog#...). A client that still uses
// one of these fails against the real API today; the fake refuses the
// call the same way and records it, so tests can assert that Lifeboat,
// hcloud-go and the Terraform provider use none of them.
const (
	// GET /datacenters and /datacenters/{id} answer 410 Gone after
	// 1 October 2026.
	datacentersGone = "https://docs.hetzner.cloud/changelog#2026-06-02-datacenters-deprecated"
	// The datacenter property of servers and primary IPs was removed
	// from requests and answers on 1 July 2026, in favour of location.
	datacenterPropertyGone = "https://docs.hetzner.cloud/changelog#2026-07-01-removing-datacenters"
)

// Gone returns every call that used an endpoint or a property the API has
// removed, as "METHOD /path" or "METHOD /path: property".
func (f *Fake) Gone() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.gone...)
}

// removed refuses a call that uses something the API removed, under the
// lock. The datacenters endpoints answer 410 with the code the API uses
// for removed functionality; a request body with a removed property is
// invalid input naming the field.
func (f *Fake) removed(call, kind, method string, body []byte) *apiError {
	if kind == "datacenters" {
		f.gone = append(f.gone, call)
		return &apiError{
			status: http.StatusGone, code: "deprecated_api_endpoint",
			message: "the datacenters endpoints were removed; use locations and server types' locations",
			details: map[string]string{"announcement": datacentersGone},
		}
	}
	if method != http.MethodPost || (kind != "servers" && kind != "primary_ips") {
		return nil
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		return nil // the handler reports the bad JSON
	}
	if _, ok := fields["datacenter"]; ok {
		f.gone = append(f.gone, call+": datacenter")
		return errInvalid("datacenter", "the datacenter property was removed ("+datacenterPropertyGone+"); use location")
	}
	return nil
}

// pricingAnswer is GET /pricing's answer. hcloud-go's schema still has a
// datacenter on primary IP prices, which the API no longer returns: it is
// left out.
func pricingAnswer(p schema.Pricing) any {
	b, err := json.Marshal(schema.PricingGetResponse{Pricing: p})
	if err != nil {
		panic(err) // plain data: cannot fail
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		panic(err)
	}
	ips, _ := m["pricing"].(map[string]any)["primary_ips"].([]any)
	for _, ip := range ips {
		prices, _ := ip.(map[string]any)["prices"].([]any)
		for _, pr := range prices {
			delete(pr.(map[string]any), "datacenter")
		}
	}
	return m
}
