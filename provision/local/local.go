// Package local is the embedded default destination: a real GoToSocial
// server on loopback with SQLite, for trying a whole escape on one
// machine. Lifeboat owns the server, so it makes members' accounts
// directly in GoToSocial's database through GoToSocial's own code (the
// account maker, provision/gtsaccounts) and needs no mail relay.
package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lifeboat-social/lifeboat/internal/atomicfile"
	"github.com/lifeboat-social/lifeboat/internal/fedi"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/internal/store"
	"github.com/lifeboat-social/lifeboat/internal/tools"
	"github.com/lifeboat-social/lifeboat/provision"
	"github.com/lifeboat-social/lifeboat/provision/fednet"
	"github.com/lifeboat-social/lifeboat/provision/gtsaccounts"
)

// Config says where the server lives and how it starts.
type Config struct {
	// Dir holds the server's config, database, media, log and the
	// admin's credentials (server.json, 0600, sealed with the store's
	// key ring). Reusing a Dir reuses the server.
	Dir   string
	Tools *tools.Installer
	// Title is the instance's name, e.g. the group's title.
	Title string
	// Keep leaves the GoToSocial process running after Stop, so the demo
	// server can be visited afterwards; StopRunning ends it.
	Keep bool
	// ReadyTimeout bounds the wait for the API to answer (default 5 min).
	ReadyTimeout time.Duration
	// ReasonRequired makes sign-ups carry a reason (at least 40
	// characters), which GoToSocial then shows admins as invite_request;
	// without it the reason is dropped. Tests of admission proofs set it.
	ReasonRequired bool
	// Settings are more GoToSocial settings, e.g. smtp-host and smtp-port
	// for a server that mails its members (the demo of an existing
	// server). They override the defaults.
	Settings map[string]any
	// Net, when set, serves the server over HTTPS as Domain, a name on
	// Net, with a certificate from Net's CA and Net's /etc/hosts, so that
	// it federates with the other servers on Net. Without it the server
	// speaks plain HTTP on a free port of 127.0.0.1 and cannot federate
	// (GoToSocial looks accounts up over HTTPS only).
	Net    *fednet.Net
	Domain string
}

// Local is the local destination.
type Local struct {
	cfg Config

	keys     *store.Keyring
	st       state
	proc     *os.Process
	gts      tools.GoToSocial
	accounts *gtsaccounts.Maker
	hc       *http.Client
}

// state is what survives between runs, in Dir/server.json: 0600 and
// sealed with the store's key ring (store.WriteSealedFile), since it holds
// the admin's password and token.
type state struct {
	Port          int      `json:"port"`
	AdminUsername string   `json:"admin_username"`
	AdminEmail    string   `json:"admin_email"`
	AdminPassword string   `json:"admin_password"`
	AdminCreated  bool     `json:"admin_created"`
	App           fedi.App `json:"app"`
	AdminToken    string   `json:"admin_token"`
}

// New returns the local destination for cfg.
func New(cfg Config) *Local {
	if cfg.Tools == nil {
		cfg.Tools = tools.New()
	}
	if cfg.ReadyTimeout == 0 {
		// GoToSocial compiles its SQLite (WebAssembly) at every start:
		// 12 s on an idle machine, minutes on a busy one.
		cfg.ReadyTimeout = 5 * time.Minute
	}
	if cfg.Title == "" {
		cfg.Title = "Lifeboat local"
	}
	hc := http.DefaultClient
	if cfg.Net != nil {
		hc = cfg.Net.HTTPClient()
	}
	return &Local{cfg: cfg, hc: hc}
}

var _ provision.Destination = (*Local)(nil)

// URL is the server's base URL (valid after Start).
func (l *Local) URL() string {
	if l.cfg.Net != nil {
		return l.cfg.Net.URL(l.cfg.Domain)
	}
	return fmt.Sprintf("http://127.0.0.1:%d", l.st.Port)
}

// HTTPClient is the client that reaches the server: on a fednet.Net one
// that resolves the net's names and trusts its CA. Pass it to API clients
// with fedi.WithHTTPClient.
func (l *Local) HTTPClient() *http.Client { return l.hc }

// AdminCredentials returns the admin's email and password, for telling the
// lead how to log in to the demo server.
func (l *Local) AdminCredentials() (email, password string) {
	return l.st.AdminEmail, l.st.AdminPassword
}

// ConfigPath is the GoToSocial config file.
func (l *Local) ConfigPath() string { return filepath.Join(l.cfg.Dir, "config.yaml") }

func (l *Local) statePath() string { return filepath.Join(l.cfg.Dir, "server.json") }
func (l *Local) pidPath() string   { return filepath.Join(l.cfg.Dir, "gotosocial.pid") }
func (l *Local) logPath() string   { return filepath.Join(l.cfg.Dir, "gotosocial.log") }

// Start installs GoToSocial if needed, starts it (or reuses one already
// running from an earlier run), and returns the ready server with an admin
// token.
func (l *Local) Start(ctx context.Context, emit progress.Func) (*provision.Server, error) {
	step := func(name string) func() {
		emit.Emit(progress.Event{Kind: progress.StepStarted, Step: name})
		return func() { emit.Emit(progress.Event{Kind: progress.StepDone, Step: name}) }
	}
	if err := os.MkdirAll(l.cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("create server dir: %w", err)
	}

	done := step("install GoToSocial")
	gts, err := l.cfg.Tools.GoToSocial(ctx)
	if err != nil {
		return nil, err
	}
	l.gts = gts
	done()

	if err := l.loadState(); err != nil {
		return nil, err
	}
	l.accounts = gtsaccounts.New(gtsaccounts.Exec(gts.AccountsBin, l.ConfigPath()))

	done = step("start GoToSocial")
	if !l.running(ctx) {
		if err := l.writeConfig(); err != nil {
			return nil, err
		}
		if !l.st.AdminCreated {
			if err := l.createAdmin(ctx); err != nil {
				return nil, err
			}
		}
		if err := l.startProcess(); err != nil {
			return nil, err
		}
		if err := l.waitReady(ctx); err != nil {
			return nil, err
		}
	}
	done()

	done = step("admin token")
	if err := l.adminToken(ctx); err != nil {
		return nil, err
	}
	done()
	// Throttling is off on this server (see writeConfig): the mesh
	// reaches the server's ceiling at 64 requests at once (bench/mesh).
	return &provision.Server{URL: l.URL(), Software: "gotosocial", AdminToken: l.st.AdminToken, Accounts: l.accounts, Concurrency: 64}, nil
}

// Stop ends the account maker and, unless Keep is set, stops GoToSocial.
func (l *Local) Stop(ctx context.Context) error {
	if l.accounts != nil {
		l.accounts.Close()
	}
	if l.cfg.Keep {
		return nil
	}
	return StopRunning(ctx, l.cfg.Dir)
}

// Restart stops the running server and starts it again on the same port
// and database, as an operator's restart (or a crash and a supervisor)
// does; tests use it to restart a server in the middle of bulk work.
func (l *Local) Restart(ctx context.Context) error {
	if err := StopRunning(ctx, l.cfg.Dir); err != nil {
		return err
	}
	if err := l.startProcess(); err != nil {
		return err
	}
	return l.waitReady(ctx)
}

// StopRunning stops a GoToSocial started in dir by an earlier run (as the
// demo leaves it); it is a no-op when none runs.
func StopRunning(ctx context.Context, dir string) error {
	pidFile := filepath.Join(dir, "gotosocial.pid")
	b, err := os.ReadFile(pidFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("read %s: %w", pidFile, err)
	}
	p, _ := os.FindProcess(pid)
	if err := p.Signal(syscall.SIGTERM); err != nil {
		os.Remove(pidFile)
		return nil // already gone
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if p.Signal(syscall.Signal(0)) != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if p.Signal(syscall.Signal(0)) == nil {
		p.Kill()
	}
	return os.Remove(pidFile)
}

// readState reads server.json (sealed, or in clear as an older Lifeboat
// left it: then it is sealed by this read). A missing file is
// fs.ErrNotExist.
func (l *Local) readState() (state, error) {
	var st state
	if l.keys == nil {
		keys, err := store.LoadKeys(l.cfg.Dir)
		if err != nil {
			return st, err
		}
		l.keys = keys
	}
	b, err := store.ReadSealedFile(l.keys, l.statePath())
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("read %s: %w (delete the directory to start afresh)", l.statePath(), err)
	}
	return st, nil
}

func (l *Local) loadState() error {
	st, err := l.readState()
	switch {
	case err == nil:
		l.st = st
		return nil
	case !errors.Is(err, os.ErrNotExist):
		return err
	}
	port := fednet.Port
	if l.cfg.Net == nil {
		p, err := freePort()
		if err != nil {
			return err
		}
		port = p
	}
	l.st = state{
		Port:          port,
		AdminUsername: "lifeboat",
		AdminEmail:    "admin@lifeboat.localhost",
		AdminPassword: provision.NewPassword(),
	}
	return l.saveState()
}

// saveState writes server.json atomically, sealed, with mode 0600.
func (l *Local) saveState() error {
	b, err := json.Marshal(l.st)
	if err != nil {
		return err
	}
	return store.WriteSealedFile(l.keys, l.statePath(), b)
}

// writeConfig writes GoToSocial's config: loopback only, SQLite, and the
// rate limits and throttling that protect a public server turned off,
// since every request here is Lifeboat's own bulk work on a server it
// owns.
func (l *Local) writeConfig() error {
	cfg := map[string]any{
		"host":                            fmt.Sprintf("127.0.0.1:%d", l.st.Port),
		"protocol":                        "http",
		"bind-address":                    "127.0.0.1",
		"port":                            l.st.Port,
		"log-level":                       "warn",
		"db-type":                         "sqlite",
		"db-address":                      filepath.Join(l.cfg.Dir, "gts.db"),
		"storage-backend":                 "local",
		"storage-local-base-path":         filepath.Join(l.cfg.Dir, "storage"),
		"letsencrypt-enabled":             false,
		"web-template-base-dir":           l.gts.TemplateDir,
		"web-asset-base-dir":              l.gts.AssetDir,
		"instance-languages":              []string{"en"},
		"accounts-registration-open":      true,
		"accounts-reason-required":        l.cfg.ReasonRequired,
		"advanced-rate-limit-requests":    0,
		"advanced-throttling-multiplier":  0,
		"advanced-cookies-samesite":       "lax",
		"instance-expose-public-timeline": true,
	}
	if err := l.federate(cfg); err != nil {
		return err
	}
	for k, v := range l.cfg.Settings {
		cfg[k] = v
	}
	b, err := json.MarshalIndent(cfg, "", "  ") // JSON is YAML
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(l.cfg.Dir, "storage"), 0o700); err != nil {
		return err
	}
	return atomicfile.Write(l.ConfigPath(), b, 0o600)
}

// federate sets what a server on a fednet.Net needs: its name, HTTPS
// with the net's certificate on port 443 of its own address, and loopback
// allowed to GoToSocial's HTTP client, which by default refuses to reach
// reserved addresses (the other servers are all on loopback).
func (l *Local) federate(cfg map[string]any) error {
	n := l.cfg.Net
	if n == nil {
		return nil
	}
	chain, key, err := n.Certificate(l.cfg.Domain)
	if err != nil {
		return err
	}
	cfg["host"] = l.cfg.Domain
	cfg["protocol"] = "https"
	cfg["bind-address"] = n.Addr(l.cfg.Domain).String()
	cfg["port"] = fednet.Port
	cfg["tls-certificate-chain"] = chain
	cfg["tls-certificate-key"] = key
	cfg["http-client"] = map[string]any{"allow-ips": []string{"127.0.0.0/8"}}
	return nil
}

// gtsCmd builds a gotosocial command; secrets go in the environment
// (GoToSocial reads GTS_* variables), never in argv.
func (l *Local) gtsCmd(ctx context.Context, env []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, l.gts.Bin, append([]string{"--config-path", l.ConfigPath()}, args...)...)
	cmd.Dir = l.cfg.Dir
	// GoToSocial compiles its WebAssembly (ffmpeg, ffprobe) at every
	// start, which takes most of its start-up and minutes on a busy
	// machine; the compiled code is kept beside the binary it belongs to
	// and reused by every later start of every local server.
	cache := "GTS_WAZERO_COMPILATION_CACHE=" + filepath.Join(filepath.Dir(filepath.Dir(l.gts.Bin)), "wazero-cache")
	cmd.Env = append(append(os.Environ(), cache), env...)
	return cmd
}

// createAdmin makes the admin account before the server first starts.
func (l *Local) createAdmin(ctx context.Context) error {
	err := l.accounts.CreateAdmin(ctx, l.st.AdminUsername, l.st.AdminEmail, l.st.AdminPassword)
	l.accounts.Close() // the server is about to open the database
	if err != nil {
		return err
	}
	l.st.AdminCreated = true
	return l.saveState()
}

// startProcess starts GoToSocial in its own session so that, with Keep,
// it outlives this process.
func (l *Local) startProcess() error {
	logf, err := os.OpenFile(l.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := l.gtsCmd(context.Background(), nil, "server", "start")
	cmd.Stdout, cmd.Stderr = logf, logf
	if l.cfg.Net != nil {
		if err := l.cfg.Net.Confine(cmd); err != nil {
			return err
		}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start gotosocial: %w", err)
	}
	l.proc = cmd.Process
	go cmd.Wait() // reap it if it exits while we run
	return atomicfile.Write(l.pidPath(), []byte(strconv.Itoa(cmd.Process.Pid)), 0o600)
}

// running reports whether a GoToSocial from an earlier run answers. A
// run killed between starting the server and writing its pid file leaves
// the server running without one: it is found by its config path among
// the processes, and the pid file written, so it can still be stopped.
func (l *Local) running(ctx context.Context) bool {
	if l.st.Port == 0 {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if !l.answers(ctx) {
		return false
	}
	if _, err := os.Stat(l.pidPath()); err == nil {
		return true
	}
	pid := findProcess(l.ConfigPath())
	if pid == 0 {
		return false // someone else's server on our port; starting ours will say so
	}
	return atomicfile.Write(l.pidPath(), []byte(strconv.Itoa(pid)), 0o600) == nil
}

// findProcess returns the pid of the GoToSocial server started with
// config, or 0.
func findProcess(config string) int {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		for i := 1; i < len(args); i++ {
			if args[i-1] == "--config-path" && args[i] == config && slices.Contains(args, "server") {
				return pid
			}
		}
	}
	return 0
}

func (l *Local) answers(ctx context.Context) bool {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, l.URL()+"/api/v2/instance", nil)
	resp, err := l.hc.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// waitReady polls /api/v2/instance until it answers; on timeout or an
// early exit the error carries the log's tail.
func (l *Local) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.ReadyTimeout)
	defer cancel()
	for {
		if l.answers(ctx) {
			return nil
		}
		if l.proc != nil && l.proc.Signal(syscall.Signal(0)) != nil {
			return fmt.Errorf("gotosocial exited while starting; its log ends:\n%s", l.logTail())
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("gotosocial did not answer %s/api/v2/instance within %s; its log ends:\n%s",
				l.URL(), l.cfg.ReadyTimeout, l.logTail())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (l *Local) logTail() string {
	b, _ := os.ReadFile(l.logPath())
	return tail(string(b), 20)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// adminToken reuses the saved admin token while it works, else signs the
// admin in through the authorization-code flow.
func (l *Local) adminToken(ctx context.Context) error {
	c := fedi.New(l.URL(), fedi.WithHTTPClient(l.hc))
	if l.st.AdminToken != "" {
		if _, err := c.WithToken(l.st.AdminToken).VerifyCredentials(ctx); err == nil {
			return nil
		}
	}
	app, tok, err := provision.SignInAdmin(ctx, c, l.st.AdminEmail, l.st.AdminPassword)
	if err != nil {
		return err
	}
	l.st.App, l.st.AdminToken = app, tok
	return l.saveState()
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
