package hcloudfake

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
)

// list answers GET /{kind}: filtered by name and label_selector (and a
// few kind-specific filters), paginated as the API does.
func (f *Fake) list(kind string, q map[string][]string) (int, any, *apiError) {
	var items []any
	var names []string
	var labels []map[string]string
	add := func(v any, name string, l map[string]string) {
		items = append(items, v)
		names = append(names, name)
		labels = append(labels, l)
	}
	first := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	switch kind {
	case "servers":
		for _, id := range sortedKeys(f.servers) {
			s := f.servers[id]
			add(s, s.Name, s.Labels)
		}
	case "ssh_keys":
		fp := first("fingerprint")
		for _, id := range sortedKeys(f.sshKeys) {
			k := f.sshKeys[id]
			if fp == "" || k.Fingerprint == fp {
				add(k, k.Name, k.Labels)
			}
		}
	case "firewalls":
		for _, id := range sortedKeys(f.firewalls) {
			fw := f.firewalls[id]
			add(fw, fw.Name, fw.Labels)
		}
	case "primary_ips":
		ip := first("ip")
		for _, id := range sortedKeys(f.primaryIPs) {
			p := f.primaryIPs[id]
			if ip == "" || p.IP == ip {
				add(p, p.Name, p.Labels)
			}
		}
	case "volumes":
		for _, id := range sortedKeys(f.volumes) {
			v := f.volumes[id]
			add(v, v.Name, v.Labels)
		}
	case "actions":
		want := map[int64]bool{}
		for _, s := range q["id"] {
			id, _ := strconv.ParseInt(s, 10, 64)
			want[id] = true
		}
		for _, id := range sortedKeys(f.actions) {
			a := f.actions[id]
			if len(want) == 0 || want[id] {
				if len(want) > 0 {
					f.poll(a)
				}
				add(a.Action, "", nil)
			}
		}
	case "locations":
		for _, l := range f.Catalog.Locations {
			add(l, l.Name, nil)
		}
	case "server_types":
		for _, t := range f.Catalog.ServerTypes {
			add(t, t.Name, nil)
		}
	case "images":
		arch := first("architecture")
		types := q["type"]
		for _, im := range f.Catalog.Images {
			if arch != "" && im.Architecture != arch {
				continue
			}
			if len(types) > 0 && !slices.Contains(types, im.Type) {
				continue
			}
			if im.Deprecation != nil && first("include_deprecated") != "true" && first("name") == "" {
				continue
			}
			add(im, deref(im.Name), nil)
		}
	case "pricing":
		return http.StatusOK, pricingAnswer(f.Catalog.Pricing), nil
	default:
		return 0, nil, errStatus(http.StatusNotFound, "not_found", "no such collection: "+kind)
	}

	name := first("name")
	sel, err := parseSelector(first("label_selector"))
	if err != nil {
		return 0, nil, err
	}
	var kept []any
	for i, it := range items {
		if name != "" && names[i] != name {
			continue
		}
		if !sel.matches(labels[i]) {
			continue
		}
		kept = append(kept, it)
	}

	page, perPage := 1, 25
	if p, e := strconv.Atoi(first("page")); e == nil && p > 0 {
		page = p
	}
	if p, e := strconv.Atoi(first("per_page")); e == nil && p > 0 {
		perPage = min(p, 50)
	}
	total := len(kept)
	last := max(1, (total+perPage-1)/perPage)
	lo, hi := min((page-1)*perPage, total), min(page*perPage, total)
	pg := schema.MetaPagination{Page: page, PerPage: perPage, LastPage: last, TotalEntries: total}
	if page > 1 {
		pg.PreviousPage = page - 1
	}
	if page < last {
		pg.NextPage = page + 1
	}
	out := kept[lo:hi]
	if out == nil {
		out = []any{}
	}
	return http.StatusOK, map[string]any{kind: out, "meta": schema.Meta{Pagination: &pg}}, nil
}

// get answers GET /{kind}/{id}.
func (f *Fake) get(kind string, id int64) (int, any, *apiError) {
	var v any
	switch kind {
	case "servers":
		if s := f.servers[id]; s != nil {
			v = s
		}
	case "ssh_keys":
		if k := f.sshKeys[id]; k != nil {
			v = k
		}
	case "firewalls":
		if fw := f.firewalls[id]; fw != nil {
			v = fw
		}
	case "primary_ips":
		if p := f.primaryIPs[id]; p != nil {
			v = p
		}
	case "volumes":
		if vol := f.volumes[id]; vol != nil {
			v = vol
		}
	case "actions":
		if a := f.actions[id]; a != nil {
			f.poll(a)
			v = a.Action
		}
	case "locations":
		for _, l := range f.Catalog.Locations {
			if l.ID == id {
				v = l
			}
		}
	case "server_types":
		for _, t := range f.Catalog.ServerTypes {
			if t.ID == id {
				v = t
			}
		}
	case "images":
		for _, im := range f.Catalog.Images {
			if im.ID == id {
				v = im
			}
		}
	}
	if v == nil {
		return 0, nil, errNotFound(singular(kind), id)
	}
	return http.StatusOK, map[string]any{singular(kind): v}, nil
}

func singular(kind string) string {
	switch kind {
	case "ssh_keys":
		return "ssh_key"
	case "primary_ips":
		return "primary_ip"
	case "server_types":
		return "server_type"
	}
	return strings.TrimSuffix(kind, "s")
}

// --- label selectors ---

type selTerm struct {
	key, value string
	op         string // "=", "!=", "exists", "!exists"
}

type selector []selTerm

func parseSelector(s string) (selector, *apiError) {
	var sel selector
	if s == "" {
		return sel, nil
	}
	for _, t := range strings.Split(s, ",") {
		t = strings.TrimSpace(t)
		switch {
		case strings.Contains(t, "!="):
			k, v, _ := strings.Cut(t, "!=")
			sel = append(sel, selTerm{k, v, "!="})
		case strings.Contains(t, "=="):
			k, v, _ := strings.Cut(t, "==")
			sel = append(sel, selTerm{k, v, "="})
		case strings.Contains(t, "="):
			k, v, _ := strings.Cut(t, "=")
			sel = append(sel, selTerm{k, v, "="})
		case strings.HasPrefix(t, "!"):
			sel = append(sel, selTerm{t[1:], "", "!exists"})
		case t != "":
			sel = append(sel, selTerm{t, "", "exists"})
		default:
			return nil, errInvalid("label_selector", "empty term")
		}
	}
	return sel, nil
}

func (s selector) matches(l map[string]string) bool {
	for _, t := range s {
		v, ok := l[t.key]
		switch t.op {
		case "=":
			if !ok || v != t.value {
				return false
			}
		case "!=":
			if ok && v == t.value {
				return false
			}
		case "exists":
			if !ok {
				return false
			}
		case "!exists":
			if ok {
				return false
			}
		}
	}
	return true
}
