package hetzner

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/hashicorp/terraform-exec/tfexec"

	"github.com/lifeboat-social/lifeboat/internal/atomicfile"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/templates"
)

// Files in Config.Dir.
const (
	moduleDir   = "module"            // the embedded module, copied afresh each run
	dataDir     = "terraform.d"       // TF_DATA_DIR: installed providers
	stateFile   = "terraform.tfstate" // the state (secrets inside): 0600
	varsFile    = "vars.tfvars.json"  // the variables (user data inside): 0600
	adoptedFile = "adopted-server"    // a server adopted and not yet applied (see keepServer)
	cliConfig   = "terraform.rc"      // TF_CLI_CONFIG_FILE
	credsFile   = "admin.json"        // admin credentials fetched over SSH: 0600
	knownHosts  = "ssh/known_hosts"
	exportsDir  = "exports"
	providerSrc = "registry.terraform.io/hetznercloud/hcloud"
)

// runner is one Terraform working directory: the group's module copy,
// with state, data dir and CLI config beside it in Config.Dir.
type runner struct {
	cfg Config
	tf  *tfexec.Terraform
}

// newRunner prepares Dir, once no earlier Terraform run works in it
// (awaitLock): copies the module, writes the CLI config and sets
// Terraform's environment (from os.Environ, plus the token and endpoint
// for the provider).
func newRunner(ctx context.Context, cfg Config, emit progress.Func) (*runner, error) {
	if cfg.Terraform == "" {
		return nil, fmt.Errorf("%w: no Terraform binary", ErrConfig)
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("create state dir: %w", err)
	}
	if err := awaitLock(ctx, cfg.Dir, emit); err != nil {
		return nil, err
	}
	if err := os.Chmod(cfg.Dir, 0o700); err != nil {
		return nil, err
	}
	mod := filepath.Join(cfg.Dir, moduleDir)
	if err := os.RemoveAll(mod); err != nil {
		return nil, fmt.Errorf("refresh module: %w", err)
	}
	sub, err := fs.Sub(templates.Hetzner, "terraform")
	if err != nil {
		return nil, err
	}
	if err := os.CopyFS(mod, sub); err != nil {
		return nil, fmt.Errorf("copy module: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(cfg.Dir, cliConfig), []byte(cliConfigText(cfg.ProviderMirror)), 0o600); err != nil {
		return nil, err
	}
	tf, err := tfexec.NewTerraform(mod, cfg.Terraform)
	if err != nil {
		return nil, fmt.Errorf("terraform: %w", err)
	}
	if err := tf.SetEnv(terraformEnv(cfg)); err != nil {
		return nil, fmt.Errorf("terraform env: %w", err)
	}
	return &runner{cfg: cfg, tf: tf}, nil
}

// cliConfigText points provider installation at the filesystem mirror
// when there is one (air-gapped users, and tests), else at the registry.
func cliConfigText(mirror string) string {
	var b strings.Builder
	b.WriteString("# Written by lifeboat; rewritten on every run.\ndisable_checkpoint = true\n")
	if mirror != "" {
		fmt.Fprintf(&b, `provider_installation {
  filesystem_mirror {
    path    = %q
    include = [%q]
  }
  direct {
    exclude = [%q]
  }
}
`, mirror, providerSrc, providerSrc)
	}
	return b.String()
}

// terraformEnv is os.Environ with the variables tfexec manages removed
// and the provider's token and endpoint set.
func terraformEnv(cfg Config) map[string]string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	for _, k := range tfexec.ProhibitedEnv(env) {
		delete(env, k)
	}
	env["TF_CLI_CONFIG_FILE"] = filepath.Join(cfg.Dir, cliConfig)
	env["TF_DATA_DIR"] = filepath.Join(cfg.Dir, dataDir)
	env["CHECKPOINT_DISABLE"] = "1"
	env["HCLOUD_TOKEN"] = cfg.Token
	delete(env, "HCLOUD_TOKEN_FILE")
	if cfg.Endpoint != "" {
		env["HCLOUD_ENDPOINT"] = cfg.Endpoint
	} else {
		delete(env, "HCLOUD_ENDPOINT")
	}
	return env
}

func (r *runner) statePath() string { return filepath.Join(r.cfg.Dir, stateFile) }
func (r *runner) varsPath() string  { return filepath.Join(r.cfg.Dir, varsFile) }

// init installs the provider and points the local backend at Dir.
func (r *runner) init(ctx context.Context) error {
	err := r.tf.Init(ctx, tfexec.Upgrade(false), tfexec.BackendConfig("path="+r.statePath()))
	if err != nil {
		return fmt.Errorf("terraform init: %w", err)
	}
	return nil
}

// secure makes the state files 0600 (Terraform writes them 0644).
func (r *runner) secure() {
	for _, p := range []string{r.statePath(), r.statePath() + ".backup", r.varsPath()} {
		if _, err := os.Stat(p); err == nil {
			os.Chmod(p, 0o600)
		}
	}
}

// plan returns the changes Terraform would make. The plan is kept in
// out (0600: the variables are in it), for apply to carry out exactly
// what was shown; with out empty it is thrown away.
func (r *runner) plan(ctx context.Context, out string) ([]Change, error) {
	if out == "" {
		out = filepath.Join(r.cfg.Dir, "plan.out")
		defer os.Remove(out)
	}
	defer r.secure()
	if _, err := r.tf.Plan(ctx, tfexec.VarFile(r.varsPath()), tfexec.Out(out), lockTimeout()); err != nil {
		return nil, fmt.Errorf("terraform plan: %w", err)
	}
	os.Chmod(out, 0o600)
	p, err := r.tf.ShowPlanFile(ctx, out)
	if err != nil {
		return nil, fmt.Errorf("terraform show: %w", err)
	}
	var cs []Change
	for _, rc := range p.ResourceChanges {
		if rc.Change == nil {
			continue
		}
		a := actionName(rc.Change.Actions.Create(), rc.Change.Actions.Update(), rc.Change.Actions.Delete(), rc.Change.Actions.Replace())
		c := Change{Address: rc.Address, Action: a, Reason: string(rc.ActionReason)}
		for _, path := range rc.Change.ReplacePaths {
			c.Forces = append(c.Forces, attrPath(path))
		}
		cs = append(cs, c)
	}
	return cs, nil
}

// attrPath writes one of a plan's attribute paths (["public_net", 0,
// "ipv4"]) as public_net.0.ipv4.
func attrPath(p any) string {
	steps, ok := p.([]any)
	if !ok {
		return fmt.Sprint(p)
	}
	parts := make([]string, len(steps))
	for i, s := range steps {
		parts[i] = fmt.Sprint(s)
	}
	return strings.Join(parts, ".")
}

func actionName(create, update, del, replace bool) string {
	switch {
	case replace:
		return "replace"
	case create:
		return "create"
	case update:
		return "update"
	case del:
		return "delete"
	}
	return "no-op"
}

// apply runs terraform apply, turning its JSON log into progress events:
// the plan saved in planFile, else a fresh one.
func (r *runner) apply(ctx context.Context, emit progress.Func, step, planFile string) error {
	defer r.secure()
	w := newJSONLog(emit, step)
	opts := []tfexec.ApplyOption{lockTimeout(), tfexec.VarFile(r.varsPath())}
	if planFile != "" {
		opts = []tfexec.ApplyOption{lockTimeout(), tfexec.DirOrPlan(planFile)}
	}
	err := r.tf.ApplyJSON(ctx, w, opts...)
	r.tf.SetStdout(io.Discard) // ApplyJSON keeps w as the runner's stdout
	w.Close()
	if err != nil {
		return fmt.Errorf("terraform apply: %w%s", err, w.errors())
	}
	return nil
}

// destroy runs terraform destroy with progress.
func (r *runner) destroy(ctx context.Context, emit progress.Func, step string) error {
	defer r.secure()
	w := newJSONLog(emit, step)
	err := r.tf.DestroyJSON(ctx, w, tfexec.VarFile(r.varsPath()), lockTimeout())
	r.tf.SetStdout(io.Discard)
	w.Close()
	if err != nil {
		return fmt.Errorf("terraform destroy: %w%s", err, w.errors())
	}
	return nil
}

// outputs reads the module's outputs as strings.
func (r *runner) outputs(ctx context.Context) (map[string]string, error) {
	out, err := r.tf.Output(ctx)
	if err != nil {
		return nil, fmt.Errorf("terraform output: %w", err)
	}
	m := map[string]string{}
	for k, v := range out {
		var s string
		if json.Unmarshal(v.Value, &s) == nil {
			m[k] = s
			continue
		}
		var n json.Number
		if json.Unmarshal(v.Value, &n) == nil {
			m[k] = n.String()
		}
	}
	return m, nil
}

// jsonLog parses Terraform's machine-readable UI lines as they arrive.
type jsonLog struct {
	emit  progress.Func
	step  string
	pw    *io.PipeWriter
	done  chan struct{}
	mu    sync.Mutex
	diags []string
	total int
	count int
}

type tfLine struct {
	Level   string `json:"@level"`
	Message string `json:"@message"`
	Type    string `json:"type"`
	Hook    struct {
		Resource struct {
			Addr string `json:"addr"`
		} `json:"resource"`
		Action string `json:"action"`
	} `json:"hook"`
	Changes struct {
		Add       int    `json:"add"`
		Change    int    `json:"change"`
		Remove    int    `json:"remove"`
		Operation string `json:"operation"`
	} `json:"changes"`
	Diagnostic struct {
		Severity string `json:"severity"`
		Summary  string `json:"summary"`
		Detail   string `json:"detail"`
	} `json:"diagnostic"`
}

func newJSONLog(emit progress.Func, step string) *jsonLog {
	pr, pw := io.Pipe()
	l := &jsonLog{emit: emit, step: step, pw: pw, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
		for sc.Scan() {
			l.line(sc.Bytes())
		}
		io.Copy(io.Discard, pr)
	}()
	return l
}

func (l *jsonLog) Write(p []byte) (int, error) { return l.pw.Write(p) }

func (l *jsonLog) Close() {
	l.pw.Close()
	<-l.done
}

func (l *jsonLog) line(b []byte) {
	var m tfLine
	if json.Unmarshal(b, &m) != nil {
		return
	}
	switch m.Type {
	case "change_summary":
		if m.Changes.Operation == "plan" {
			l.total = m.Changes.Add + m.Changes.Change + m.Changes.Remove
			l.emit.Emit(progress.Event{Kind: progress.Advanced, Step: l.step, Done: 0, Total: l.total, Message: m.Message})
			return
		}
	case "apply_start":
		l.emit.Emit(progress.Event{Kind: progress.Log, Step: l.step, Item: m.Hook.Resource.Addr, Message: m.Message})
		return
	case "apply_progress":
		l.emit.Emit(progress.Event{Kind: progress.Log, Step: l.step, Item: m.Hook.Resource.Addr, Message: m.Message})
		return
	case "apply_complete":
		l.count++
		l.emit.Emit(progress.Event{Kind: progress.Advanced, Step: l.step, Item: m.Hook.Resource.Addr, Done: l.count, Total: max(l.total, l.count), Message: m.Message})
		return
	case "apply_errored":
		l.emit.Emit(progress.Event{Kind: progress.Failed, Step: l.step, Item: m.Hook.Resource.Addr, Message: m.Message})
		return
	case "diagnostic":
		if m.Diagnostic.Severity == "error" {
			l.mu.Lock()
			d := m.Diagnostic.Summary
			if m.Diagnostic.Detail != "" {
				d += ": " + m.Diagnostic.Detail
			}
			l.diags = append(l.diags, d)
			l.mu.Unlock()
		}
	}
	if m.Message != "" && m.Type != "version" && m.Type != "log" {
		l.emit.Emit(progress.Event{Kind: progress.Log, Step: l.step, Message: m.Message})
	}
}

func (l *jsonLog) errors() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.diags) == 0 {
		return ""
	}
	return "\n  " + strings.Join(l.diags, "\n  ")
}

// start writes the variables file (0600) and runs terraform init: the
// last of every run's preparations.
func (r *runner) start(ctx context.Context, emit progress.Func, varsJSON []byte) error {
	if err := atomicfile.Write(r.varsPath(), varsJSON, 0o600); err != nil {
		return err
	}
	emit.Emit(progress.Event{Kind: progress.StepStarted, Step: "init", Message: "terraform init"})
	if err := r.init(ctx); err != nil {
		return err
	}
	emit.Emit(progress.Event{Kind: progress.StepDone, Step: "init"})
	return nil
}

// planStep runs terraform plan as the "plan" step, keeping the plan in
// out unless it is empty.
func (r *runner) planStep(ctx context.Context, emit progress.Func, out string) ([]Change, error) {
	emit.Emit(progress.Event{Kind: progress.StepStarted, Step: "plan", Message: "terraform plan"})
	cs, err := r.plan(ctx, out)
	if err != nil {
		return nil, err
	}
	emit.Emit(progress.Event{Kind: progress.StepDone, Step: "plan"})
	return cs, nil
}

// applyStep runs terraform apply as the "apply" step (of the plan saved
// in planFile, if any), after before (if any), whose failure is the
// step's.
func (r *runner) applyStep(ctx context.Context, emit progress.Func, before func() error, planFile string) error {
	emit.Emit(progress.Event{Kind: progress.StepStarted, Step: "apply", Message: "terraform apply"})
	var err error
	if before != nil {
		err = before()
	}
	if err == nil {
		err = r.apply(ctx, emit, "apply", planFile)
	}
	if err != nil {
		emit.Emit(progress.Event{Kind: progress.Failed, Step: "apply", Message: err.Error(), Err: err})
		return err
	}
	emit.Emit(progress.Event{Kind: progress.StepDone, Step: "apply"})
	return nil
}
