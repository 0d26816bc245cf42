package hcloudfake

import (
	"fmt"
	"net/http"

	"github.com/hetznercloud/hcloud-go/v2/hcloud/schema"
)

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
		l, ok := f.location(req.Location.Name)
		if !ok {
			return 0, nil, errInvalid("location", "location not found")
		}
		loc = l
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

// attachable says why volume v cannot be attached to server s: a volume
// attaches only to a server in its own location (volumes do not move
// between locations), and to one server at a time. The API reference
// names no code of its own for the location (POST /volumes/{id}/actions/attach:
// "Works only if the Server is in the same Location as the Volume"), so
// the refusal is invalid input naming the field that is wrong, field the
// one of the call: server for an attach, volumes for a server's creation.
func attachable(v *schema.Volume, s *server, field string) *apiError {
	if v.Location.Name != s.Location.Name {
		return errInvalid(field, fmt.Sprintf("volume %d is in %s, the server in %s: a volume attaches only to a server in its location", v.ID, v.Location.Name, s.Location.Name))
	}
	if v.Server != nil {
		return errStatus(http.StatusUnprocessableEntity, "volume_already_attached", fmt.Sprintf("volume %d is already attached to server %d, detach it first", v.ID, *v.Server))
	}
	return nil
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

func (f *Fake) updateVolume(id int64, req updateReq) (int, any, *apiError) {
	v := f.volumes[id]
	if v == nil {
		return 0, nil, errNotFound("volume", id)
	}
	if err := req.rename(&v.Name, nameTaken(f.volumes, func(o *schema.Volume) string { return o.Name })); err != nil {
		return 0, nil, err
	}
	if req.Labels != nil {
		v.Labels = labelsOf(req.Labels)
	}
	return http.StatusOK, schema.VolumeUpdateResponse{Volume: *v}, nil
}

func (f *Fake) deleteVolume(id int64) (int, any, *apiError) {
	v := f.volumes[id]
	if v == nil {
		return 0, nil, errNotFound("volume", id)
	}
	if v.Protection.Delete {
		return 0, nil, errProtected
	}
	if v.Server != nil {
		return 0, nil, errStatus(http.StatusLocked, "locked", "volume is attached to a server")
	}
	delete(f.volumes, id)
	return http.StatusNoContent, nil, nil
}

func (f *Fake) volumeAction(id int64, name string, req actionReq) (int, any, *apiError) {
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
		if err := attachable(v, s, "server"); err != nil {
			return 0, nil, err
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
	return 0, nil, errUnknownAction(name)
}

// Volumes returns copies of the volumes.
func (f *Fake) Volumes() []schema.Volume {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []schema.Volume
	for _, id := range sortedKeys(f.volumes) {
		out = append(out, *f.volumes[id])
	}
	return out
}
