// Package hcloudfake is a stateful fake of the Hetzner Cloud API for tests:
// the subset that terraform-provider-hcloud and hcloud-go use for servers,
// SSH keys, firewalls, primary IPs and volumes, plus the catalogue
// (locations, datacenters, server types, images, pricing) and actions.
//
// Responses use hcloud-go's schema types, so the JSON has the API's real
// shapes. Actions run over polls: each read advances an action's progress
// until it succeeds, and only then does its effect land (a server becomes
// running, a deleted one disappears). Lists paginate (page, per_page,
// meta.pagination) and filter by name and label_selector. Errors use the
// API's codes: unauthorized, not_found, uniqueness_error, invalid_input,
// rate_limit_exceeded, resource_unavailable, locked. Faults can be injected
// on chosen calls: an error status or a hang.
package hcloudfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
)

// Token is a valid token for a Fake made by New: 64 characters, as the
// provider requires.
const Token = "fakefakefakefakefakefakefakefakefakefakefakefakefakefakefake0000"

// Fake is the fake API's state. Its zero value is not usable; call New.
type Fake struct {
	// Token is the bearer token requests must carry.
	Token string
	// PollsPerAction is how many reads an action takes to finish
	// (progress rises evenly until then). Default 2.
	PollsPerAction int
	// RateLimit is how many requests are allowed per RateWindow before
	// rate_limit_exceeded (0: no limit).
	RateLimit  int
	RateWindow time.Duration

	mu         sync.Mutex
	nextID     int64
	nextAction int64
	nextIP     int
	servers    map[int64]*server
	sshKeys    map[int64]*schema.SSHKey
	firewalls  map[int64]*schema.Firewall
	primaryIPs map[int64]*primaryIP
	volumes    map[int64]*schema.Volume
	actions    map[int64]*action
	faults     []*Fault
	calls      []string
	unrouted   []string
	rateCount  int
	rateStart  time.Time

	Catalog Catalog
	srv     *httptest.Server
}

// Catalog is what the fake offers: edit it before the first request.
type Catalog struct {
	Locations   []schema.Location
	Datacenters []schema.Datacenter
	ServerTypes []schema.ServerType
	Images      []schema.Image
	Pricing     schema.Pricing
}

type server struct {
	schema.Server
	Datacenter schema.Datacenter `json:"datacenter"` // older clients (the provider's hcloud-go) read it
	userData   string
}

type primaryIP struct {
	schema.PrimaryIP
	Datacenter schema.Datacenter `json:"datacenter"`
}

type action struct {
	schema.Action
	polls  int
	onDone func() // runs under f.mu when the action succeeds
	failAs *schema.ActionError
}

// Fault makes matching calls fail or hang.
type Fault struct {
	Method string // e.g. "POST"; empty matches any
	Path   string // path after /v1, e.g. "/volumes"; a trailing * matches a prefix
	Skip   int    // let this many matching calls through first
	Times  int    // affect this many calls (0: one; -1: all)
	Status int    // HTTP status (default 500)
	Code   string // error code (default server_error)
	Hang   bool   // block until the client gives up instead of answering

	hits int
}

// New returns a fake with the default catalogue, not yet listening.
func New() *Fake {
	return &Fake{
		Token:          Token,
		PollsPerAction: 2,
		RateWindow:     time.Hour,
		nextID:         1000,
		nextAction:     1,
		servers:        map[int64]*server{},
		sshKeys:        map[int64]*schema.SSHKey{},
		firewalls:      map[int64]*schema.Firewall{},
		primaryIPs:     map[int64]*primaryIP{},
		volumes:        map[int64]*schema.Volume{},
		actions:        map[int64]*action{},
		Catalog:        DefaultCatalog(),
	}
}

// Start serves the fake on a loopback port. Stop it with Close.
func (f *Fake) Start() *Fake {
	f.srv = httptest.NewServer(f)
	return f
}

// URL is the API endpoint, for HCLOUD_ENDPOINT: http://127.0.0.1:PORT/v1.
func (f *Fake) URL() string { return f.srv.URL + "/v1" }

// Close stops serving; hanging calls are released.
func (f *Fake) Close() {
	if f.srv != nil {
		f.srv.CloseClientConnections()
		f.srv.Close()
	}
}

// Inject adds a fault.
func (f *Fake) Inject(ft Fault) *Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := &ft
	f.faults = append(f.faults, p)
	return p
}

// ClearFaults removes every fault.
func (f *Fake) ClearFaults() {
	f.mu.Lock()
	f.faults = nil
	f.mu.Unlock()
}

// Calls returns every request seen, as "METHOD /path".
func (f *Fake) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// Counts reports how many resources of each kind exist.
func (f *Fake) Counts() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return map[string]int{
		"servers":     len(f.servers),
		"ssh_keys":    len(f.sshKeys),
		"firewalls":   len(f.firewalls),
		"primary_ips": len(f.primaryIPs),
		"volumes":     len(f.volumes),
	}
}

// Empty reports whether no resources are left.
func (f *Fake) Empty() bool {
	for _, n := range f.Counts() {
		if n > 0 {
			return false
		}
	}
	return true
}

// Servers returns copies of the servers.
func (f *Fake) Servers() []schema.Server {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []schema.Server
	for _, id := range sortedKeys(f.servers) {
		out = append(out, f.servers[id].Server)
	}
	return out
}

// UserData returns the user data a server was created with.
func (f *Fake) UserData(id int64) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.servers[id]; s != nil {
		return s.userData
	}
	return ""
}

// apiError is an error answer.
type apiError struct {
	status  int
	code    string
	message string
	fields  map[string]string // invalid_input details
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func errNotFound(kind string, id any) *apiError {
	return &apiError{http.StatusNotFound, "not_found", fmt.Sprintf("%s with ID '%v' not found", kind, id), nil}
}

func errInvalid(field, msg string) *apiError {
	return &apiError{http.StatusBadRequest, "invalid_input", "invalid input in field '" + field + "'", map[string]string{field: msg}}
}

func errUnique(field string) *apiError {
	return &apiError{http.StatusConflict, "uniqueness_error", field + " is already used", map[string]string{field: "is already used"}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, e *apiError) {
	var details any
	if len(e.fields) > 0 {
		type field struct {
			Name     string   `json:"name"`
			Messages []string `json:"messages"`
		}
		var fs []field
		for _, k := range sortedStrings(e.fields) {
			fs = append(fs, field{k, []string{e.fields[k]}})
		}
		details = map[string]any{"fields": fs}
	}
	writeJSON(w, e.status, map[string]any{"error": map[string]any{"code": e.code, "message": e.message, "details": details}})
}

// ServeHTTP answers one API request.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/v1")
	f.mu.Lock()
	f.calls = append(f.calls, r.Method+" "+path)
	ft := f.matchFault(r.Method, path)
	limited := f.rateLimited()
	f.mu.Unlock()

	w.Header().Set("RateLimit-Limit", strconv.Itoa(max(f.RateLimit, 3600)))
	if ft != nil {
		if ft.Hang {
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Minute):
			}
			return
		}
		st, code := ft.Status, ft.Code
		if st == 0 {
			st = http.StatusInternalServerError
		}
		if code == "" {
			code = "server_error"
		}
		writeError(w, &apiError{st, code, "injected fault", nil})
		return
	}
	if auth := r.Header.Get("Authorization"); auth != "Bearer "+f.Token {
		writeError(w, &apiError{http.StatusUnauthorized, "unauthorized", "unable to authenticate", nil})
		return
	}
	if limited {
		w.Header().Set("RateLimit-Remaining", "0")
		writeError(w, &apiError{http.StatusTooManyRequests, "rate_limit_exceeded", "limit of requests per hour reached", nil})
		return
	}
	status, body, err := f.route(r, path)
	if err != nil {
		writeError(w, err)
		return
	}
	if body == nil {
		w.WriteHeader(status)
		return
	}
	writeJSON(w, status, body)
}

func (f *Fake) matchFault(method, path string) *Fault {
	for _, ft := range f.faults {
		if ft.Method != "" && ft.Method != method {
			continue
		}
		if p, ok := strings.CutSuffix(ft.Path, "*"); ok {
			if !strings.HasPrefix(path, p) {
				continue
			}
		} else if ft.Path != path {
			continue
		}
		ft.hits++
		if ft.hits <= ft.Skip {
			continue
		}
		times := ft.Times
		if times == 0 {
			times = 1
		}
		if times > 0 && ft.hits > ft.Skip+times {
			continue
		}
		return ft
	}
	return nil
}

func (f *Fake) rateLimited() bool {
	if f.RateLimit <= 0 {
		return false
	}
	now := time.Now()
	if now.Sub(f.rateStart) > f.RateWindow {
		f.rateStart, f.rateCount = now, 0
	}
	f.rateCount++
	return f.rateCount > f.RateLimit
}

// route dispatches under the lock.
func (f *Fake) route(r *http.Request, path string) (int, any, *apiError) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	var body []byte
	if r.Body != nil && (r.Method == http.MethodPost || r.Method == http.MethodPut) {
		body, _ = io.ReadAll(r.Body)
	}
	decode := func(v any) *apiError {
		if len(body) == 0 {
			body = []byte("{}")
		}
		if err := json.Unmarshal(body, v); err != nil {
			return &apiError{http.StatusBadRequest, "json_error", "invalid JSON: " + err.Error(), nil}
		}
		return nil
	}
	q := r.URL.Query()

	f.mu.Lock()
	defer f.mu.Unlock()
	kind := parts[0]
	switch {
	case len(parts) == 1 && r.Method == http.MethodGet:
		return f.list(kind, q)
	case len(parts) == 1 && r.Method == http.MethodPost:
		switch kind {
		case "ssh_keys":
			return f.createSSHKey(decode)
		case "firewalls":
			return f.createFirewall(decode)
		case "primary_ips":
			return f.createPrimaryIP(decode)
		case "servers":
			return f.createServer(decode)
		case "volumes":
			return f.createVolume(decode)
		}
	case len(parts) == 2:
		id, err := strconv.ParseInt(parts[1], 10, 64)
		if err != nil {
			return 0, nil, errInvalid("id", "must be an integer")
		}
		switch r.Method {
		case http.MethodGet:
			return f.get(kind, id)
		case http.MethodPut:
			return f.update(kind, id, decode)
		case http.MethodDelete:
			return f.delete(kind, id)
		}
	case len(parts) == 4 && parts[2] == "actions" && r.Method == http.MethodPost:
		id, err := strconv.ParseInt(parts[1], 10, 64)
		if err != nil {
			return 0, nil, errInvalid("id", "must be an integer")
		}
		return f.resourceAction(kind, id, parts[3], decode)
	case len(parts) == 3 && parts[1] == "actions" && r.Method == http.MethodGet:
		id, _ := strconv.ParseInt(parts[2], 10, 64)
		return f.get("actions", id)
	}
	f.unrouted = append(f.unrouted, r.Method+" "+path)
	return 0, nil, &apiError{http.StatusNotFound, "not_found", "no route for " + r.Method + " " + path, nil}
}

// Unrouted returns the calls the fake does not implement: a test that
// sees any knows the fake fell short of what its client used.
func (f *Fake) Unrouted() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.unrouted...)
}

func (f *Fake) now() time.Time { return time.Now().UTC().Truncate(time.Second) }

func (f *Fake) id() int64 { f.nextID++; return f.nextID }

// newAction starts an action on resources; onDone runs when it succeeds.
func (f *Fake) newAction(command string, onDone func(), res ...schema.ActionResourceReference) *action {
	a := &action{Action: schema.Action{
		ID: f.nextAction, Status: "running", Command: command, Started: f.now(),
		Resources: append([]schema.ActionResourceReference{}, res...),
	}, onDone: onDone}
	f.nextAction++
	f.actions[a.ID] = a
	return a
}

// poll advances an action by one read.
func (f *Fake) poll(a *action) {
	if a.Status != "running" {
		return
	}
	a.polls++
	n := max(f.PollsPerAction, 1)
	a.Progress = min(100, a.polls*100/n)
	if a.polls < n {
		return
	}
	now := f.now()
	a.Finished = &now
	if a.failAs != nil {
		a.Status, a.Error = "error", a.failAs
		return
	}
	a.Status, a.Progress = "success", 100
	if a.onDone != nil {
		a.onDone()
		a.onDone = nil
	}
}

// FinishActions completes every running action at once (as if time passed).
func (f *Fake) FinishActions() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range sortedKeys(f.actions) {
		a := f.actions[id]
		for a.Status == "running" {
			f.poll(a)
		}
	}
}

func ref(kind string, id int64) schema.ActionResourceReference {
	return schema.ActionResourceReference{ID: id, Type: kind}
}

// --- listing and pagination ---

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
	case "datacenters":
		for _, d := range f.Catalog.Datacenters {
			add(d, d.Name, nil)
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
			if len(types) > 0 && !contains(types, im.Type) {
				continue
			}
			if im.Deprecated != nil && first("include_deprecated") != "true" && first("name") == "" {
				continue
			}
			add(im, deref(im.Name), nil)
		}
	case "pricing":
		return http.StatusOK, schema.PricingGetResponse{Pricing: f.Catalog.Pricing}, nil
	default:
		return 0, nil, &apiError{http.StatusNotFound, "not_found", "no such collection: " + kind, nil}
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
	case "datacenters":
		for _, d := range f.Catalog.Datacenters {
			if d.ID == id {
				v = d
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

// --- helpers ---

func sortedKeys[V any](m map[int64]V) []int64 {
	ks := make([]int64, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i] < ks[j] })
	return ks
}

func sortedStrings(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func labelsOf(p *map[string]string) map[string]string {
	if p == nil || *p == nil {
		return map[string]string{}
	}
	out := make(map[string]string, len(*p))
	for k, v := range *p {
		out[k] = v
	}
	return out
}

// validLabels checks label keys and values roughly as the API does.
func validLabels(l map[string]string) *apiError {
	for k, v := range l {
		if k == "" || len(k) > 63 || len(v) > 63 || strings.ContainsAny(k+v, " \t\n,=!") {
			return errInvalid("labels", fmt.Sprintf("label %q=%q is not valid", k, v))
		}
	}
	return nil
}
