// Package hcloudfake is a stateful fake of the Hetzner Cloud API for tests:
// the subset that terraform-provider-hcloud and hcloud-go use for servers,
// SSH keys, firewalls, primary IPs and volumes, plus the catalogue
// (locations, server types, images, pricing) and actions.
//
// It follows the API as it is today (see docs/hetzner.md for the table of
// endpoints and the changelog entry each one matches): server types carry
// their availability, recommendation and deprecation per location, the
// datacenters endpoints answer 410 Gone, and the removed datacenter
// property of servers and primary IPs is refused in requests and absent
// from answers. Every use of something removed is recorded (Gone), so a
// test can assert that its client uses none.
//
// Responses use hcloud-go's schema types, so the JSON has the API's real
// shapes. Actions run over polls: each read advances an action's progress
// until it succeeds, and only then does its effect land (a server becomes
// running, a deleted one disappears). Lists paginate (page, per_page,
// meta.pagination) and filter by name and label_selector. Errors use the
// API's codes: unauthorized, not_found, uniqueness_error, invalid_input,
// rate_limit_exceeded, resource_unavailable, locked, and the operation
// specific ones of the API reference. Location rules hold as in the API: a
// volume attaches, and a primary IP is assigned, only to a server in its
// own location; firewalls are global. Faults can be injected on chosen
// calls: an error status or a hang.
//
// The files follow the resource families: catalog.go (locations, server
// types, images, pricing), gone.go (what the API removed), servers.go,
// primary_ips.go, firewalls.go, ssh_keys.go, volumes.go, actions.go, and
// list.go (reads, pagination, label selectors); faults.go injects faults.
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
	primaryIPs map[int64]*schema.PrimaryIP
	volumes    map[int64]*schema.Volume
	actions    map[int64]*action
	faults     []*Fault
	calls      []string
	unrouted   []string
	gone       []string
	rateCount  int
	rateStart  time.Time

	Catalog Catalog
	srv     *httptest.Server
}

type server struct {
	schema.Server
	userData string
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
		primaryIPs:     map[int64]*schema.PrimaryIP{},
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

// Calls returns every request seen, as "METHOD /path".
func (f *Fake) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// Unrouted returns the calls the fake does not implement: a test that
// sees any knows the fake fell short of what its client used.
func (f *Fake) Unrouted() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.unrouted...)
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

// PrimaryIPs returns copies of the primary IPs.
func (f *Fake) PrimaryIPs() []schema.PrimaryIP {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []schema.PrimaryIP
	for _, id := range sortedKeys(f.primaryIPs) {
		out = append(out, *f.primaryIPs[id])
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
	details any               // as the API sends them, when not field messages
	fields  map[string]string // invalid_input details
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func errNotFound(kind string, id any) *apiError {
	return &apiError{status: http.StatusNotFound, code: "not_found", message: fmt.Sprintf("%s with ID '%v' not found", kind, id)}
}

func errInvalid(field, msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "invalid_input", message: "invalid input in field '" + field + "'", fields: map[string]string{field: msg}}
}

func errUnique(field string) *apiError {
	return &apiError{status: http.StatusConflict, code: "uniqueness_error", message: field + " is already used", fields: map[string]string{field: "is already used"}}
}

func errStatus(status int, code, msg string) *apiError {
	return &apiError{status: status, code: code, message: msg}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, e *apiError) {
	details := e.details
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
		ft.answer(w, r)
		if !ft.slowOnly() || r.Context().Err() != nil {
			return
		}
	}
	if auth := r.Header.Get("Authorization"); auth != "Bearer "+f.Token {
		writeError(w, errStatus(http.StatusUnauthorized, "unauthorized", "unable to authenticate"))
		return
	}
	if limited {
		w.Header().Set("RateLimit-Remaining", "0")
		writeError(w, errStatus(http.StatusTooManyRequests, "rate_limit_exceeded", "limit of requests per hour reached"))
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

// decoder unmarshals a request body into its argument.
type decoder func(any) *apiError

// route dispatches under the lock.
func (f *Fake) route(r *http.Request, path string) (int, any, *apiError) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	var body []byte
	if r.Body != nil && (r.Method == http.MethodPost || r.Method == http.MethodPut) {
		body, _ = io.ReadAll(r.Body)
	}
	if len(body) == 0 {
		body = []byte("{}")
	}
	decode := func(v any) *apiError {
		if err := json.Unmarshal(body, v); err != nil {
			return errStatus(http.StatusBadRequest, "json_error", "invalid JSON: "+err.Error())
		}
		return nil
	}
	q := r.URL.Query()
	call := r.Method + " " + path

	f.mu.Lock()
	defer f.mu.Unlock()
	kind := parts[0]
	if err := f.removed(call, kind, r.Method, body); err != nil {
		return 0, nil, err
	}
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
			var req updateReq
			if err := decode(&req); err != nil {
				return 0, nil, err
			}
			if req.Labels != nil {
				if err := validLabels(*req.Labels); err != nil {
					return 0, nil, err
				}
			}
			return f.update(kind, id, req)
		case http.MethodDelete:
			return f.delete(kind, id)
		}
	case len(parts) == 4 && parts[2] == "actions" && r.Method == http.MethodPost:
		id, err := strconv.ParseInt(parts[1], 10, 64)
		if err != nil {
			return 0, nil, errInvalid("id", "must be an integer")
		}
		var req actionReq
		if err := decode(&req); err != nil {
			return 0, nil, err
		}
		return f.resourceAction(kind, id, parts[3], req)
	case len(parts) == 3 && parts[1] == "actions" && r.Method == http.MethodGet:
		id, _ := strconv.ParseInt(parts[2], 10, 64)
		return f.get("actions", id)
	}
	f.unrouted = append(f.unrouted, call)
	return 0, nil, errStatus(http.StatusNotFound, "not_found", "no route for "+call)
}

// updateReq is the body of PUT /{kind}/{id}: every kind takes a name and
// labels; primary IPs also auto_delete.
type updateReq struct {
	Name       *string            `json:"name"`
	Labels     *map[string]string `json:"labels"`
	AutoDelete *bool              `json:"auto_delete"`
}

// rename applies req.Name to *target unless another resource has it.
func (req updateReq) rename(target *string, taken func(string) bool) *apiError {
	if req.Name == nil || *req.Name == "" || *req.Name == *target {
		return nil
	}
	if taken(*req.Name) {
		return errUnique("name")
	}
	*target = *req.Name
	return nil
}

func (f *Fake) update(kind string, id int64, req updateReq) (int, any, *apiError) {
	switch kind {
	case "servers":
		return f.updateServer(id, req)
	case "ssh_keys":
		return f.updateSSHKey(id, req)
	case "firewalls":
		return f.updateFirewall(id, req)
	case "primary_ips":
		return f.updatePrimaryIP(id, req)
	case "volumes":
		return f.updateVolume(id, req)
	}
	return 0, nil, errStatus(http.StatusNotFound, "not_found", "cannot update "+kind)
}

func (f *Fake) delete(kind string, id int64) (int, any, *apiError) {
	switch kind {
	case "servers":
		return f.deleteServer(id)
	case "ssh_keys":
		return f.deleteSSHKey(id)
	case "firewalls":
		return f.deleteFirewall(id)
	case "primary_ips":
		return f.deletePrimaryIP(id)
	case "volumes":
		return f.deleteVolume(id)
	}
	return 0, nil, errStatus(http.StatusNotFound, "not_found", "cannot delete "+kind)
}

// actionReq is the union of the bodies of POST /{kind}/{id}/actions/{name}.
type actionReq struct {
	Server      int64                        `json:"server"`
	Automount   *bool                        `json:"automount"`
	Size        int                          `json:"size"`
	Delete      *bool                        `json:"delete"`
	Rebuild     *bool                        `json:"rebuild"`
	AssigneeID  int64                        `json:"assignee_id"`
	IP          string                       `json:"ip"`
	DNSPtr      *string                      `json:"dns_ptr"`
	Rules       []schema.FirewallRuleRequest `json:"rules"`
	ApplyTo     []schema.FirewallResource    `json:"apply_to"`
	RemoveFrom  []schema.FirewallResource    `json:"remove_from"`
	ServerType  schema.IDOrName              `json:"server_type"`
	UpgradeDisk bool                         `json:"upgrade_disk"`
}

func (f *Fake) resourceAction(kind string, id int64, name string, req actionReq) (int, any, *apiError) {
	switch kind {
	case "servers":
		return f.serverAction(id, name, req)
	case "volumes":
		return f.volumeAction(id, name, req)
	case "primary_ips":
		return f.primaryIPAction(id, name, req)
	case "firewalls":
		return f.firewallAction(id, name, req)
	}
	return 0, nil, errUnknownAction(name)
}

func errUnknownAction(name string) *apiError {
	return errStatus(http.StatusNotFound, "not_found", "unknown action "+name)
}

var errProtected = errStatus(http.StatusLocked, "protected", "resource is delete protected")

func (f *Fake) now() time.Time { return time.Now().UTC().Truncate(time.Second) }

func (f *Fake) id() int64 { f.nextID++; return f.nextID }

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

// nameTaken reports whether a resource in m already has the name.
func nameTaken[V any](m map[int64]V, name func(V) string) func(string) bool {
	return func(n string) bool {
		for _, v := range m {
			if name(v) == n {
				return true
			}
		}
		return false
	}
}
