package hetzner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/atomicfile"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/internal/safetext"
	"github.com/lifeboat-social/lifeboat/provision"
)

// A group that has a campaign home and chooses a new GoToSocial server
// gets it on the home's own machine, so the lead pays for one: up runs
// GoToSocial's install script (the one a server of its own boots with)
// on the home over SSH, with GoToSocial on loopback behind the home's
// Caddy, which gains the group's domain. Nothing is created in the cloud.
// The choice is kept in the destination's state directory (onHomeFile)
// once up has made it, so every later command (up again, serve, backup,
// down) finds the server where it is; home down refuses while it is there.

// onHomeFile in a destination's Dir says the destination lives on the
// campaign home.
const onHomeFile = "on-home.json"

// onHome is onHomeFile: which home, and which server and volume it was
// when up put GoToSocial on it. GoToSocial's programs are on the server's
// disk, its data on the volume: a new server with the same volume needs
// only the install again (see upOnHome).
type onHome struct {
	HomeDir    string `json:"home_dir"`
	ServerID   string `json:"server_id"`
	ServerName string `json:"server_name"`
	VolumeID   string `json:"volume_id,omitempty"` // empty in records from before it was kept
}

// ErrHomeInUse means the campaign home cannot be destroyed: the group's
// new server lives on it.
var ErrHomeInUse = errors.New("the group's new server lives on the campaign home")

// sharedProxyPort is where GoToSocial listens on the home, behind Caddy
// (lifeboat serve has 8080).
const sharedProxyPort = 8081

// homeVolumeMount is where the home's first boot mounts its volume
// (cloud-init/home.yaml.tmpl); GoToSocial's data on the home lives in
// homeGoToSocialData there, bound at /var/lib/gotosocial, so it outlives
// the home's server as the campaign's state does.
const (
	homeVolumeMount    = "/var/lib/lifeboat"
	homeGoToSocialData = homeVolumeMount + "/gotosocial"
)

// installPath is where the install script is kept on the home, root-only
// (it holds the SMTP password), for the lead to run again by hand.
const installPath = "/usr/local/sbin/lifeboat-gotosocial-install"

// Memory a shared machine needs: the home's own share (the system,
// lifeboat serve, Caddy), and GoToSocial's for every started
// peoplePerGB people (its caches and the SQLite page cache grow with the
// accounts it serves; 1 GB serves a few hundred comfortably).
const (
	homeMemoryGB = 1.0
	peoplePerGB  = 250
)

// sharedMemoryGB is the memory the home's machine needs to hold
// GoToSocial for people beside the campaign's pages.
func sharedMemoryGB(people int) float64 {
	return homeMemoryGB + math.Ceil(float64(max(people, 1))/peoplePerGB)
}

// people is how many the server must hold: the members the file lists,
// or the viable mass when more join from the public page.
func people(g *groups.Group) int { return max(len(g.Members), g.ViableMass) }

// holdsBoth reports whether a machine of type st holds GoToSocial for
// people beside the campaign's pages, the memory that takes, and when it
// does not, the type to resize it to: the cheapest the location
// recommends with that memory, the same architecture and at least its
// disk (a resize keeps the disk and cannot shrink it). No such type:
// resize is nil.
func holdsBoth(ctx context.Context, a api, location string, st ServerType, people int) (fits bool, needGB float64, resize *TypeOffer, err error) {
	needGB = sharedMemoryGB(people)
	if st.MemoryGB >= needGB {
		return true, needGB, nil, nil
	}
	offers, err := recommended(ctx, a, location, float32(needGB))
	if err != nil {
		return false, needGB, nil, err
	}
	i := slices.IndexFunc(offers, func(t TypeOffer) bool { return t.Architecture == st.Architecture && t.DiskGB >= st.DiskGB })
	if i < 0 {
		return false, needGB, nil, nil
	}
	return false, needGB, &offers[i], nil
}

// OnHomePlan is the destination on the campaign home's machine: which
// machine, whether it is big enough, and what the one machine costs.
type OnHomePlan struct {
	Server     string     `json:"server"` // the home's server name
	Domain     string     `json:"home_domain"`
	ServerType ServerType `json:"server_type"`
	People     int        `json:"people"`
	NeedGB     float64    `json:"need_memory_gb"`
	Fits       bool       `json:"fits"`
	// ResizeTo is the type to resize the home to when it does not fit:
	// the cheapest the location recommends with the memory both need and
	// at least the disk the home has; Resized is the one machine's cost
	// then.
	ResizeTo *TypeOffer `json:"resize_to,omitempty"`
	Resized  *Cost      `json:"resized_cost,omitempty"`
}

// Reason says why the home is too small, and what to do; empty when it
// fits.
func (o *OnHomePlan) Reason() string {
	if o.Fits {
		return ""
	}
	s := fmt.Sprintf("the campaign home's %s (%g GB) is too small for GoToSocial for %d people beside the campaign's pages (%g GB needed)",
		o.ServerType.Name, o.ServerType.MemoryGB, o.People, o.NeedGB)
	if o.ResizeTo != nil {
		s += fmt.Sprintf(": resize the home to %s with lifeboat home up GROUP.yaml --server-type %s (the home restarts once, its disk grows to the type's)", o.ResizeTo, o.ResizeTo.Name)
	}
	return s + ", or pass --own-server for a server of its own"
}

// placement decides where the destination lives: on the campaign home
// (home is its record), or on a server of its own (nil). Once up has
// chosen, the state says; before, a server of its own already made, or
// OwnServer, keeps it separate; else a GoToSocial destination goes on
// the group's home when one exists.
func (p *Provisioner) placement() (*onHome, error) {
	if h, err := p.recorded(); err != nil {
		return nil, err
	} else if h != nil {
		if p.cfg.OwnServer {
			return nil, fmt.Errorf("%w: --own-server: the group's server lives on the campaign home; lifeboat down GROUP.yaml takes it off (exporting its database) before up makes a server of its own", ErrConfig)
		}
		return h, nil
	}
	if hasServer(p.cfg.Dir) || p.cfg.OwnServer || p.cfg.HomeDir == "" || !hasServer(p.cfg.HomeDir) ||
		p.cfg.Group.Destination.SoftwareOrDefault() != groups.SoftwareGoToSocial {
		return nil, nil
	}
	return &onHome{HomeDir: p.cfg.HomeDir}, nil
}

// recorded is the destination's record of living on the campaign home,
// nil when up has not put it there.
func (p *Provisioner) recorded() (*onHome, error) {
	path := filepath.Join(p.cfg.Dir, onHomeFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the destination's placement: %w", err)
	}
	var h onHome
	if err := json.Unmarshal(b, &h); err != nil || h.HomeDir == "" {
		return nil, fmt.Errorf("read %s: not a record of the campaign home (%v)", path, err)
	}
	return &h, nil
}

// OnHome reports whether up has put the destination on the campaign
// home.
func (p *Provisioner) OnHome() bool { return onHomeRecorded(p.cfg.Dir) }

// onHomeRecorded reports whether the destination in dir lives on a
// campaign home.
func onHomeRecorded(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, onHomeFile))
	return err == nil
}

// serverKeys are the keys that reach the group's server: the home's when
// the destination lives there.
func (p *Provisioner) serverKeys() (Keys, error) {
	h, err := p.recorded()
	if err != nil {
		return Keys{}, err
	}
	if h != nil {
		return loadKeys(h.HomeDir)
	}
	return loadKeys(p.cfg.Dir)
}

// stateOutputs reads the module's outputs from a state file, without
// Terraform: the home's addresses, for a machine that may have none.
func stateOutputs(dir string) (map[string]string, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return nil, fmt.Errorf("read the campaign home's state: %w", err)
	}
	var st struct {
		Outputs map[string]struct {
			Value any `json:"value"`
		} `json:"outputs"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("read the campaign home's state: %w", err)
	}
	out := map[string]string{}
	for k, v := range st.Outputs {
		switch x := v.Value.(type) {
		case string:
			out[k] = x
		case float64:
			out[k] = fmt.Sprint(int64(x))
		}
	}
	if out["server_id"] == "" || out["ipv4"] == "" {
		return nil, fmt.Errorf("%w: the campaign home's state has no server", ErrNothing)
	}
	return out, nil
}

// readVars reads a state directory's variables file.
func readVars(dir string) (vars, error) {
	var v vars
	b, err := os.ReadFile(filepath.Join(dir, varsFile))
	if err != nil {
		return v, fmt.Errorf("read the campaign home's variables: %w", err)
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return v, fmt.Errorf("read %s: %w", filepath.Join(dir, varsFile), err)
	}
	return v, nil
}

// homeMachine is the campaign home's machine as the state holds it after
// the last apply: the machine that runs, whatever a later plan wrote
// into the variables file.
type homeMachine struct {
	Name, ServerType, Location string
	VolumeGB                   int
}

// readHomeMachine reads the home's server and volume from its state.
func readHomeMachine(dir string) (homeMachine, error) {
	var m homeMachine
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return m, fmt.Errorf("read the campaign home's state: %w", err)
	}
	var st struct {
		Resources []struct {
			Type      string `json:"type"`
			Instances []struct {
				Attributes struct {
					Name       string `json:"name"`
					ServerType string `json:"server_type"`
					Location   string `json:"location"`
					Size       int    `json:"size"`
				} `json:"attributes"`
			} `json:"instances"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return m, fmt.Errorf("read the campaign home's state: %w", err)
	}
	for _, r := range st.Resources {
		if len(r.Instances) == 0 {
			continue
		}
		a := r.Instances[0].Attributes
		switch r.Type {
		case "hcloud_server":
			m.Name, m.ServerType, m.Location = a.Name, a.ServerType, a.Location
		case "hcloud_volume":
			m.VolumeGB = a.Size
		}
	}
	if m.ServerType == "" || m.Location == "" {
		return m, fmt.Errorf("%w: the campaign home's state has no server", ErrNothing)
	}
	return m, nil
}

// homeResult is the destination on the home: the home's addresses and
// SSH access, the group's domain, known_hosts in the destination's Dir;
// and the ID of the home's volume, where GoToSocial's data is.
func (p *Provisioner) homeResult(h *onHome) (Result, Keys, string, error) {
	out, err := stateOutputs(h.HomeDir)
	if err != nil {
		return Result{}, Keys{}, "", err
	}
	keys, err := loadKeys(h.HomeDir)
	if err != nil {
		return Result{}, Keys{}, "", err
	}
	res, err := resultFrom(out, keys, p.cfg.Group.Name, p.cfg.Group.Destination.Domain, p.cfg.Dir)
	res.OnHome = true
	return res, keys, out["volume_id"], err
}

// ErrHomeMoved means the campaign home is a new server, without the
// GoToSocial that up installed on the old one, whose data is on the
// home's volume.
var ErrHomeMoved = errors.New("the campaign home is a new server")

// ErrHomeVolumeGone means the campaign home's volume, which held
// GoToSocial's data, is not the one up put it on.
var ErrHomeVolumeGone = errors.New("the campaign home's volume that held GoToSocial's data is gone")

// rehome checks the home against the record of where up put GoToSocial,
// and says what changed. The same server: nothing. A new server (made
// anew by home up after the old one was deleted) with the same volume:
// GoToSocial's data, every account, is on the volume, which the new
// server's first boot mounts, while its programs went with the old
// server's disk, so the install runs again onto the data (a record from
// before volumes were kept is taken to name the same volume: the volume
// outlives the server, and the install refuses to start without it
// mounted). A volume that is not the recorded one: the data is gone, and
// nothing is installed.
func rehome(h *onHome, res Result, volumeID string) (string, error) {
	if h.ServerID == "" || h.ServerID == res.ServerID {
		return "", nil
	}
	if h.VolumeID != "" && h.VolumeID != volumeID {
		return "", fmt.Errorf("%w: the campaign home is server %s with volume %s now, not server %s with volume %s where up put GoToSocial, and its data (every account) was on that volume; run lifeboat down GROUP.yaml to forget the server, then up again for a new one (lifeboat restore GROUP.yaml brings a backup back onto it)",
			ErrHomeVolumeGone, res.ServerID, volumeID, h.ServerID, h.VolumeID)
	}
	return fmt.Sprintf("the campaign home is server %s now, not %s where up put GoToSocial: its data (every account) is on the home's volume, which the new server mounts; installing GoToSocial onto it again", res.ServerID, h.ServerID), nil
}

// sharedPlan prices the destination on the home: the one machine the
// group pays for, and whether it holds both.
func (p *Provisioner) sharedPlan(ctx context.Context, h *onHome) (Plan, error) {
	cfg := p.cfg
	g := cfg.Group
	hv, err := readVars(h.HomeDir)
	if err != nil {
		return Plan{}, err
	}
	hm, err := readHomeMachine(h.HomeDir)
	if err != nil {
		return Plan{}, err
	}
	pl := Plan{Group: g.Name, Software: g.Destination.SoftwareOrDefault(), Domain: g.Destination.Domain, Location: hm.Location,
		Image: hv.Image, VolumeGB: hm.VolumeGB, Members: len(g.Members)}
	a := p.client()
	st, err := a.ServerType(ctx, hm.ServerType)
	if err != nil {
		return pl, apiErr("get server type", err)
	}
	if st == nil {
		return pl, fmt.Errorf("%w: the campaign home's type %s is not in the API", ErrServerType, hm.ServerType)
	}
	pl.ServerType = ServerType{Name: st.Name, Cores: st.Cores, MemoryGB: float64(st.Memory), DiskGB: st.Disk, Architecture: string(st.Architecture)}
	pr, err := a.Pricing(ctx)
	if err != nil {
		return pl, apiErr("get prices", err)
	}
	if pl.Cost, err = price(pr, st, hm.Location, false, hm.VolumeGB, pl.Members); err != nil {
		return pl, err
	}
	o := &OnHomePlan{Server: hm.Name, Domain: hv.Domain, ServerType: pl.ServerType, People: people(g)}
	if o.Fits, o.NeedGB, o.ResizeTo, err = holdsBoth(ctx, a, hm.Location, pl.ServerType, o.People); err != nil {
		return pl, err
	}
	if o.ResizeTo != nil {
		big, err := a.ServerType(ctx, o.ResizeTo.Name)
		if err != nil || big == nil {
			return pl, apiErr("get server type", err)
		}
		c, err := price(pr, big, hm.Location, false, hm.VolumeGB, pl.Members)
		if err != nil {
			return pl, err
		}
		o.Resized = &c
	}
	pl.OnHome = o
	if g.Destination.ServerType != "" && g.Destination.ServerType != st.Name {
		pl.Warnings = append(pl.Warnings, fmt.Sprintf("the group file's server_type %s is not used: the destination shares the campaign home's machine", g.Destination.ServerType))
	}
	if cfg.Boot.TLSCertFile != "" {
		pl.Warnings = append(pl.Warnings, fmt.Sprintf("%s is not used: on the campaign home, Caddy gets the group domain's certificate over ACME", EnvTLSCertFile))
	}
	if cfg.SMTP.Host == "" {
		pl.Warnings = append(pl.Warnings, "no SMTP relay (LIFEBOAT_SMTP_HOST): the server will not send email")
	}
	return pl, nil
}

// sharedInstall is the install script for GoToSocial on the home.
func (p *Provisioner) sharedInstall(arch string) (string, error) {
	cfg := p.cfg
	cfg.VolumeSize = 0 // no volume of its own: GoToSocial's data goes on the home's (HomeVolume)
	d, err := initData(cfg, arch)
	if err != nil {
		return "", err
	}
	// The home's Caddy gets the certificate over ACME, as for the
	// campaign's domain; a certificate of the lead's own is for a server
	// of its own (sharedPlan warns).
	d.Proxied, d.ProxyPort, d.TLSCert, d.TLSKey = true, sharedProxyPort, "", ""
	d.HomeVolume = homeVolumeMount
	return renderTemplate(gotosocialInstall, d)
}

// upOnHome is Up for a destination on the campaign home: the placement
// is recorded first (so a run killed half-way goes on where it was),
// then the install script runs over SSH, and the waits and the admin
// follow as for a server of its own.
func (p *Provisioner) upOnHome(ctx context.Context, h *onHome, emit progress.Func) (Result, error) {
	if err := p.cfg.validate(false); err != nil {
		return Result{}, err
	}
	emit.Emit(progress.Event{Kind: progress.StepStarted, Step: "preflight", Message: "checking the campaign home's machine and prices"})
	plan, err := p.sharedPlan(ctx, h)
	if err == nil && !plan.OnHome.Fits {
		err = fmt.Errorf("%w: %s", ErrServerType, plan.OnHome.Reason())
	}
	if err != nil {
		emit.Emit(progress.Event{Kind: progress.Failed, Step: "preflight", Message: err.Error(), Err: err})
		return Result{}, err
	}
	emit.Emit(progress.Event{Kind: progress.Log, Step: "preflight", Message: fmt.Sprintf("GoToSocial goes on the campaign home %s: no second server; the one machine costs %s", plan.OnHome.Server, plan.Cost.Summary())})
	emit.Emit(progress.Event{Kind: progress.StepDone, Step: "preflight"})
	res, keys, volumeID, err := p.homeResult(h)
	if err != nil {
		return res, err
	}
	moved, err := rehome(h, res, volumeID)
	if err != nil {
		return res, err
	}
	if moved != "" {
		emit.Emit(progress.Event{Kind: progress.Log, Step: "install", Message: moved})
	}
	h.ServerID, h.ServerName, h.VolumeID = res.ServerID, res.ServerName, volumeID
	if err := os.MkdirAll(p.cfg.Dir, 0o700); err != nil {
		return res, fmt.Errorf("create state dir: %w", err)
	}
	b, _ := json.MarshalIndent(h, "", "  ")
	if err := atomicfile.Write(filepath.Join(p.cfg.Dir, onHomeFile), append(b, '\n'), 0o600); err != nil {
		return res, err
	}
	for _, rec := range res.DNS {
		emit.Emit(progress.Event{Kind: progress.Log, Step: provision.StepDNSRecord, Item: rec.Name,
			Message: fmt.Sprintf("%-32s %-5d IN %-5s %s", rec.Name+".", rec.TTL, rec.Type, rec.Value)})
	}
	if p.cfg.NoWait {
		return res, nil
	}
	t := p.target(res, keys)
	if err := p.installOnHome(ctx, t, plan.ServerType.Architecture, emit); err != nil {
		return res, err
	}
	w := p.cfg.Wait
	if err := WaitDNS(ctx, w, res.DNS, emit); err != nil {
		return res, err
	}
	if err := WaitInstance(ctx, w, res.URL, p.cfg.Group.Destination.Domain, emit); err != nil {
		return res, err
	}
	if res.Credentials, err = p.gotosocialAdmin(ctx, t, res, plan.ServerType.Architecture, emit); err != nil {
		return res, err
	}
	res.Waited = true
	return res, nil
}

// installOnHome copies the install script to the home (root-only, on
// stdin: it holds the SMTP password) and runs it.
func (p *Provisioner) installOnHome(ctx context.Context, t SSHTarget, arch string, emit progress.Func) error {
	script, err := p.sharedInstall(arch)
	if err != nil {
		return err
	}
	if _, err := sshWait(ctx, p.cfg.Wait, t, "ssh", "reaching the campaign home over SSH", "true", nil, emit); err != nil {
		return err
	}
	const step = "install"
	emit.Emit(progress.Event{Kind: progress.StepStarted, Step: step, Message: "installing GoToSocial " + GoToSocialVersion + " on the campaign home, behind its Caddy"})
	ctx, cancel := context.WithTimeout(ctx, 20*time.Minute)
	defer cancel()
	q := shellQuote(installPath)
	cmd := "umask 077 && cat >" + q + ".part && chmod 0700 " + q + ".part && mv -f " + q + ".part " + q + " && " + q
	if _, err := t.RunInput(ctx, cmd, strings.NewReader(script)); err != nil {
		log, _ := t.Run(context.WithoutCancel(ctx), "tail -n 20 /var/log/lifeboat-gotosocial.log")
		err = fmt.Errorf("install GoToSocial on the campaign home: %w\n%s", err, safetext.Block(string(log)))
		emit.Emit(progress.Event{Kind: progress.Failed, Step: step, Message: err.Error(), Err: err})
		return err
	}
	emit.Emit(progress.Event{Kind: progress.StepDone, Step: step})
	return nil
}

// removeCmd takes GoToSocial off the campaign home: its service, data
// (on the volume, unbound first), dumps and account maker, and the Caddy
// site; the home keeps running.
const removeCmd = `set -e
systemctl disable --now gotosocial 2>/dev/null || true
if mountpoint -q /var/lib/gotosocial; then umount /var/lib/gotosocial; fi
sed -i '\|^` + homeGoToSocialData + ` /var/lib/gotosocial none |d' /etc/fstab
for f in /etc/caddy/Caddyfile /etc/lifeboat/Caddyfile; do
  [ -e "$f" ] && sed -i '\|^import /etc/caddy/lifeboat-destination.caddy$|d' "$f"
done
rm -f /etc/caddy/lifeboat-destination.caddy
systemctl reload caddy || systemctl restart caddy
rm -rf ` + homeGoToSocialData + ` /var/lib/gotosocial /opt/gotosocial /etc/gotosocial /opt/lifeboat/lifeboat-gts-accounts
rm -f /etc/systemd/system/gotosocial.service /etc/cron.d/lifeboat-dump /usr/local/sbin/lifeboat-dump ` + installPath + `
rm -f /var/backups/lifeboat/gotosocial-*.db.gz /var/backups/lifeboat/latest.gz
systemctl daemon-reload
id -u gotosocial >/dev/null 2>&1 && userdel -f gotosocial || true`

// downOnHome takes the destination off the campaign home, which keeps
// running, and forgets it. Against an API on this machine (a fake, no
// real server behind it) there is nothing to reach over SSH.
func (p *Provisioner) downOnHome(ctx context.Context, h *onHome, emit progress.Func) error {
	const step = "remove"
	if !p.cfg.NoWait {
		res, keys, volumeID, err := p.homeResult(h)
		if err == nil {
			// A new server with GoToSocial's data on its volume has
			// nothing installed to take it off with, nor to export it
			// from: forgetting it would leave the data on the volume for
			// a later up to find without its admin's password.
			if _, err := rehome(h, res, volumeID); err == nil && res.ServerID != h.ServerID {
				return fmt.Errorf("%w: the campaign home is server %s now, not %s where up installed GoToSocial, whose data (every account) is on the home's volume: run lifeboat up GROUP.yaml to install it again onto the data, then down, which exports it first",
					ErrHomeMoved, res.ServerID, h.ServerID)
			}
		}
		switch {
		case errors.Is(err, ErrNothing), err == nil && res.ServerID != h.ServerID:
			emit.Emit(progress.Event{Kind: progress.Log, Step: step, Message: "the campaign home that held the group's server and its data is gone"})
		case err != nil:
			return err
		default:
			emit.Emit(progress.Event{Kind: progress.StepStarted, Step: step, Message: "removing GoToSocial from the campaign home " + res.ServerName + " (the home keeps running)"})
			ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
			defer cancel()
			if _, err := p.target(res, keys).Run(ctx, removeCmd); err != nil {
				emit.Emit(progress.Event{Kind: progress.Failed, Step: step, Message: err.Error(), Err: err})
				return fmt.Errorf("remove GoToSocial from the campaign home: %w", err)
			}
			emit.Emit(progress.Event{Kind: progress.StepDone, Step: step})
		}
	}
	for _, f := range []string{credsFile, tokenFile, knownHosts, onHomeFile} {
		if err := os.Remove(filepath.Join(p.cfg.Dir, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}
