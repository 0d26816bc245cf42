package hcloudfake

import (
	"fmt"
	"net/http"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
)

// A primary IP that is assigned to nothing reports assignee_type
// "unassigned" (since 1 August 2026), and assignee_type may be left out
// when creating one (changelog 2026-04-27).
const unassigned = "unassigned"

func (f *Fake) allocIP(typ string) string {
	f.nextIP++
	if typ == "ipv6" {
		return fmt.Sprintf("2001:db8:%x::/64", f.nextIP)
	}
	return fmt.Sprintf("198.51.%d.%d", 100+f.nextIP/250, f.nextIP%250+1)
}

func (f *Fake) newPrimaryIP(name, typ string, loc schema.Location, autoDelete bool, labels map[string]string) *schema.PrimaryIP {
	id := f.id()
	if name == "" {
		name = fmt.Sprintf("primary_ip-%d", id)
	}
	ip := f.allocIP(typ)
	ptr := []schema.PrimaryIPDNSPTR{}
	if typ == "ipv4" {
		ptr = append(ptr, schema.PrimaryIPDNSPTR{IP: ip, DNSPtr: "static." + ip + ".clients.your-server.de"})
	}
	p := &schema.PrimaryIP{
		ID: id, IP: ip, Name: name, Type: typ, Labels: labels, DNSPtr: ptr, AssigneeType: unassigned,
		AutoDelete: autoDelete, Created: f.now(), Location: loc,
	}
	f.primaryIPs[id] = p
	return p
}

func (f *Fake) createPrimaryIP(decode decoder) (int, any, *apiError) {
	var req schema.PrimaryIPCreateRequest
	if err := decode(&req); err != nil {
		return 0, nil, err
	}
	if req.Type != "ipv4" && req.Type != "ipv6" {
		return 0, nil, errInvalid("type", "must be ipv4 or ipv6")
	}
	if req.AssigneeType != "" && req.AssigneeType != "server" {
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
	var loc schema.Location
	var assignee *server
	switch {
	case req.AssigneeID != nil && req.Location != "":
		return 0, nil, errInvalid("assignee_id", "cannot be combined with location")
	case req.AssigneeID != nil:
		if assignee = f.servers[*req.AssigneeID]; assignee == nil {
			return 0, nil, errInvalid("assignee_id", "server not found")
		}
		loc = assignee.Location
	case req.Location != "":
		l, ok := f.location(req.Location)
		if !ok {
			return 0, nil, errInvalid("location", "location "+req.Location+" not found")
		}
		loc = l
	default:
		return 0, nil, errInvalid("location", "one of location or assignee_id is required")
	}
	autoDelete := req.AutoDelete != nil && *req.AutoDelete
	p := f.newPrimaryIP(req.Name, req.Type, loc, autoDelete, labels)
	var act *schema.Action
	if assignee != nil {
		a, err := f.assignPrimaryIP(p, assignee)
		if err != nil {
			delete(f.primaryIPs, p.ID)
			return 0, nil, err
		}
		act = &a.Action
	}
	return http.StatusCreated, schema.PrimaryIPCreateResponse{PrimaryIP: *p, Action: act}, nil
}

// assignPrimaryIP assigns p to s, as POST /primary_ips/{id}/actions/assign
// and POST /primary_ips with an assignee do. The API reference lists their
// errors, all 422: server_not_stopped (a server is given its addresses
// only while off), primary_ip_already_assigned, server_has_ipv4/ipv6. A
// primary IP is assigned only in its own location; that refusal is the
// code POST /servers answers for the same mismatch.
func (f *Fake) assignPrimaryIP(p *schema.PrimaryIP, s *server) (*action, *apiError) {
	if p.AssigneeID != nil {
		return nil, errStatus(http.StatusUnprocessableEntity, "primary_ip_already_assigned", fmt.Sprintf("primary IP %d is already assigned to server %d", p.ID, *p.AssigneeID))
	}
	if p.Location.Name != s.Location.Name {
		return nil, errStatus(http.StatusUnprocessableEntity, "primary_ip_datacenter_mismatch", fmt.Sprintf("primary IP %d is in %s, the server in %s", p.ID, p.Location.Name, s.Location.Name))
	}
	if s.Status != "off" {
		return nil, errStatus(http.StatusUnprocessableEntity, "server_not_stopped", "the server must be powered off to be assigned a primary IP")
	}
	if p.Type == "ipv4" && s.PublicNet.IPv4.ID != 0 || p.Type == "ipv6" && s.PublicNet.IPv6.ID != 0 {
		return nil, errStatus(http.StatusUnprocessableEntity, "server_has_ipv"+p.Type[3:], "server already has a primary "+p.Type)
	}
	f.attachIP(p, s)
	return f.newAction("assign_primary_ip", nil, ref("primary_ip", p.ID), ref("server", s.ID)), nil
}

func (f *Fake) attachIP(p *schema.PrimaryIP, s *server) {
	id := s.ID
	p.AssigneeID, p.AssigneeType = &id, "server"
	if p.Type == "ipv4" {
		s.PublicNet.IPv4 = schema.ServerPublicNetIPv4{ID: p.ID, IP: p.IP, DNSPtr: "static." + p.IP + ".clients.your-server.de"}
	} else {
		s.PublicNet.IPv6 = schema.ServerPublicNetIPv6{ID: p.ID, IP: p.IP, DNSPtr: []schema.ServerPublicNetIPv6DNSPtr{}}
	}
}

func (f *Fake) detachIP(p *schema.PrimaryIP) {
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
	p.AssigneeID, p.AssigneeType = nil, unassigned
}

func (f *Fake) updatePrimaryIP(id int64, req updateReq) (int, any, *apiError) {
	p := f.primaryIPs[id]
	if p == nil {
		return 0, nil, errNotFound("primary_ip", id)
	}
	if err := req.rename(&p.Name, nameTaken(f.primaryIPs, func(o *schema.PrimaryIP) string { return o.Name })); err != nil {
		return 0, nil, err
	}
	if req.Labels != nil {
		p.Labels = labelsOf(req.Labels)
	}
	if req.AutoDelete != nil {
		p.AutoDelete = *req.AutoDelete
	}
	return http.StatusOK, schema.PrimaryIPUpdateResponse{PrimaryIP: *p}, nil
}

func (f *Fake) deletePrimaryIP(id int64) (int, any, *apiError) {
	p := f.primaryIPs[id]
	if p == nil {
		return 0, nil, errNotFound("primary_ip", id)
	}
	if p.Protection.Delete {
		return 0, nil, errProtected
	}
	// Since 1 May 2026 an assigned primary IP is no longer unassigned on
	// delete: it must be unassigned first.
	if p.AssigneeID != nil {
		return 0, nil, errStatus(http.StatusUnprocessableEntity, "must_be_unassigned", fmt.Sprintf("primary IP %d is assigned to server %d: unassign it first", id, *p.AssigneeID))
	}
	delete(f.primaryIPs, id)
	return http.StatusNoContent, nil, nil
}

func (f *Fake) primaryIPAction(id int64, name string, req actionReq) (int, any, *apiError) {
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
			if s := f.servers[*p.AssigneeID]; s != nil && s.Status != "off" {
				return 0, nil, errStatus(http.StatusUnprocessableEntity, "server_not_stopped", "the server must be powered off to give up a primary IP")
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
	return 0, nil, errUnknownAction(name)
}
