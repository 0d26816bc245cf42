package hcloudfake

import (
	"fmt"
	"net/http"
	"regexp"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
)

var hostnameRE = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$`)

// orderable says why a server type cannot be ordered in a location, from
// the type's own per-location entry (not a datacenter's lists, which the
// API no longer has).
func orderable(st schema.ServerType, location string, now time.Time) *apiError {
	for _, l := range st.Locations {
		if l.Name != location {
			continue
		}
		if l.Deprecation != nil && now.After(l.Deprecation.UnavailableAfter) {
			return errStatus(http.StatusUnprocessableEntity, "invalid_server_type", "server type "+st.Name+" is deprecated in "+location+" and can no longer be ordered")
		}
		if !l.Available {
			return errStatus(http.StatusPreconditionFailed, "resource_unavailable", "server type "+st.Name+" is unavailable in "+location)
		}
		return nil
	}
	return errStatus(http.StatusPreconditionFailed, "resource_unavailable", "server type "+st.Name+" is not offered in "+location)
}

func (f *Fake) createServer(decode decoder) (int, any, *apiError) {
	var req schema.ServerCreateRequest
	if err := decode(&req); err != nil {
		return 0, nil, err
	}
	if !hostnameRE.MatchString(req.Name) {
		return 0, nil, errInvalid("name", "must be a valid hostname")
	}
	if f.serverNamed(req.Name) {
		return 0, nil, errUnique("name")
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
	loc := f.Catalog.Locations[0] // the API picks one when none is asked for
	if req.Location != "" {
		if loc, ok = f.location(req.Location); !ok {
			return 0, nil, errInvalid("location", "location not found")
		}
	}
	if err := orderable(st, loc.Name, time.Now()); err != nil {
		return 0, nil, err
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
	var ips []*schema.PrimaryIP
	for _, want := range []struct {
		id  int64
		typ string
	}{{pn.IPv4ID, "ipv4"}, {pn.IPv6ID, "ipv6"}} {
		if want.id == 0 {
			continue
		}
		// The codes and statuses are the API reference's operation
		// specific errors of POST /servers.
		p := f.primaryIPs[want.id]
		if p == nil {
			return 0, nil, errInvalid("public_net."+want.typ, "primary IP not found")
		}
		if p.Type != want.typ {
			return 0, nil, errStatus(http.StatusPreconditionFailed, "primary_ip_version_mismatch", fmt.Sprintf("primary IP %d is an %s, not an %s", p.ID, p.Type, want.typ))
		}
		if p.AssigneeID != nil {
			return 0, nil, errStatus(http.StatusUnprocessableEntity, "primary_ip_assigned", "primary IP is already assigned")
		}
		if p.Location.Name != loc.Name {
			return 0, nil, errStatus(http.StatusUnprocessableEntity, "primary_ip_datacenter_mismatch", fmt.Sprintf("primary IP %d is in %s, the server in %s", p.ID, p.Location.Name, loc.Name))
		}
		ips = append(ips, p)
	}
	s := &server{Server: schema.Server{
		ID: f.id(), Name: req.Name, Status: "initializing", Created: f.now(),
		PublicNet: schema.ServerPublicNet{
			IPv6: schema.ServerPublicNetIPv6{DNSPtr: []schema.ServerPublicNetIPv6DNSPtr{}}, FloatingIPs: []int64{}, Firewalls: []schema.ServerFirewall{},
		},
		PrivateNet: []schema.ServerPrivateNet{}, ServerType: st, IncludedTraffic: 21990232555520,
		Location: loc, Image: &im, Labels: labels, Volumes: []int64{}, PrimaryDiskSize: st.Disk,
		LoadBalancers: []int64{},
	}, userData: req.UserData}
	for _, v := range req.Volumes {
		vol := f.volumes[v]
		if vol == nil {
			return 0, nil, errInvalid("volumes", fmt.Sprintf("volume %d not found", v))
		}
		if err := attachable(vol, s, "volumes"); err != nil {
			return 0, nil, err
		}
	}
	f.servers[s.ID] = s
	for _, p := range ips {
		f.attachIP(p, s)
	}
	if pn.EnableIPv4 && s.PublicNet.IPv4.ID == 0 {
		f.attachIP(f.newPrimaryIP("", "ipv4", loc, true, map[string]string{}), s)
	}
	if pn.EnableIPv6 && s.PublicNet.IPv6.ID == 0 {
		f.attachIP(f.newPrimaryIP("", "ipv6", loc, true, map[string]string{}), s)
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

func (f *Fake) serverNamed(n string) bool {
	return nameTaken(f.servers, func(s *server) string { return s.Name })(n)
}

// removeServer deletes a server and what dies with it.
func (f *Fake) removeServer(id int64) {
	if f.servers[id] == nil {
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

func (f *Fake) updateServer(id int64, req updateReq) (int, any, *apiError) {
	s := f.servers[id]
	if s == nil {
		return 0, nil, errNotFound("server", id)
	}
	if err := req.rename(&s.Name, f.serverNamed); err != nil {
		return 0, nil, err
	}
	if req.Labels != nil {
		s.Labels = labelsOf(req.Labels)
	}
	return http.StatusOK, map[string]any{"server": s}, nil
}

func (f *Fake) deleteServer(id int64) (int, any, *apiError) {
	s := f.servers[id]
	if s == nil {
		return 0, nil, errNotFound("server", id)
	}
	if s.Protection.Delete {
		return 0, nil, errProtected
	}
	s.Status = "deleting"
	a := f.newAction("delete_server", func() { f.removeServer(id) }, ref("server", id))
	return http.StatusOK, schema.ServerDeleteResponse{Action: a.Action}, nil
}

func (f *Fake) serverAction(id int64, name string, req actionReq) (int, any, *apiError) {
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
	case "change_type":
		// A rescale needs the server off, a type that can be ordered where
		// it is, and a disk at least as large as the one it has.
		if s.Status != "off" {
			return 0, nil, errStatus(http.StatusConflict, "server_not_stopped", "server must be stopped before changing type")
		}
		st, ok := f.serverType(req.ServerType)
		if !ok {
			return 0, nil, errInvalid("server_type", "server type not found")
		}
		if err := orderable(st, s.Location.Name, f.now()); err != nil {
			return 0, nil, err
		}
		if st.Disk < s.PrimaryDiskSize {
			return 0, nil, errStatus(http.StatusUnprocessableEntity, "invalid_server_type", "cannot change type because the selected server_type has not sufficient disk space")
		}
		return one(f.newAction("change_server_type", func() {
			if s := f.servers[id]; s != nil {
				s.ServerType = st
				if req.UpgradeDisk {
					s.PrimaryDiskSize = st.Disk
				}
			}
		}, r))
	case "change_dns_ptr":
		if req.IP == s.PublicNet.IPv4.IP && req.DNSPtr != nil {
			s.PublicNet.IPv4.DNSPtr = *req.DNSPtr
		}
		return one(f.newAction("change_dns_ptr", nil, r))
	}
	return 0, nil, errUnknownAction(name)
}
