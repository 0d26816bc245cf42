package hetzner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/atomicfile"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/provision"
)

// Provisioner creates, reports and destroys one group's server.
type Provisioner struct {
	cfg Config
	api api
}

// New returns a provisioner for cfg (defaults filled in).
func New(cfg Config) *Provisioner {
	cfg.setDefaults()
	return &Provisioner{cfg: cfg}
}

func (p *Provisioner) client() api {
	if p.api == nil {
		p.api = newAPI(p.cfg)
	}
	return p.api
}

// Result is a provisioned server, for the lead and the playbook engine.
type Result struct {
	Group       string      `json:"group"`
	ServerID    string      `json:"server_id"`
	ServerName  string      `json:"server_name"`
	IPv4        string      `json:"ipv4"`
	IPv6        string      `json:"ipv6"`
	URL         string      `json:"url"`
	DNS         []DNSRecord `json:"dns"`
	SSH         SSHInfo     `json:"ssh"`
	Credentials string      `json:"credentials,omitempty"` // path of admin.json (0600, sealed), once fetched
	Waited      bool        `json:"waited"`                // DNS, TLS and credentials were waited for
	StateDir    string      `json:"state_dir"`
	OnHome      bool        `json:"on_home,omitempty"` // the campaign home's machine, not a server of its own
}

// SSHInfo says how to reach the server by hand.
type SSHInfo struct {
	User        string `json:"user"`
	Host        string `json:"host"`
	KeyFile     string `json:"key_file"`
	KnownHosts  string `json:"known_hosts"`
	HostKeySHA2 string `json:"host_key_sha256"`
}

// Command is an ssh command line that uses the pinned host key.
func (s SSHInfo) Command() string {
	return fmt.Sprintf("ssh -i %s -o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes %s@%s", s.KeyFile, s.KnownHosts, s.User, s.Host)
}

// prepare runs pre-flight, makes the keys, renders the cloud-init and the
// variables file, and readies Terraform.
func (p *Provisioner) prepare(ctx context.Context, emit progress.Func, needSSH bool) (Plan, Keys, *runner, error) {
	cfg := p.cfg
	if len(cfg.SSHFrom) == 0 {
		// Keep the address given last time, so a re-run needs no flags.
		cfg.SSHFrom = previousSSHFrom(filepath.Join(cfg.Dir, varsFile))
	}
	if err := cfg.validate(needSSH); err != nil {
		return Plan{}, Keys{}, nil, err
	}
	emit.Emit(progress.Event{Kind: progress.StepStarted, Step: "preflight", Message: "checking the token, location, server type, image and prices"})
	plan, err := preflight(ctx, cfg, p.client())
	if err != nil {
		emit.Emit(progress.Event{Kind: progress.Failed, Step: "preflight", Message: err.Error(), Err: err})
		return plan, Keys{}, nil, err
	}
	emit.Emit(progress.Event{Kind: progress.StepDone, Step: "preflight"})

	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return plan, Keys{}, nil, fmt.Errorf("create state dir: %w", err)
	}
	keys, err := loadKeys(cfg.Dir)
	if err != nil {
		return plan, Keys{}, nil, err
	}
	if len(cfg.SSHFrom) == 0 {
		// Plan only, first time: a placeholder (TEST-NET-1) so the module
		// validates; up refuses to run without a real address.
		cfg.SSHFrom = []string{placeholderSSHFrom}
	}
	ud, err := renderCloudInit(cfg, plan.ServerType.Architecture, keys)
	if err != nil {
		return plan, keys, nil, err
	}
	vb, err := renderVars(cfg, plan, keys, ud)
	if err != nil {
		return plan, keys, nil, err
	}
	r, err := newRunner(ctx, cfg, emit)
	if err != nil {
		return plan, keys, nil, err
	}
	if err := r.start(ctx, emit, vb); err != nil {
		return plan, keys, nil, err
	}
	return plan, keys, r, nil
}

// Plan runs pre-flight and terraform plan: what will be created, and the
// monthly cost.
func (p *Provisioner) Plan(ctx context.Context, emit progress.Func) (Plan, error) {
	if h, err := p.placement(); err != nil {
		return Plan{}, err
	} else if h != nil {
		if err := p.cfg.validate(false); err != nil {
			return Plan{}, err
		}
		emit.Emit(progress.Event{Kind: progress.StepStarted, Step: "preflight", Message: "checking the campaign home's machine and prices"})
		plan, err := p.sharedPlan(ctx, h)
		if err != nil {
			emit.Emit(progress.Event{Kind: progress.Failed, Step: "preflight", Message: err.Error(), Err: err})
			return plan, err
		}
		emit.Emit(progress.Event{Kind: progress.StepDone, Step: "preflight"})
		return plan, nil
	}
	plan, _, r, err := p.prepare(ctx, emit, false)
	if err != nil {
		return plan, err
	}
	plan.Resources, err = r.planStep(ctx, emit, "")
	return plan, err
}

// Up creates or updates the server (re-running it is safe: Terraform
// changes only what differs), then, unless NoWait, waits for DNS, TLS and
// the instance API and fetches the admin credentials over SSH.
func (p *Provisioner) Up(ctx context.Context, emit progress.Func) (Result, error) {
	if h, err := p.placement(); err != nil {
		return Result{}, err
	} else if h != nil {
		return p.upOnHome(ctx, h, emit)
	}
	// A refused plan leaves the variables as the last apply wrote them.
	vb, verr := os.ReadFile(filepath.Join(p.cfg.Dir, varsFile))
	plan, keys, r, err := p.prepare(ctx, emit, true)
	if err != nil {
		return Result{}, err
	}
	// What a cut-off apply made is adopted first, then the plan is read
	// before it is applied: it must not replace the server.
	planFile := filepath.Join(p.cfg.Dir, "up.tfplan")
	defer os.Remove(planFile)
	err = r.applyStep(ctx, emit, func() error {
		if err := p.adopt(ctx, r, emit); err != nil {
			return err
		}
		cs, err := r.plan(ctx, planFile)
		if err != nil {
			return err
		}
		_, err = os.Stat(filepath.Join(p.cfg.Dir, adoptedFile))
		return keepServer(cs, err == nil)
	}, planFile)
	if errors.Is(err, ErrReplaceServer) && verr == nil {
		err = errors.Join(err, atomicfile.Write(filepath.Join(p.cfg.Dir, varsFile), vb, 0o600))
	}
	if err != nil {
		return Result{}, err
	}
	if err := os.Remove(filepath.Join(p.cfg.Dir, adoptedFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return Result{}, err
	}
	res, err := p.result(ctx, r, keys)
	if err != nil {
		return res, err
	}
	if p.cfg.NoWait {
		return res, nil
	}
	for _, rec := range res.DNS {
		emit.Emit(progress.Event{Kind: progress.Log, Step: provision.StepDNSRecord, Item: rec.Name,
			Message: fmt.Sprintf("%-32s %-5d IN %-5s %s", rec.Name+".", rec.TTL, rec.Type, rec.Value)})
	}
	w := p.cfg.Wait
	if err := WaitDNS(ctx, w, res.DNS, emit); err != nil {
		return res, err
	}
	if err := WaitInstance(ctx, w, res.URL, p.cfg.Group.Destination.Domain, emit); err != nil {
		return res, err
	}
	t := p.target(res, keys)
	if p.cfg.Group.Destination.SoftwareOrDefault() == groups.SoftwareGoToSocial {
		res.Credentials, err = p.gotosocialAdmin(ctx, t, res, plan.ServerType.Architecture, emit)
		if err != nil {
			return res, err
		}
	} else {
		b, err := FetchCredentials(ctx, w, t, p.cfg.Layout, emit)
		if err != nil {
			return res, err
		}
		res.Credentials = filepath.Join(p.cfg.Dir, credsFile)
		if err := writeSealed(res.Credentials, b); err != nil {
			return res, err
		}
	}
	res.Waited = true
	return res, nil
}

// ErrReplaceServer means up would replace or destroy the group's server,
// and with it every account on it; up never does that.
var ErrReplaceServer = errors.New("up would replace the group's server")

// keepServer refuses a plan that replaces or destroys the group's server
// once it has been made: a changed location, say, cannot change in place,
// and Terraform would delete the server with the members' accounts and
// make an empty one. A server whose create was cut short holds nothing
// yet, and is made anew: one Terraform marked tainted, or one adopted
// from an apply that was cut off (adopted; imported, it lacks what the
// API does not show, such as its SSH keys, and the plan replaces it)
// until an apply has gone through.
func keepServer(cs []Change, adopted bool) error {
	for _, c := range cs {
		if c.Address != "hcloud_server.main" || (c.Action != "replace" && c.Action != "delete") || c.Reason == "replace_because_tainted" || adopted {
			continue
		}
		why := ""
		if len(c.Forces) > 0 {
			why = " (" + strings.Join(c.Forces, ", ") + " cannot change in place)"
		}
		return fmt.Errorf("%w%s: Terraform would %s the server, and every account on it would be lost. Nothing was changed. "+
			"Put the group file's destination settings back as they were, or move the group with lifeboat backup, down and restore",
			ErrReplaceServer, why, c.Action)
	}
	return nil
}

func (p *Provisioner) target(res Result, keys Keys) SSHTarget {
	return SSHTarget{Addr: net.JoinHostPort(res.IPv4, "22"), User: "root", Signer: keys.Client, HostKey: keys.HostKey, Dial: p.cfg.Wait.SSHDial}
}

// result reads the outputs and writes known_hosts for the pinned key.
func (p *Provisioner) result(ctx context.Context, r *runner, keys Keys) (Result, error) {
	return serverResult(ctx, r, keys, p.cfg.Group.Name, p.cfg.Group.Destination.Domain)
}

// serverResult reads the module's outputs for a server answering at
// domain, and writes known_hosts for its pinned key.
func serverResult(ctx context.Context, r *runner, keys Keys, group, d string) (Result, error) {
	out, err := r.outputs(ctx)
	if err != nil {
		return Result{}, err
	}
	return resultFrom(out, keys, group, d, r.cfg.Dir)
}

// resultFrom is the server the outputs describe, answering at domain d,
// with known_hosts for its pinned key written in dir (the state
// directory of what answers at d).
func resultFrom(out map[string]string, keys Keys, group, d, dir string) (Result, error) {
	res := Result{
		Group: group, ServerID: out["server_id"], ServerName: out["server_name"],
		IPv4: out["ipv4"], IPv6: out["ipv6"], URL: "https://" + d, StateDir: dir,
	}
	if res.IPv4 != "" {
		res.DNS = append(res.DNS, DNSRecord{Name: d, Type: "A", Value: res.IPv4, TTL: 300})
	}
	if res.IPv6 != "" {
		res.DNS = append(res.DNS, DNSRecord{Name: d, Type: "AAAA", Value: res.IPv6, TTL: 300})
	}
	kh := filepath.Join(dir, knownHosts)
	line := fmt.Sprintf("%s,%s %s\n", d, res.IPv4, keys.HostPub)
	if err := os.MkdirAll(filepath.Dir(kh), 0o700); err != nil {
		return res, err
	}
	if err := atomicfile.Write(kh, []byte(line), 0o600); err != nil {
		return res, err
	}
	res.SSH = SSHInfo{User: "root", Host: res.IPv4, KeyFile: keys.ClientFile, KnownHosts: kh, HostKeySHA2: ssh.FingerprintSHA256(keys.HostKey)}
	return res, nil
}

// ErrNothing means there is no server to act on (never created, or
// already destroyed).
var ErrNothing = errors.New("no server in the state")

// Down destroys everything the module created. It needs no pre-flight
// (a server type that can no longer be ordered must not block it).
func (p *Provisioner) Down(ctx context.Context, emit progress.Func) error {
	cfg := p.cfg
	if cfg.Token == "" {
		return fmt.Errorf("%w: no Hetzner Cloud token: set HCLOUD_TOKEN or HCLOUD_TOKEN_FILE", ErrConfig)
	}
	if h, err := p.recorded(); err != nil {
		return err
	} else if h != nil {
		return p.downOnHome(ctx, h, emit)
	}
	// An earlier run still applying has not written what it made yet.
	if err := awaitLock(ctx, cfg.Dir, emit); err != nil {
		return err
	}
	if empty, err := stateEmpty(filepath.Join(cfg.Dir, stateFile)); err != nil {
		return err
	} else if empty {
		return ErrNothing
	}
	if _, err := os.Stat(filepath.Join(cfg.Dir, varsFile)); err != nil {
		return fmt.Errorf("destroy: the variables file is missing from %s: %w", cfg.Dir, err)
	}
	r, err := newRunner(ctx, cfg, emit)
	if err != nil {
		return err
	}
	emit.Emit(progress.Event{Kind: progress.StepStarted, Step: "init", Message: "terraform init"})
	if err := r.init(ctx); err != nil {
		return err
	}
	emit.Emit(progress.Event{Kind: progress.StepDone, Step: "init"})
	emit.Emit(progress.Event{Kind: progress.StepStarted, Step: "destroy", Message: "terraform destroy"})
	if err := r.destroy(ctx, emit, "destroy"); err != nil {
		emit.Emit(progress.Event{Kind: progress.Failed, Step: "destroy", Message: err.Error(), Err: err})
		return err
	}
	emit.Emit(progress.Event{Kind: progress.StepDone, Step: "destroy"})
	os.Remove(filepath.Join(cfg.Dir, knownHosts))
	os.Remove(filepath.Join(cfg.Dir, tokenFile)) // the server it worked on is gone
	return nil
}

const placeholderSSHFrom = "192.0.2.1/32"

// previousSSHFrom reads admin_cidrs from the last variables file.
func previousSSHFrom(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var v vars
	if json.Unmarshal(b, &v) != nil {
		return nil
	}
	var out []string
	for _, c := range v.AdminCIDRs {
		if c != placeholderSSHFrom {
			out = append(out, c)
		}
	}
	return out
}

// stateEmpty reports whether the state file is missing or lists no
// resources.
func stateEmpty(path string) (bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("read state: %w", err)
	}
	var st struct {
		Resources []json.RawMessage `json:"resources"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return false, fmt.Errorf("read state %s: %w", path, err)
	}
	return len(st.Resources) == 0, nil
}

// Status reads the last applied result from the state, without touching
// the API.
func (p *Provisioner) Status(ctx context.Context) (Result, error) {
	if h, err := p.recorded(); err != nil {
		return Result{}, err
	} else if h != nil {
		res, _, volumeID, err := p.homeResult(h)
		if err == nil && res.ServerID != h.ServerID {
			if _, gone := rehome(h, res, volumeID); gone != nil {
				err = fmt.Errorf("%w: %w", ErrNothing, gone)
			} else {
				err = fmt.Errorf("%w: the campaign home is server %s now, not %s where up installed GoToSocial: lifeboat up GROUP.yaml installs it again onto its data on the home's volume", ErrNothing, res.ServerID, h.ServerID)
			}
		}
		if _, serr := os.Stat(filepath.Join(p.cfg.Dir, credsFile)); serr == nil {
			res.Credentials = filepath.Join(p.cfg.Dir, credsFile)
		}
		return res, err
	}
	if _, err := os.Stat(filepath.Join(p.cfg.Dir, stateFile)); err != nil {
		return Result{}, ErrNothing
	}
	r, err := newRunner(ctx, p.cfg, nil)
	if err != nil {
		return Result{}, err
	}
	if err := r.init(ctx); err != nil {
		return Result{}, err
	}
	keys, err := loadKeys(p.cfg.Dir)
	if err != nil {
		return Result{}, err
	}
	res, err := p.result(ctx, r, keys)
	if err == nil && res.ServerID == "" {
		return res, ErrNothing
	}
	if _, err := os.Stat(filepath.Join(p.cfg.Dir, credsFile)); err == nil {
		res.Credentials = filepath.Join(p.cfg.Dir, credsFile)
	}
	return res, err
}

// exportCmd makes a fresh dump and streams it.
const exportCmd = "/usr/local/sbin/lifeboat-dump >&2 && cat /var/backups/lifeboat/latest.gz"

// Export fetches a fresh database dump over SSH into Dir/exports (0600)
// and returns its path. down runs it before destroying.
func (p *Provisioner) Export(ctx context.Context, emit progress.Func) (string, error) {
	res, err := p.Status(ctx)
	if err != nil {
		return "", err
	}
	keys, err := p.serverKeys()
	if err != nil {
		return "", err
	}
	emit.Emit(progress.Event{Kind: progress.StepStarted, Step: "export", Message: "exporting the database over SSH"})
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	b, err := p.target(res, keys).Run(ctx, exportCmd)
	if err != nil {
		return "", fmt.Errorf("export: %w", err)
	}
	dir := filepath.Join(p.cfg.Dir, exportsDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(dir, fmt.Sprintf("%s-%s.gz", p.cfg.Group.Name, time.Now().UTC().Format("20060102T150405Z")))
	if err := atomicfile.Write(path, b, 0o600); err != nil {
		return "", err
	}
	emit.Emit(progress.Event{Kind: progress.StepDone, Step: "export", Message: path})
	return path, nil
}
