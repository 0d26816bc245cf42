package hcloudfake_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"

	"github.com/lifeboat-social/lifeboat/internal/hcloudfake"
)

// call makes a raw API request and decodes the JSON answer.
func call(t *testing.T, f *hcloudfake.Fake, method, path, body string) (int, map[string]any) {
	t.Helper()
	r, err := http.NewRequest(method, f.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Authorization", "Bearer "+f.Token)
	r.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp.StatusCode, m
}

func errCode(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

// TestDatacentersGone: the datacenters endpoints answer 410 Gone with the
// code the API uses for removed functionality, and the fake records the
// use; nothing else is recorded.
func TestDatacentersGone(t *testing.T) {
	f, _ := start(t)
	for _, path := range []string{"/datacenters", "/datacenters/4", "/datacenters?name=fsn1-dc14"} {
		status, m := call(t, f, "GET", path, "")
		if status != http.StatusGone || errCode(m) != "deprecated_api_endpoint" {
			t.Fatalf("GET %s = %d %v, want 410 deprecated_api_endpoint", path, status, m)
		}
		details, _ := m["error"].(map[string]any)["details"].(map[string]any)
		if !strings.Contains(details["announcement"].(string), "datacenters-deprecated") {
			t.Fatalf("details = %v", details)
		}
	}
	if g := f.Gone(); len(g) != 3 || g[0] != "GET /datacenters" || g[1] != "GET /datacenters/4" {
		t.Fatalf("gone = %q", g)
	}
	if status, _ := call(t, f, "GET", "/locations", ""); status != http.StatusOK || len(f.Gone()) != 3 {
		t.Fatalf("a current endpoint was recorded as gone: %d %q", status, f.Gone())
	}
}

// TestDatacenterPropertyRefused: a server or primary IP asked for in a
// datacenter is invalid input naming the removed field, and nothing is
// created; asked for by location it is created, and no answer carries a
// datacenter.
func TestDatacenterPropertyRefused(t *testing.T) {
	f, _ := start(t)
	for _, tc := range []struct{ path, body string }{
		{"/primary_ips", `{"name":"v4","type":"ipv4","assignee_type":"server","datacenter":"fsn1-dc14","auto_delete":false}`},
		{"/servers", `{"name":"s1","server_type":"cx23","image":"debian-12","datacenter":"fsn1-dc14"}`},
	} {
		status, m := call(t, f, "POST", tc.path, tc.body)
		fields, _ := m["error"].(map[string]any)["details"].(map[string]any)["fields"].([]any)
		if status != http.StatusBadRequest || errCode(m) != "invalid_input" || len(fields) != 1 || fields[0].(map[string]any)["name"] != "datacenter" {
			t.Fatalf("POST %s with datacenter = %d %v", tc.path, status, m)
		}
	}
	if !f.Empty() || len(f.Gone()) != 2 || f.Gone()[1] != "POST /servers: datacenter" {
		t.Fatalf("counts %v, gone %q", f.Counts(), f.Gone())
	}

	status, m := call(t, f, "POST", "/primary_ips", `{"name":"v4","type":"ipv4","location":"nbg1","auto_delete":false}`)
	ip, _ := m["primary_ip"].(map[string]any)
	if status != http.StatusCreated || ip["location"].(map[string]any)["name"] != "nbg1" || ip["assignee_type"] != "unassigned" {
		t.Fatalf("primary IP by location = %d %v", status, m)
	}
	status, m = call(t, f, "POST", "/servers", `{"name":"s1","server_type":"cx23","image":"debian-12","location":"nbg1","public_net":{"enable_ipv4":true,"enable_ipv6":false,"ipv4":`+jsonNumber(ip["id"])+`}}`)
	if status != http.StatusCreated {
		t.Fatalf("server by location = %d %v", status, m)
	}
	srv := m["server"].(map[string]any)
	if _, ok := srv["datacenter"]; ok || srv["location"].(map[string]any)["name"] != "nbg1" {
		t.Fatalf("server answer = %v", srv)
	}
	_, m = call(t, f, "GET", "/primary_ips/"+jsonNumber(ip["id"]), "")
	got := m["primary_ip"].(map[string]any)
	if _, ok := got["datacenter"]; ok || got["assignee_type"] != "server" {
		t.Fatalf("primary IP answer = %v", got)
	}
	if len(f.Gone()) != 2 {
		t.Fatalf("gone = %q", f.Gone())
	}
}

func jsonNumber(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestServerTypeLocations: availability, recommendation and deprecation
// live in each server type's locations, and creating a server follows
// them.
func TestServerTypeLocations(t *testing.T) {
	_, c := start(t)
	ctx := context.Background()
	old, _, err := c.ServerType.GetByName(ctx, hcloudfake.DeprecatedType)
	if err != nil || old == nil || len(old.Locations) != 3 {
		t.Fatalf("%s = %+v, %v", hcloudfake.DeprecatedType, old, err)
	}
	for _, l := range old.Locations {
		if l.Available || l.Recommended || !l.IsDeprecated() || !time.Now().After(l.UnavailableAfter()) {
			t.Fatalf("%s in %s = %+v", old.Name, l.Location.Name, l)
		}
	}
	cur, _, _ := c.ServerType.GetByName(ctx, hcloudfake.CurrentType)
	for _, l := range cur.Locations {
		if !l.Available || !l.Recommended || l.IsDeprecated() {
			t.Fatalf("%s in %s = %+v", cur.Name, l.Location.Name, l)
		}
	}
	soldOut, _, _ := c.ServerType.GetByName(ctx, hcloudfake.UnavailableType)
	for _, l := range soldOut.Locations {
		if l.Available == (l.Location.Name == "fsn1") || !l.Recommended {
			t.Fatalf("%s in %s = %+v", soldOut.Name, l.Location.Name, l)
		}
	}

	create := func(typ, loc string) error {
		_, _, err := c.Server.Create(ctx, hcloud.ServerCreateOpts{Name: typ + "-" + loc, ServerType: &hcloud.ServerType{Name: typ},
			Image: &hcloud.Image{Name: "debian-12"}, Location: &hcloud.Location{Name: loc}})
		return err
	}
	if err := create(hcloudfake.DeprecatedType, "nbg1"); !hcloud.IsError(err, hcloud.ErrorCodeInvalidServerType) {
		t.Fatalf("deprecated type: %v", err)
	}
	if err := create(hcloudfake.UnavailableType, "fsn1"); !hcloud.IsError(err, hcloud.ErrorCodeResourceUnavailable) {
		t.Fatalf("sold-out type: %v", err)
	}
	if err := create(hcloudfake.UnavailableType, "nbg1"); err != nil {
		t.Fatalf("type available in nbg1: %v", err)
	}
}

// TestNoDatacenterInAnswers: no answer of the catalogue carries a
// datacenter any more.
func TestNoDatacenterInAnswers(t *testing.T) {
	f, c := start(t)
	for _, path := range []string{"/locations", "/server_types", "/images", "/pricing"} {
		status, m := call(t, f, "GET", path, "")
		if status != http.StatusOK {
			t.Fatalf("GET %s = %d", path, status)
		}
		if where := findKey(m, "datacenter", path); where != "" {
			t.Fatalf("GET %s answers a datacenter at %s", path, where)
		}
	}
	// hcloud-go still reads the primary IP prices.
	pr, _, err := c.Pricing.Get(context.Background())
	if err != nil || len(pr.PrimaryIPs) != 2 || pr.PrimaryIPs[0].Pricings[0].Location != "fsn1" || pr.PrimaryIPs[0].Pricings[0].Monthly.Gross == "" {
		t.Fatalf("pricing = %+v, %v", pr.PrimaryIPs, err)
	}
}

// findKey returns the path of the first key named key in a decoded JSON
// value, or "".
func findKey(v any, key, at string) string {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if k == key {
				return at + "." + k
			}
			if w := findKey(e, key, at+"."+k); w != "" {
				return w
			}
		}
	case []any:
		for i, e := range x {
			if w := findKey(e, key, fmt.Sprintf("%s[%d]", at, i)); w != "" {
				return w
			}
		}
	}
	return ""
}
