package hetzner

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/hashicorp/terraform-exec/tfexec"
	"github.com/hetznercloud/hcloud-go/v2/hcloud"

	"github.com/lifeboat-social/lifeboat/internal/atomicfile"
	"github.com/lifeboat-social/lifeboat/internal/progress"
)

// An apply cut off (lifeboat killed, and Terraform with it; a machine
// that lost power) can leave resources made in the cloud that the state
// never recorded: Terraform saves the state when it finishes. Applied
// again, Terraform would make them a second time and the cloud refuses
// (names are unique), so up could never finish and the first copies
// would cost money unseen. Before each apply, adopt imports every
// resource of the module that the state lacks but the cloud holds under
// its name with Lifeboat's labels for this group.

// managed is one resource of the module (templates/hetzner/terraform).
type managed struct {
	addr, kind, name string
}

func managedResources(group string) []managed {
	n := "lifeboat-" + group
	return []managed{
		{"hcloud_ssh_key.admin", "ssh_key", n},
		{"hcloud_firewall.server", "firewall", n},
		{"hcloud_primary_ip.ipv4", "primary_ip", n + "-ipv4"},
		{"hcloud_primary_ip.ipv6", "primary_ip", n + "-ipv6"},
		{"hcloud_server.main", "server", n},
		{"hcloud_volume.media[0]", "volume", n + "-media"},
	}
}

// finder looks a resource up by kind and name: its id and labels, or
// found false.
type finder interface {
	find(ctx context.Context, kind, name string) (id int64, labels map[string]string, found bool, err error)
}

func (a hcloudAPI) find(ctx context.Context, kind, name string) (int64, map[string]string, bool, error) {
	var (
		id     int64
		labels map[string]string
		err    error
	)
	switch kind {
	case "ssh_key":
		id, labels, err = byName(ctx, a.c.SSHKey.GetByName, name, func(r *hcloud.SSHKey) (int64, map[string]string) { return r.ID, r.Labels })
	case "firewall":
		id, labels, err = byName(ctx, a.c.Firewall.GetByName, name, func(r *hcloud.Firewall) (int64, map[string]string) { return r.ID, r.Labels })
	case "primary_ip":
		id, labels, err = byName(ctx, a.c.PrimaryIP.GetByName, name, func(r *hcloud.PrimaryIP) (int64, map[string]string) { return r.ID, r.Labels })
	case "server":
		id, labels, err = byName(ctx, a.c.Server.GetByName, name, func(r *hcloud.Server) (int64, map[string]string) { return r.ID, r.Labels })
	case "volume":
		id, labels, err = byName(ctx, a.c.Volume.GetByName, name, func(r *hcloud.Volume) (int64, map[string]string) { return r.ID, r.Labels })
	default:
		return 0, nil, false, fmt.Errorf("unknown resource kind %q", kind)
	}
	if err != nil {
		return 0, nil, false, fmt.Errorf("look up %s %s: %w", kind, name, err)
	}
	return id, labels, id != 0, nil
}

// byName asks one of hcloud-go's clients for a resource by name: its id
// and labels, or 0 when there is none.
func byName[T any](ctx context.Context, get func(context.Context, string) (*T, *hcloud.Response, error), name string,
	fields func(*T) (int64, map[string]string)) (int64, map[string]string, error) {
	r, _, err := get(ctx, name)
	if err != nil || r == nil {
		return 0, nil, err
	}
	id, labels := fields(r)
	return id, labels, nil
}

// adopt imports into the state what the cloud holds for the group but
// the state lacks. A resource with the module's name but without this
// group's labels is someone else's: it is left alone, and the apply then
// says the name is taken.
func (p *Provisioner) adopt(ctx context.Context, r *runner, emit progress.Func) error {
	f, ok := p.client().(finder)
	if !ok {
		return nil // a stand-in API (tests of other steps) has nothing to adopt
	}
	st, err := r.tf.Show(ctx)
	if err != nil {
		return fmt.Errorf("terraform show: %w", err)
	}
	have := map[string]bool{}
	if st != nil && st.Values != nil && st.Values.RootModule != nil {
		for _, res := range st.Values.RootModule.Resources {
			have[res.Address] = true
		}
	}
	group := p.cfg.Group.Name
	for _, m := range managedResources(group) {
		if have[m.addr] {
			continue
		}
		id, labels, found, err := f.find(ctx, m.kind, m.name)
		if err != nil {
			return err
		}
		if !found || labels["managed-by"] != "lifeboat" || labels["lifeboat-group"] != group {
			continue
		}
		emit.Emit(progress.Event{Kind: progress.Log, Step: "apply",
			Message: fmt.Sprintf("adopting %s %s (id %d), made by an apply that was cut off", m.kind, m.name, id)})
		if m.kind == "server" {
			// Recorded before the import, so a run killed after it still
			// knows: see keepServer.
			if err := atomicfile.Write(filepath.Join(p.cfg.Dir, adoptedFile), []byte(strconv.FormatInt(id, 10)), 0o600); err != nil {
				return err
			}
		}
		if err := r.tf.Import(ctx, m.addr, strconv.FormatInt(id, 10), tfexec.VarFile(r.varsPath()), lockTimeout()); err != nil {
			return fmt.Errorf("terraform import %s: %w", m.addr, err)
		}
	}
	r.secure()
	return nil
}
