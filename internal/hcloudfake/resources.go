package hcloudfake

import (
	"fmt"
	"net"
	"net/http"
	"regexp"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
	"golang.org/x/crypto/ssh"
)

var hostnameRE = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$`)

type decoder func(any) *apiError

// --- SSH keys ---

func (f *Fake) createSSHKey(decode decoder) (int, any, *apiError) {
	var req schema.SSHKeyCreateRequest
	if err := decode(&req); err != nil {
		return 0, nil, err
	}
	if req.Name == "" {
		return 0, nil, errInvalid("name", "is required")
	}
	pub, _, _, _, perr := ssh.ParseAuthorizedKey([]byte(req.PublicKey))
	if perr != nil {
		return 0, nil, errInvalid("public_key", "is not a valid public key")
	}
	labels := labelsOf(req.Labels)
	if err := validLabels(labels); err != nil {
		return 0, nil, err
	}
	fp := ssh.FingerprintLegacyMD5(pub)
	for _, k := range f.sshKeys {
		if k.Name == req.Name {
			return 0, nil, errUnique("name")
		}
		if k.Fingerprint == fp {
			return 0, nil, &apiError{http.StatusConflict, "uniqueness_error", "SSH key with the same fingerprint already exists", map[string]string{"public_key": "is already used"}}
		}
	}
	k := &schema.SSHKey{ID: f.id(), Name: req.Name, Fingerprint: fp, PublicKey: req.PublicKey, Labels: labels, Created: f.now()}
	f.sshKeys[k.ID] = k
	return http.StatusCreated, schema.SSHKeyCreateResponse{SSHKey: *k}, nil
}

// --- firewalls ---

func rulesFrom(reqs []schema.FirewallRuleRequest) ([]schema.FirewallRule, *apiError) {
	out := []schema.FirewallRule{}
	for i, r := range reqs {
		field := fmt.Sprintf("rules[%d]", i)
		if r.Direction != "in" && r.Direction != "out" {
			return nil, errInvalid(field+".direction", "must be in or out")
		}
		switch r.Protocol {
		case "tcp", "udp":
			if r.Port == nil || *r.Port == "" {
				return nil, errInvalid(field+".port", "is required for tcp and udp")
			}
		case "icmp", "esp", "gre":
			if r.Port != nil {
				return nil, errInvalid(field+".port", "is not allowed for "+r.Protocol)
			}
		default:
			return nil, errInvalid(field+".protocol", "must be tcp, udp, icmp, esp or gre")
		}
		ips := r.SourceIPs
		if r.Direction == "out" {
			ips = r.DestinationIPs
		}
		if len(ips) == 0 {
			return nil, errInvalid(field, "needs at least one IP network")
		}
		for _, c := range ips {
			if _, _, err := net.ParseCIDR(c); err != nil {
				return nil, errInvalid(field, c+" is not a CIDR")
			}
		}
		rule := schema.FirewallRule{Direction: r.Direction, Protocol: r.Protocol, Port: r.Port, Description: r.Description,
			SourceIPs: nonNil(r.SourceIPs), DestinationIPs: nonNil(r.DestinationIPs)}
		out = append(out, rule)
	}
	return out, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (f *Fake) createFirewall(decode decoder) (int, any, *apiError) {
	var req schema.FirewallCreateRequest
	if err := decode(&req); err != nil {
		return 0, nil, err
	}
	if req.Name == "" {
		return 0, nil, errInvalid("name", "is required")
	}
	for _, fw := range f.firewalls {
		if fw.Name == req.Name {
			return 0, nil, errUnique("name")
		}
	}
	rules, err := rulesFrom(req.Rules)
	if err != nil {
		return 0, nil, err
	}
	labels := labelsOf(req.Labels)
	if err := validLabels(labels); err != nil {
		return 0, nil, err
	}
	fw := &schema.Firewall{ID: f.id(), Name: req.Name, Labels: labels, Created: f.now(), Rules: rules, AppliedTo: []schema.FirewallResource{}}
	f.firewalls[fw.ID] = fw
	actions := []schema.Action{}
	if len(req.Rules) > 0 {
		actions = append(actions, f.newAction("set_firewall_rules", nil, ref("firewall", fw.ID)).Action)
	}
	for _, res := range req.ApplyTo {
		a, err := f.applyFirewall(fw, res)
		if err != nil {
			return 0, nil, err
		}
		actions = append(actions, a.Action)
	}
	return http.StatusCreated, schema.FirewallCreateResponse{Firewall: *fw, Actions: actions}, nil
}

func (f *Fake) applyFirewall(fw *schema.Firewall, res schema.FirewallResource) (*action, *apiError) {
	if res.Type != "server" || res.Server == nil {
		return nil, errInvalid("apply_to", "only servers are supported by this fake")
	}
	s := f.servers[res.Server.ID]
	if s == nil {
		return nil, errInvalid("apply_to", fmt.Sprintf("server %d not found", res.Server.ID))
	}
	for _, r := range fw.AppliedTo {
		if r.Server != nil && r.Server.ID == s.ID {
			return nil, &apiError{http.StatusUnprocessableEntity, "firewall_already_applied", "firewall is already applied", nil}
		}
	}
	fw.AppliedTo = append(fw.AppliedTo, schema.FirewallResource{Type: "server", Server: &schema.FirewallResourceServer{ID: s.ID}})
	s.PublicNet.Firewalls = append(s.PublicNet.Firewalls, schema.ServerFirewall{ID: fw.ID, Status: "pending"})
	fwID, sID := fw.ID, s.ID
	return f.newAction("apply_firewall", func() { f.setFirewallStatus(sID, fwID, "applied") }, ref("firewall", fw.ID), ref("server", s.ID)), nil
}

func (f *Fake) setFirewallStatus(serverID, fwID int64, status string) {
	if s := f.servers[serverID]; s != nil {
		for i := range s.PublicNet.Firewalls {
			if s.PublicNet.Firewalls[i].ID == fwID {
				s.PublicNet.Firewalls[i].Status = status
			}
		}
	}
}

func (f *Fake) removeFirewall(fw *schema.Firewall, serverID int64) {
	var kept []schema.FirewallResource
	for _, r := range fw.AppliedTo {
		if r.Server == nil || r.Server.ID != serverID {
			kept = append(kept, r)
		}
	}
	fw.AppliedTo = append([]schema.FirewallResource{}, kept...)
	if s := f.servers[serverID]; s != nil {
		var fws []schema.ServerFirewall
		for _, x := range s.PublicNet.Firewalls {
			if x.ID != fw.ID {
				fws = append(fws, x)
			}
		}
		s.PublicNet.Firewalls = append([]schema.ServerFirewall{}, fws...)
	}
}

// --- primary IPs ---

type primaryIPCreate struct {
	schema.PrimaryIPCreateRequest
	Datacenter string `json:"datacenter,omitempty"` // older clients send a datacenter
}

func (f *Fake) allocIP(typ string) string {
	f.nextIP++
	if typ == "ipv6" {
		return fmt.Sprintf("2001:db8:%x::/64", f.nextIP)
	}
	return fmt.Sprintf("198.51.%d.%d", 100+f.nextIP/250, f.nextIP%250+1)
}

func (f *Fake) newPrimaryIP(name, typ string, dc schema.Datacenter, autoDelete bool, labels map[string]string) *primaryIP {
	id := f.id()
	if name == "" {
		name = fmt.Sprintf("primary_ip-%d", id)
	}
	ip := f.allocIP(typ)
	ptr := []schema.PrimaryIPDNSPTR{}
	if typ == "ipv4" {
		ptr = append(ptr, schema.PrimaryIPDNSPTR{IP: ip, DNSPtr: "static." + ip + ".clients.your-server.de"})
	}
	p := &primaryIP{PrimaryIP: schema.PrimaryIP{
		ID: id, IP: ip, Name: name, Type: typ, Labels: labels, DNSPtr: ptr, AssigneeType: "server",
		AutoDelete: autoDelete, Created: f.now(), Location: dc.Location,
	}, Datacenter: dc}
	f.primaryIPs[id] = p
	return p
}

func (f *Fake) createPrimaryIP(decode decoder) (int, any, *apiError) {
	var req primaryIPCreate
	if err := decode(&req); err != nil {
		return 0, nil, err
	}
	if req.Type != "ipv4" && req.Type != "ipv6" {
		return 0, nil, errInvalid("type", "must be ipv4 or ipv6")
	}
	if req.AssigneeType != "server" {
		return 0, nil, errInvalid("assignee_type", "must be server")
	}
	if req.Name == "" {
		return 0, nil, errInvalid("name", "is required")
	}
	for _, p := range f.primaryIPs {
		if p.Name == req.Name {
			return 0, nil, errUnique("name")
		}
	}
	labels := labelsOf(req.Labels)
	if err := validLabels(labels); err != nil {
		return 0, nil, err
	}
	var dc schema.Datacenter
	var assignee *server
	switch {
	case req.AssigneeID != nil && (req.Datacenter != "" || req.Location != ""):
		return 0, nil, errInvalid("assignee_id", "cannot be combined with datacenter or location")
	case req.AssigneeID != nil:
		assignee = f.servers[*req.AssigneeID]
		if assignee == nil {
			return 0, nil, errInvalid("assignee_id", "server not found")
		}
		dc = assignee.Datacenter
	case req.Datacenter != "":
		d, ok := f.datacenter(req.Datacenter)
		if !ok {
			return 0, nil, errInvalid("datacenter", "datacenter "+req.Datacenter+" not found")
		}
		dc = d
	case req.Location != "":
		d, ok := f.datacenterIn(req.Location)
		if !ok {
			return 0, nil, errInvalid("location", "location "+req.Location+" not found")
		}
		dc = d
	default:
		return 0, nil, errInvalid("datacenter", "one of datacenter, location or assignee_id is required")
	}
	autoDelete := req.AutoDelete != nil && *req.AutoDelete
	p := f.newPrimaryIP(req.Name, req.Type, dc, autoDelete, labels)
	resp := schema.PrimaryIPCreateResponse{PrimaryIP: p.PrimaryIP}
	if assignee != nil {
		a, err := f.assignPrimaryIP(p, assignee)
		if err != nil {
			delete(f.primaryIPs, p.ID)
			return 0, nil, err
		}
		resp.Action = &a.Action
	}
	return http.StatusCreated, map[string]any{"primary_ip": p, "action": resp.Action}, nil
}

func (f *Fake) assignPrimaryIP(p *primaryIP, s *server) (*action, *apiError) {
	if p.AssigneeID != nil {
		return nil, &apiError{http.StatusConflict, "primary_ip_assigned", "primary IP is already assigned", nil}
	}
	if p.Location.Name != s.Location.Name {
		return nil, &apiError{http.StatusUnprocessableEntity, "primary_ip_datacenter_mismatch", "primary IP and server are in different locations", nil}
	}
	if p.Type == "ipv4" && s.PublicNet.IPv4.ID != 0 || p.Type == "ipv6" && s.PublicNet.IPv6.ID != 0 {
		return nil, &apiError{http.StatusConflict, "server_has_ipv" + p.Type[3:], "server already has a primary " + p.Type, nil}
	}
	f.attachIP(p, s)
	return f.newAction("assign_primary_ip", nil, ref("primary_ip", p.ID), ref("server", s.ID)), nil
}

func (f *Fake) attachIP(p *primaryIP, s *server) {
	id := s.ID
	p.AssigneeID = &id
	if p.Type == "ipv4" {
		s.PublicNet.IPv4 = schema.ServerPublicNetIPv4{ID: p.ID, IP: p.IP, DNSPtr: "static." + p.IP + ".clients.your-server.de"}
	} else {
		s.PublicNet.IPv6 = schema.ServerPublicNetIPv6{ID: p.ID, IP: p.IP, DNSPtr: []schema.ServerPublicNetIPv6DNSPtr{}}
	}
}

func (f *Fake) detachIP(p *primaryIP) {
	if p.AssigneeID == nil {
		return
	}
	if s := f.servers[*p.AssigneeID]; s != nil {
		if s.PublicNet.IPv4.ID == p.ID {
			s.PublicNet.IPv4 = schema.ServerPublicNetIPv4{}
		}
		if s.PublicNet.IPv6.ID == p.ID {
			s.PublicNet.IPv6 = schema.ServerPublicNetIPv6{DNSPtr: []schema.ServerPublicNetIPv6DNSPtr{}}
		}
	}
	p.AssigneeID = nil
}

// --- servers ---

type serverCreate struct {
	schema.ServerCreateRequest
	Datacenter string `json:"datacenter,omitempty"`
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

func (f *Fake) datacenter(name string) (schema.Datacenter, bool) {
	for _, d := range f.Catalog.Datacenters {
		if d.Name == name {
			return d, true
		}
	}
	return schema.Datacenter{}, false
}

func (f *Fake) datacenterIn(location string) (schema.Datacenter, bool) {
	for _, d := range f.Catalog.Datacenters {
		if d.Location.Name == location {
			return d, true
		}
	}
	return schema.Datacenter{}, false
}

func (f *Fake) createServer(decode decoder) (int, any, *apiError) {
	var req serverCreate
	if err := decode(&req); err != nil {
		return 0, nil, err
	}
	if !hostnameRE.MatchString(req.Name) {
		return 0, nil, errInvalid("name", "must be a valid hostname")
	}
	for _, s := range f.servers {
		if s.Name == req.Name {
			return 0, nil, errUnique("name")
		}
	}
	st, ok := f.serverType(req.ServerType)
	if !ok {
		return 0, nil, errInvalid("server_type", "server type not found")
	}
	im, ok := f.image(req.Image, st.Architecture)
	if !ok {
		return 0, nil, errInvalid("image", "image not found")
	}
	labels := labelsOf(req.Labels)
	if err := validLabels(labels); err != nil {
		return 0, nil, err
	}
	var dc schema.Datacenter
	switch {
	case req.Datacenter != "":
		if dc, ok = f.datacenter(req.Datacenter); !ok {
			return 0, nil, errInvalid("datacenter", "datacenter not found")
		}
	case req.Location != "":
		if dc, ok = f.datacenterIn(req.Location); !ok {
			return 0, nil, errInvalid("location", "location not found")
		}
	default:
		dc = f.Catalog.Datacenters[0]
	}
	if dc.ServerTypes == nil || !containsID(dc.ServerTypes.Available, st.ID) {
		return 0, nil, &apiError{http.StatusPreconditionFailed, "resource_unavailable", "server type " + st.Name + " is unavailable in " + dc.Location.Name, nil}
	}
	for _, k := range req.SSHKeys {
		if f.sshKeys[k] == nil {
			return 0, nil, errInvalid("ssh_keys", fmt.Sprintf("SSH key %d not found", k))
		}
	}
	for _, fw := range req.Firewalls {
		if f.firewalls[fw.Firewall] == nil {
			return 0, nil, errInvalid("firewalls", fmt.Sprintf("firewall %d not found", fw.Firewall))
		}
	}
	pn := req.PublicNet
	if pn == nil {
		pn = &schema.ServerCreatePublicNet{EnableIPv4: true, EnableIPv6: true}
	}
	var ips []*primaryIP
	for _, want := range []struct {
		id      int64
		enabled bool
		typ     string
	}{{pn.IPv4ID, pn.EnableIPv4, "ipv4"}, {pn.IPv6ID, pn.EnableIPv6, "ipv6"}} {
		if want.id == 0 {
			continue
		}
		p := f.primaryIPs[want.id]
		if p == nil || p.Type != want.typ {
			return 0, nil, errInvalid("public_net."+want.typ, "primary IP not found")
		}
		if p.AssigneeID != nil {
			return 0, nil, &apiError{http.StatusConflict, "primary_ip_assigned", "primary IP is already assigned", nil}
		}
		if p.Location.Name != dc.Location.Name {
			return 0, nil, &apiError{http.StatusUnprocessableEntity, "primary_ip_datacenter_mismatch", "primary IP is in another location", nil}
		}
		ips = append(ips, p)
	}
	for _, v := range req.Volumes {
		if vol := f.volumes[v]; vol == nil || vol.Server != nil {
			return 0, nil, errInvalid("volumes", fmt.Sprintf("volume %d not found or attached", v))
		}
	}

	s := &server{Server: schema.Server{
		ID: f.id(), Name: req.Name, Status: "initializing", Created: f.now(),
		PublicNet: schema.ServerPublicNet{
			IPv6: schema.ServerPublicNetIPv6{DNSPtr: []schema.ServerPublicNetIPv6DNSPtr{}}, FloatingIPs: []int64{}, Firewalls: []schema.ServerFirewall{},
		},
		PrivateNet: []schema.ServerPrivateNet{}, ServerType: st, IncludedTraffic: 21990232555520,
		Location: dc.Location, Image: &im, Labels: labels, Volumes: []int64{}, PrimaryDiskSize: st.Disk,
		LoadBalancers: []int64{},
	}, Datacenter: dc, userData: req.UserData}
	f.servers[s.ID] = s
	for _, p := range ips {
		f.attachIP(p, s)
	}
	if pn.EnableIPv4 && s.PublicNet.IPv4.ID == 0 {
		f.attachIP(f.newPrimaryIP("", "ipv4", dc, true, map[string]string{}), s)
	}
	if pn.EnableIPv6 && s.PublicNet.IPv6.ID == 0 {
		f.attachIP(f.newPrimaryIP("", "ipv6", dc, true, map[string]string{}), s)
	}
	for _, fw := range req.Firewalls {
		if _, err := f.applyFirewall(f.firewalls[fw.Firewall], schema.FirewallResource{Type: "server", Server: &schema.FirewallResourceServer{ID: s.ID}}); err != nil {
			return 0, nil, err
		}
	}
	start := req.StartAfterCreate == nil || *req.StartAfterCreate
	id := s.ID
	create := f.newAction("create_server", func() {
		if s := f.servers[id]; s != nil {
			s.Status = "off"
			if start {
				s.Status = "running"
			}
			for _, fw := range s.PublicNet.Firewalls {
				f.setFirewallStatus(id, fw.ID, "applied")
			}
		}
	}, ref("server", s.ID))
	next := []schema.Action{}
	if start {
		next = append(next, f.newAction("start_server", nil, ref("server", s.ID)).Action)
	}
	for _, v := range req.Volumes {
		next = append(next, f.attachVolume(f.volumes[v], s).Action)
	}
	var rootPassword *string
	if len(req.SSHKeys) == 0 {
		pw := "fake-root-password"
		rootPassword = &pw
	}
	return http.StatusCreated, map[string]any{"server": s, "action": create.Action, "next_actions": next, "root_password": rootPassword}, nil
}

func containsID(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// deleteServer removes a server and what dies with it.
func (f *Fake) deleteServer(id int64) {
	s := f.servers[id]
	if s == nil {
		return
	}
	for _, pid := range sortedKeys(f.primaryIPs) {
		p := f.primaryIPs[pid]
		if p.AssigneeID != nil && *p.AssigneeID == id {
			f.detachIP(p)
			if p.AutoDelete {
				delete(f.primaryIPs, pid)
			}
		}
	}
	for _, v := range f.volumes {
		if v.Server != nil && *v.Server == id {
			v.Server, v.LinuxDevice = nil, ""
		}
	}
	for _, fw := range f.firewalls {
		f.removeFirewall(fw, id)
	}
	delete(f.servers, id)
}

// --- volumes ---

func (f *Fake) createVolume(decode decoder) (int, any, *apiError) {
	var req schema.VolumeCreateRequest
	if err := decode(&req); err != nil {
		return 0, nil, err
	}
	if req.Name == "" {
		return 0, nil, errInvalid("name", "is required")
	}
	for _, v := range f.volumes {
		if v.Name == req.Name {
			return 0, nil, errUnique("name")
		}
	}
	if req.Size < 10 || req.Size > 10240 {
		return 0, nil, errInvalid("size", "must be between 10 and 10240")
	}
	if req.Format != nil && *req.Format != "ext4" && *req.Format != "xfs" {
		return 0, nil, errInvalid("format", "must be ext4 or xfs")
	}
	labels := labelsOf(req.Labels)
	if err := validLabels(labels); err != nil {
		return 0, nil, err
	}
	var loc schema.Location
	var srv *server
	switch {
	case req.Server != nil && req.Location != nil:
		return 0, nil, errInvalid("location", "cannot be combined with server")
	case req.Server != nil:
		if srv = f.servers[*req.Server]; srv == nil {
			return 0, nil, errInvalid("server", "server not found")
		}
		loc = srv.Location
	case req.Location != nil:
		d, ok := f.datacenterIn(req.Location.Name)
		if !ok {
			return 0, nil, errInvalid("location", "location not found")
		}
		loc = d.Location
	default:
		return 0, nil, errInvalid("location", "one of location or server is required")
	}
	v := &schema.Volume{ID: f.id(), Name: req.Name, Status: "creating", Location: loc, Size: req.Size,
		Format: req.Format, Labels: labels, Created: f.now()}
	f.volumes[v.ID] = v
	vid := v.ID
	create := f.newAction("create_volume", func() {
		if v := f.volumes[vid]; v != nil {
			v.Status = "available"
		}
	}, ref("volume", v.ID))
	next := []schema.Action{}
	if srv != nil {
		next = append(next, f.attachVolume(v, srv).Action)
	}
	return http.StatusCreated, schema.VolumeCreateResponse{Volume: *v, Action: &create.Action, NextActions: next}, nil
}

func (f *Fake) attachVolume(v *schema.Volume, s *server) *action {
	vid, sid := v.ID, s.ID
	v.Server = &sid
	v.LinuxDevice = fmt.Sprintf("/dev/disk/by-id/scsi-0HC_Volume_%d", v.ID)
	s.Volumes = append(s.Volumes, vid)
	return f.newAction("attach_volume", nil, ref("volume", vid), ref("server", sid))
}

func (f *Fake) detachVolume(v *schema.Volume) *action {
	if v.Server != nil {
		if s := f.servers[*v.Server]; s != nil {
			var kept []int64
			for _, id := range s.Volumes {
				if id != v.ID {
					kept = append(kept, id)
				}
			}
			s.Volumes = append([]int64{}, kept...)
		}
	}
	v.Server, v.LinuxDevice = nil, ""
	return f.newAction("detach_volume", nil, ref("volume", v.ID))
}

// --- update, delete, actions ---

type updateReq struct {
	Name       *string            `json:"name"`
	Labels     *map[string]string `json:"labels"`
	AutoDelete *bool              `json:"auto_delete"`
}

func (f *Fake) update(kind string, id int64, decode decoder) (int, any, *apiError) {
	var req updateReq
	if err := decode(&req); err != nil {
		return 0, nil, err
	}
	if req.Labels != nil {
		if err := validLabels(*req.Labels); err != nil {
			return 0, nil, err
		}
	}
	setName := func(name *string, taken func(string) bool, target *string) *apiError {
		if req.Name == nil || *req.Name == "" || *req.Name == *target {
			return nil
		}
		if taken(*req.Name) {
			return errUnique("name")
		}
		*target = *req.Name
		return nil
	}
	switch kind {
	case "servers":
		s := f.servers[id]
		if s == nil {
			return 0, nil, errNotFound("server", id)
		}
		if err := setName(req.Name, func(n string) bool { return f.serverNamed(n) }, &s.Name); err != nil {
			return 0, nil, err
		}
		if req.Labels != nil {
			s.Labels = labelsOf(req.Labels)
		}
		return http.StatusOK, map[string]any{"server": s}, nil
	case "ssh_keys":
		k := f.sshKeys[id]
		if k == nil {
			return 0, nil, errNotFound("ssh_key", id)
		}
		if err := setName(req.Name, func(n string) bool {
			for _, o := range f.sshKeys {
				if o.Name == n {
					return true
				}
			}
			return false
		}, &k.Name); err != nil {
			return 0, nil, err
		}
		if req.Labels != nil {
			k.Labels = labelsOf(req.Labels)
		}
		return http.StatusOK, schema.SSHKeyUpdateResponse{SSHKey: *k}, nil
	case "firewalls":
		fw := f.firewalls[id]
		if fw == nil {
			return 0, nil, errNotFound("firewall", id)
		}
		if err := setName(req.Name, func(n string) bool {
			for _, o := range f.firewalls {
				if o.Name == n {
					return true
				}
			}
			return false
		}, &fw.Name); err != nil {
			return 0, nil, err
		}
		if req.Labels != nil {
			fw.Labels = labelsOf(req.Labels)
		}
		return http.StatusOK, schema.FirewallUpdateResponse{Firewall: *fw}, nil
	case "primary_ips":
		p := f.primaryIPs[id]
		if p == nil {
			return 0, nil, errNotFound("primary_ip", id)
		}
		if err := setName(req.Name, func(n string) bool {
			for _, o := range f.primaryIPs {
				if o.Name == n {
					return true
				}
			}
			return false
		}, &p.Name); err != nil {
			return 0, nil, err
		}
		if req.Labels != nil {
			p.Labels = labelsOf(req.Labels)
		}
		if req.AutoDelete != nil {
			p.AutoDelete = *req.AutoDelete
		}
		return http.StatusOK, map[string]any{"primary_ip": p}, nil
	case "volumes":
		v := f.volumes[id]
		if v == nil {
			return 0, nil, errNotFound("volume", id)
		}
		if err := setName(req.Name, func(n string) bool {
			for _, o := range f.volumes {
				if o.Name == n {
					return true
				}
			}
			return false
		}, &v.Name); err != nil {
			return 0, nil, err
		}
		if req.Labels != nil {
			v.Labels = labelsOf(req.Labels)
		}
		return http.StatusOK, schema.VolumeUpdateResponse{Volume: *v}, nil
	}
	return 0, nil, &apiError{http.StatusNotFound, "not_found", "cannot update " + kind, nil}
}

func (f *Fake) serverNamed(n string) bool {
	for _, s := range f.servers {
		if s.Name == n {
			return true
		}
	}
	return false
}

var errProtected = &apiError{http.StatusLocked, "protected", "resource is delete protected", nil}

func (f *Fake) delete(kind string, id int64) (int, any, *apiError) {
	switch kind {
	case "servers":
		s := f.servers[id]
		if s == nil {
			return 0, nil, errNotFound("server", id)
		}
		if s.Protection.Delete {
			return 0, nil, errProtected
		}
		s.Status = "deleting"
		a := f.newAction("delete_server", func() { f.deleteServer(id) }, ref("server", id))
		return http.StatusOK, schema.ServerDeleteResponse{Action: a.Action}, nil
	case "ssh_keys":
		if f.sshKeys[id] == nil {
			return 0, nil, errNotFound("ssh_key", id)
		}
		delete(f.sshKeys, id)
	case "firewalls":
		fw := f.firewalls[id]
		if fw == nil {
			return 0, nil, errNotFound("firewall", id)
		}
		if len(fw.AppliedTo) > 0 {
			return 0, nil, &apiError{http.StatusConflict, "resource_in_use", "firewall is still applied to resources", nil}
		}
		delete(f.firewalls, id)
	case "primary_ips":
		p := f.primaryIPs[id]
		if p == nil {
			return 0, nil, errNotFound("primary_ip", id)
		}
		if p.Protection.Delete {
			return 0, nil, errProtected
		}
		if p.AssigneeID != nil {
			if s := f.servers[*p.AssigneeID]; s != nil && s.Status == "running" {
				return 0, nil, &apiError{http.StatusConflict, "conflict", "primary IP is assigned to a running server", nil}
			}
			f.detachIP(p)
		}
		delete(f.primaryIPs, id)
	case "volumes":
		v := f.volumes[id]
		if v == nil {
			return 0, nil, errNotFound("volume", id)
		}
		if v.Protection.Delete {
			return 0, nil, errProtected
		}
		if v.Server != nil {
			return 0, nil, &apiError{http.StatusLocked, "locked", "volume is attached to a server", nil}
		}
		delete(f.volumes, id)
	default:
		return 0, nil, &apiError{http.StatusNotFound, "not_found", "cannot delete " + kind, nil}
	}
	return http.StatusNoContent, nil, nil
}

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
	BackupStart string                       `json:"backup_window"`
}

func (f *Fake) resourceAction(kind string, id int64, name string, decode decoder) (int, any, *apiError) {
	var req actionReq
	if err := decode(&req); err != nil {
		return 0, nil, err
	}
	one := func(a *action) (int, any, *apiError) {
		return http.StatusCreated, map[string]any{"action": a.Action}, nil
	}
	unknown := &apiError{http.StatusNotFound, "not_found", "unknown action " + name, nil}
	switch kind {
	case "servers":
		s := f.servers[id]
		if s == nil {
			return 0, nil, errNotFound("server", id)
		}
		r := ref("server", id)
		status := func(st string) func() {
			return func() {
				if s := f.servers[id]; s != nil {
					s.Status = st
				}
			}
		}
		switch name {
		case "poweron":
			return one(f.newAction("start_server", status("running"), r))
		case "poweroff":
			return one(f.newAction("stop_server", status("off"), r))
		case "shutdown":
			return one(f.newAction("shutdown_server", status("off"), r))
		case "reboot", "reset":
			return one(f.newAction(name+"_server", status("running"), r))
		case "enable_backup":
			w := "22-02"
			s.BackupWindow = &w
			return one(f.newAction("enable_backup", nil, r))
		case "disable_backup":
			s.BackupWindow = nil
			return one(f.newAction("disable_backup", nil, r))
		case "change_protection":
			if req.Delete != nil {
				s.Protection.Delete = *req.Delete
			}
			if req.Rebuild != nil {
				s.Protection.Rebuild = *req.Rebuild
			}
			return one(f.newAction("change_protection", nil, r))
		case "change_dns_ptr":
			if req.IP == s.PublicNet.IPv4.IP && req.DNSPtr != nil {
				s.PublicNet.IPv4.DNSPtr = *req.DNSPtr
			}
			return one(f.newAction("change_dns_ptr", nil, r))
		}
		return 0, nil, unknown
	case "volumes":
		v := f.volumes[id]
		if v == nil {
			return 0, nil, errNotFound("volume", id)
		}
		switch name {
		case "attach":
			s := f.servers[req.Server]
			if s == nil {
				return 0, nil, errInvalid("server", "server not found")
			}
			if v.Server != nil {
				return 0, nil, &apiError{http.StatusLocked, "locked", "volume is already attached", nil}
			}
			return one(f.attachVolume(v, s))
		case "detach":
			return one(f.detachVolume(v))
		case "resize":
			if req.Size < v.Size {
				return 0, nil, errInvalid("size", "cannot shrink a volume")
			}
			v.Size = req.Size
			return one(f.newAction("resize_volume", nil, ref("volume", id)))
		case "change_protection":
			if req.Delete != nil {
				v.Protection.Delete = *req.Delete
			}
			return one(f.newAction("change_protection", nil, ref("volume", id)))
		}
		return 0, nil, unknown
	case "primary_ips":
		p := f.primaryIPs[id]
		if p == nil {
			return 0, nil, errNotFound("primary_ip", id)
		}
		switch name {
		case "assign":
			s := f.servers[req.AssigneeID]
			if s == nil {
				return 0, nil, errInvalid("assignee_id", "server not found")
			}
			a, err := f.assignPrimaryIP(p, s)
			if err != nil {
				return 0, nil, err
			}
			return one(a)
		case "unassign":
			if p.AssigneeID != nil {
				if s := f.servers[*p.AssigneeID]; s != nil && s.Status == "running" {
					return 0, nil, &apiError{http.StatusConflict, "server_not_stopped", "server must be stopped to unassign", nil}
				}
			}
			f.detachIP(p)
			return one(f.newAction("unassign_primary_ip", nil, ref("primary_ip", id)))
		case "change_protection":
			if req.Delete != nil {
				p.Protection.Delete = *req.Delete
			}
			return one(f.newAction("change_protection", nil, ref("primary_ip", id)))
		case "change_dns_ptr":
			return one(f.newAction("change_dns_ptr", nil, ref("primary_ip", id)))
		}
		return 0, nil, unknown
	case "firewalls":
		fw := f.firewalls[id]
		if fw == nil {
			return 0, nil, errNotFound("firewall", id)
		}
		var actions []schema.Action
		switch name {
		case "set_rules":
			rules, err := rulesFrom(req.Rules)
			if err != nil {
				return 0, nil, err
			}
			fw.Rules = rules
			actions = append(actions, f.newAction("set_firewall_rules", nil, ref("firewall", id)).Action)
		case "apply_to_resources":
			for _, res := range req.ApplyTo {
				a, err := f.applyFirewall(fw, res)
				if err != nil {
					return 0, nil, err
				}
				actions = append(actions, a.Action)
			}
		case "remove_from_resources":
			for _, res := range req.RemoveFrom {
				if res.Server == nil {
					continue
				}
				f.removeFirewall(fw, res.Server.ID)
				actions = append(actions, f.newAction("remove_firewall", nil, ref("firewall", id), ref("server", res.Server.ID)).Action)
			}
		default:
			return 0, nil, unknown
		}
		if actions == nil {
			actions = []schema.Action{}
		}
		return http.StatusCreated, map[string]any{"actions": actions}, nil
	}
	return 0, nil, unknown
}
