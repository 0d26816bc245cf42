package hcloudfake

import (
	"fmt"
	"net"
	"net/http"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
)

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
			return nil, errStatus(http.StatusUnprocessableEntity, "firewall_already_applied", "firewall is already applied")
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

func (f *Fake) updateFirewall(id int64, req updateReq) (int, any, *apiError) {
	fw := f.firewalls[id]
	if fw == nil {
		return 0, nil, errNotFound("firewall", id)
	}
	if err := req.rename(&fw.Name, nameTaken(f.firewalls, func(o *schema.Firewall) string { return o.Name })); err != nil {
		return 0, nil, err
	}
	if req.Labels != nil {
		fw.Labels = labelsOf(req.Labels)
	}
	return http.StatusOK, schema.FirewallUpdateResponse{Firewall: *fw}, nil
}

func (f *Fake) deleteFirewall(id int64) (int, any, *apiError) {
	fw := f.firewalls[id]
	if fw == nil {
		return 0, nil, errNotFound("firewall", id)
	}
	if len(fw.AppliedTo) > 0 {
		return 0, nil, errStatus(http.StatusConflict, "resource_in_use", "firewall is still applied to resources")
	}
	delete(f.firewalls, id)
	return http.StatusNoContent, nil, nil
}

func (f *Fake) firewallAction(id int64, name string, req actionReq) (int, any, *apiError) {
	fw := f.firewalls[id]
	if fw == nil {
		return 0, nil, errNotFound("firewall", id)
	}
	actions := []schema.Action{}
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
		return 0, nil, errUnknownAction(name)
	}
	return http.StatusCreated, map[string]any{"actions": actions}, nil
}
