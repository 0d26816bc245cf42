// Package tools installs and caches the real components Lifeboat runs:
// GoToSocial, Terraform, the hcloud provider (in a filesystem mirror),
// restic (backups), PostgreSQL, Chromium, and, for the tests, the Debian
// root filesystem a new server's cloud-init is booted in and an S3 server. Everything lands under one directory, keyed by
// version, so a second run finds it and does nothing.
//
// Components that ship as Go modules are built from the Go module proxy;
// system packages come from apt. Builds go to a temporary directory and are
// renamed into place, so a crash never leaves a half-built tool that looks
// finished, and a file lock keeps parallel test binaries from building the
// same tool twice.
package tools

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
)

// Pinned versions. GoToSocial and Terraform are the last versions the Go
// module proxy serves that build here (see docs/tools.md).
const (
	GoToSocialVersion     = "v0.17.3"
	TerraformVersion      = "1.5.7"
	HcloudProviderVersion = "1.59.0"
	// ResticVersion is the restic lifeboat backup and restore run; 0.17
	// and later give the exit codes they read.
	ResticVersion = "0.19.1"
	// VersityGWVersion is the S3 server (Versity's gateway over a
	// directory, Apache-2.0) the tests back up into a bucket with.
	VersityGWVersion = "1.8.0"
	// PebbleVersion is Let's Encrypt's ACME test server, which issues the
	// campaign home's certificate in its boot test.
	PebbleVersion = "2.10.3"
)

// Installer installs tools into Dir. Log receives build output.
type Installer struct {
	Dir string
	Log io.Writer
}

// DefaultDir is where tools are cached: $LIFEBOAT_TOOLS, or the user's
// cache directory. The installer reads its own variables
// ($LIFEBOAT_TOOLS, _TERRAFORM, _PG_BIN, _CHROMIUM) rather than taking
// them from internal/config: it is a leaf that tests, benchmarks and the
// Makefile use without any configuration.
func DefaultDir() string {
	if d := os.Getenv("LIFEBOAT_TOOLS"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "lifeboat", "tools")
	}
	return filepath.Join(os.TempDir(), "lifeboat-tools")
}

// New returns an installer for DefaultDir that logs to stderr.
func New() *Installer { return &Installer{Dir: DefaultDir(), Log: os.Stderr} }

func (in *Installer) logf(format string, a ...any) {
	if in.Log != nil {
		fmt.Fprintf(in.Log, "tools: "+format+"\n", a...)
	}
}

// once runs build into a fresh temporary directory and renames it to
// Dir/name unless Dir/name already exists. It holds a lock on the name for
// the duration so concurrent callers wait rather than build again.
func (in *Installer) once(ctx context.Context, name string, build func(tmp string) error) (string, error) {
	final := filepath.Join(in.Dir, name)
	if _, err := os.Stat(final); err == nil {
		return final, nil
	}
	if err := os.MkdirAll(in.Dir, 0o755); err != nil {
		return "", fmt.Errorf("create tools dir: %w", err)
	}
	unlock, err := lock(filepath.Join(in.Dir, "."+name+".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(final); err == nil {
		return final, nil // built by whoever held the lock before us
	}
	tmp, err := os.MkdirTemp(in.Dir, "."+name+".tmp-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	in.logf("installing %s (once; cached in %s)", name, in.Dir)
	if err := build(tmp); err != nil {
		return "", fmt.Errorf("install %s: %w", name, err)
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", fmt.Errorf("install %s: %w", name, err)
	}
	return final, nil
}

func lock(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// run runs a command with extra environment, logging its output.
func (in *Installer) run(ctx context.Context, dir string, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out := in.Log
	if out == nil {
		out = io.Discard
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return nil
}

// outsideModules is where go commands that name a module@version run.
// Not in tmp: the tools directory usually sits inside Lifeboat's own
// checkout, and go would read Lifeboat's go.mod there and, with
// GOTOOLCHAIN=local, refuse whenever it asks for a newer Go than the one
// building the tool.
const outsideModules = "/"

// goEnv is the environment for building modules that are not in the
// checksum database or that need replace directives honoured.
func goEnv(nosum string) []string {
	return []string{"GOTOOLCHAIN=local", "GOFLAGS=-mod=mod", "GONOSUMDB=" + nosum, "GONOSUMCHECK=1", "CGO_ENABLED=0"}
}

// moduleSource downloads a module and copies it to a writable directory
// (the module cache is read-only).
func (in *Installer) moduleSource(ctx context.Context, tmp, module, version, nosum string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", module+"@"+version)
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "GONOSUMDB="+nosum, "GOFLAGS=-mod=mod")
	cmd.Dir = outsideModules
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("go mod download %s@%s: %s", module, version, ee.Stderr)
		}
		return "", fmt.Errorf("go mod download %s@%s: %w", module, version, err)
	}
	dir := jsonField(string(out), "Dir")
	if dir == "" {
		return "", fmt.Errorf("go mod download %s@%s: no Dir in %s", module, version, out)
	}
	src := filepath.Join(tmp, "src")
	if err := os.CopyFS(src, os.DirFS(dir)); err != nil {
		return "", fmt.Errorf("copy module source: %w", err)
	}
	// The module cache is read-only and CopyFS keeps the modes.
	filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err == nil {
			if d.IsDir() {
				os.Chmod(p, 0o755)
			} else {
				os.Chmod(p, 0o644)
			}
		}
		return nil
	})
	return src, nil
}

// jsonField pulls a top-level string field out of go mod download -json
// output without a struct for the whole document.
func jsonField(doc, field string) string {
	key := `"` + field + `": "`
	i := strings.Index(doc, key)
	if i < 0 {
		return ""
	}
	rest := doc[i+len(key):]
	j := strings.Index(rest, `"`)
	if j < 0 {
		return ""
	}
	return rest[:j]
}

// gtsWazero is the wazero GoToSocial is built with, in place of the
// v1.8.1 its v0.17.3 pins: wazero before v1.9.0 compiles WebAssembly that
// calls Go's memmove as if it kept RDX, which Go 1.24 and later on amd64
// no longer do, so the SQLite that GoToSocial runs as WebAssembly corrupts
// its memory and panics ("wasm error: out of bounds memory access", on a
// new database while migrating; wazero issue 2375). GoToSocial's own
// releases were built with an older Go and are not affected.
const gtsWazero = "v1.9.0"

// gtsKey names a GoToSocial build in the cache: the version and the
// wazero it was built with.
func gtsKey(what string) string { return what + "-" + GoToSocialVersion + "-wazero-" + gtsWazero }

// gtsSource is GoToSocial's module source, ready to build with gtsWazero.
func (in *Installer) gtsSource(ctx context.Context, tmp, nosum string) (string, error) {
	const mod = "github.com/superseriousbusiness/gotosocial"
	src, err := in.moduleSource(ctx, tmp, mod, GoToSocialVersion, nosum)
	if err != nil {
		return "", err
	}
	return src, in.run(ctx, src, goEnv(nosum), "go", "get", "github.com/tetratelabs/wazero@"+gtsWazero)
}

// GoToSocial is an installed GoToSocial server.
type GoToSocial struct {
	Bin string // the gotosocial binary
	// AccountsBin makes accounts from requests on stdin, built from
	// GoToSocial's own source (see gtsaccounts.go.src).
	AccountsBin string
	TemplateDir string // web/template, needed at run time
	AssetDir    string // web/assets
}

// gtsAccountsSrc is the account maker's source, compiled inside
// GoToSocial's module because it uses GoToSocial's internal packages.
//
//go:embed gtsaccounts.go.src
var gtsAccountsSrc []byte

// GoToSocial builds GoToSocial from its module source, and beside it the
// account maker Lifeboat uses on servers it runs.
func (in *Installer) GoToSocial(ctx context.Context) (GoToSocial, error) {
	const mod = "github.com/superseriousbusiness/gotosocial"
	nosum := mod + ",gitlab.com/NyaaaWhatsUpDoc"
	dir, err := in.once(ctx, gtsKey("gotosocial"), func(tmp string) error {
		src, err := in.gtsSource(ctx, tmp, nosum)
		if err != nil {
			return err
		}
		if err := in.run(ctx, src, goEnv(nosum), "go", "build", "-trimpath", "-o", filepath.Join(tmp, "bin", "gotosocial"), "./cmd/gotosocial"); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(tmp, "web"), 0o755); err != nil {
			return err
		}
		for _, d := range []string{"template", "assets"} {
			if err := os.Rename(filepath.Join(src, "web", d), filepath.Join(tmp, "web", d)); err != nil {
				return err
			}
		}
		return os.RemoveAll(src)
	})
	if err != nil {
		return GoToSocial{}, err
	}
	acc, err := in.gtsAccounts(ctx, "", "")
	if err != nil {
		return GoToSocial{}, err
	}
	return GoToSocial{
		AccountsBin: acc,
		Bin:         filepath.Join(dir, "bin", "gotosocial"),
		TemplateDir: filepath.Join(dir, "web", "template") + "/",
		AssetDir:    filepath.Join(dir, "web", "assets") + "/",
	}, nil
}

// GoToSocialAccountsFor returns the account maker built for a server of
// another kind (GOOS/GOARCH), for a new instance Lifeboat copies it to:
// linux/amd64 or linux/arm64. It is the host's build when they match.
func (in *Installer) GoToSocialAccountsFor(ctx context.Context, goos, goarch string) (string, error) {
	if goos == runtime.GOOS && goarch == runtime.GOARCH {
		return in.gtsAccounts(ctx, "", "")
	}
	return in.gtsAccounts(ctx, goos, goarch)
}

// gtsAccounts builds the account maker inside GoToSocial's module (it
// uses GoToSocial's internal packages), for the host when goos is empty.
func (in *Installer) gtsAccounts(ctx context.Context, goos, goarch string) (string, error) {
	const mod = "github.com/superseriousbusiness/gotosocial"
	nosum := mod + ",gitlab.com/NyaaaWhatsUpDoc"
	key, env := gtsKey("gotosocial-accounts"), goEnv(nosum)
	if goos != "" {
		key += "-" + goos + "-" + goarch
		env = append(env, "GOOS="+goos, "GOARCH="+goarch)
	}
	dir, err := in.once(ctx, key, func(tmp string) error {
		src, err := in.gtsSource(ctx, tmp, nosum)
		if err != nil {
			return err
		}
		main := filepath.Join(src, "cmd", "lifeboat-gts-accounts", "main.go")
		if err := os.MkdirAll(filepath.Dir(main), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(main, gtsAccountsSrc, 0o644); err != nil {
			return err
		}
		out := filepath.Join(tmp, "bin", "lifeboat-gts-accounts")
		if err := in.run(ctx, src, env, "go", "build", "-trimpath", "-o", out, "./cmd/lifeboat-gts-accounts"); err != nil {
			return err
		}
		return os.RemoveAll(src)
	})
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "bin", "lifeboat-gts-accounts"), nil
}

// Terraform returns a Terraform binary: $LIFEBOAT_TERRAFORM if set, else
// the pinned version built from the module proxy.
func (in *Installer) Terraform(ctx context.Context) (string, error) {
	if p := os.Getenv("LIFEBOAT_TERRAFORM"); p != "" {
		return p, nil
	}
	return in.goInstall(ctx, "terraform-"+TerraformVersion, "github.com/hashicorp/terraform@v"+TerraformVersion, "terraform")
}

// goInstall builds a command with go install into Dir/key and returns
// its path.
func (in *Installer) goInstall(ctx context.Context, key, pkg, bin string) (string, error) {
	dir, err := in.once(ctx, key, func(tmp string) error {
		env := []string{"GOTOOLCHAIN=local", "GOBIN=" + tmp, "CGO_ENABLED=0"}
		return in.run(ctx, outsideModules, env, "go", "install", pkg)
	})
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, bin), nil
}

// Restic returns restic: $LIFEBOAT_RESTIC if set, else the pinned
// version built from the module proxy (Debian's is older than 0.17).
func (in *Installer) Restic(ctx context.Context) (string, error) {
	if p := os.Getenv("LIFEBOAT_RESTIC"); p != "" {
		return p, nil
	}
	return in.goInstall(ctx, "restic-"+ResticVersion, "github.com/restic/restic/cmd/restic@v"+ResticVersion, "restic")
}

// S3Server returns Versity's S3 gateway (versitygw), a real S3 server
// over a local directory, built from the module proxy: the tests' bucket.
func (in *Installer) S3Server(ctx context.Context) (string, error) {
	return in.goInstall(ctx, "versitygw-"+VersityGWVersion, "github.com/versity/versitygw/cmd/versitygw@v"+VersityGWVersion, "versitygw")
}

// Pebble builds Let's Encrypt's ACME test server, which issues the
// campaign home's certificate in its boot test through the same ACME
// protocol (HTTP-01 on port 80) Let's Encrypt speaks, and returns the
// binary's path.
func (in *Installer) Pebble(ctx context.Context) (string, error) {
	return in.goInstall(ctx, "pebble-"+PebbleVersion, "github.com/letsencrypt/pebble/v2/cmd/pebble@v"+PebbleVersion, "pebble")
}

// HcloudMirror builds terraform-provider-hcloud into a filesystem mirror
// and returns the mirror's root, for a provider_installation block.
func (in *Installer) HcloudMirror(ctx context.Context) (string, error) {
	const mod = "github.com/hetznercloud/terraform-provider-hcloud"
	dir, err := in.once(ctx, "hcloud-mirror-"+HcloudProviderVersion, func(tmp string) error {
		src, err := in.moduleSource(ctx, tmp, mod, "v"+HcloudProviderVersion, mod)
		if err != nil {
			return err
		}
		plat := runtime.GOOS + "_" + runtime.GOARCH
		out := filepath.Join(tmp, "registry.terraform.io", "hetznercloud", "hcloud", HcloudProviderVersion, plat,
			"terraform-provider-hcloud_v"+HcloudProviderVersion)
		if err := in.run(ctx, src, goEnv(mod), "go", "build", "-trimpath", "-o", out, "."); err != nil {
			return err
		}
		return os.RemoveAll(src)
	})
	return dir, err
}

// Postgres makes sure the PostgreSQL server binaries are installed (from
// Debian's packages when missing) and returns their directory.
func (in *Installer) Postgres(ctx context.Context) (string, error) {
	if d := findPostgres(); d != "" {
		return d, nil
	}
	if err := in.apt(ctx, "postgresql"); err != nil {
		return "", err
	}
	if d := findPostgres(); d != "" {
		return d, nil
	}
	return "", errors.New("install postgresql: no postgres binary after apt-get install")
}

func findPostgres() string {
	if d := os.Getenv("LIFEBOAT_PG_BIN"); d != "" {
		return d
	}
	m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	if len(m) == 0 {
		return ""
	}
	return filepath.Dir(m[len(m)-1])
}

// Chromium makes sure headless Chromium is installed and returns its path.
func (in *Installer) Chromium(ctx context.Context) (string, error) {
	for _, p := range []string{os.Getenv("LIFEBOAT_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
	}
	if err := in.apt(ctx, "chromium", "chromium-driver"); err != nil {
		return "", err
	}
	return "/usr/bin/chromium", nil
}

// GraphReferences makes sure the graph benchmark's references are
// installed (Debian's networkx and igraph for Python, and GNU time, which
// measures each process's peak memory) and returns the Python to run.
func (in *Installer) GraphReferences(ctx context.Context) (string, error) {
	const python = "/usr/bin/python3"
	check := exec.CommandContext(ctx, python, "-c", "import networkx, igraph")
	if _, err := os.Stat("/usr/bin/time"); err == nil && check.Run() == nil {
		return python, nil
	}
	if err := in.apt(ctx, "python3-networkx", "python3-igraph", "time"); err != nil {
		return "", err
	}
	return python, nil
}

// apt installs Debian packages. It needs root; the error says what to run
// otherwise.
// Command returns the path of the command name on PATH, installing the
// Debian package pkg when it is missing (as root; otherwise the error says
// what to run).
func (in *Installer) Command(ctx context.Context, name, pkg string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	if err := in.apt(ctx, pkg); err != nil {
		return "", err
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s still missing after apt-get install %s", name, pkg)
	}
	return p, nil
}

func (in *Installer) apt(ctx context.Context, pkgs ...string) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%s is not installed; run: sudo apt-get install %s", pkgs[0], strings.Join(pkgs, " "))
	}
	unlock, err := lock(filepath.Join(os.TempDir(), "lifeboat-apt.lock"))
	if err != nil {
		return err
	}
	defer unlock()
	in.logf("apt-get install %s", strings.Join(pkgs, " "))
	env := []string{"DEBIAN_FRONTEND=noninteractive"}
	if err := in.run(ctx, "/", env, "apt-get", "update"); err != nil {
		return err
	}
	return in.run(ctx, "/", env, "apt-get", append([]string{"install", "-y", "--no-install-recommends"}, pkgs...)...)
}

// The Debian root filesystem: the release a new server runs (Hetzner's
// debian-12 image), from Debian's own mirror.
const (
	DebianSuite  = "bookworm"
	DebianMirror = "http://deb.debian.org/debian"
)

// debianRootPackages are what the root has beyond debootstrap's minbase:
// systemd to boot it, cloud-init and sshd as on a cloud image, and the
// packages the GoToSocial and campaign-home cloud-inits install (caddy is
// the home's reverse proxy and ACME client; the container has no
// internet, so they must be there already; the boot test checks that
// every package the rendered cloud-init asks for is). debootstrap's
// resolver fails on cloud-init's dependencies, so only the first set goes
// to debootstrap and the rest is installed with apt afterwards.
var (
	debianBasePackages = []string{"systemd", "systemd-sysv", "dbus", "ca-certificates"}
	debianRootPackages = []string{"cloud-init", "sudo", "openssh-server", "curl", "sqlite3", "unattended-upgrades", "caddy"}
	// debianRootDormant are the services of those packages that a Debian
	// image does not run: only the cloud-init that installs them does.
	debianRootDormant = []string{"caddy"}
)

// debianRootCloudCfg makes the root's cloud-init behave like Hetzner's
// images, where the project's SSH keys log in as root, and read its data
// from the NoCloud seed. The network inside the container is set up by
// whoever starts it (there is no DHCP server to ask).
const debianRootCloudCfg = `# Written by lifeboat tools install debian-root.
disable_root: false
datasource_list: [NoCloud, None]
network: {config: disabled}
`

// debianRootLocale is generated in the root, as on Debian's cloud images:
// cloud-init sets it as the system's locale and fails when it is missing.
const debianRootLocale = "en_US.UTF-8"

// debianRootKey names the cached root after everything that shapes it, so
// a change to the recipe builds a new one beside the old.
func debianRootKey() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%q\n%q\n%s\n%s\n%q", DebianSuite, DebianMirror, debianBasePackages, debianRootPackages, debianRootCloudCfg, debianRootLocale, debianRootDormant)
	return "debian-root-" + DebianSuite + "-" + hex.EncodeToString(h.Sum(nil))[:12]
}

// DebianRoot builds a Debian root filesystem once (debootstrap's minbase
// plus debianRootPackages, from Debian's mirror) and returns its
// directory, for systemd-nspawn -D. It needs root, and installs
// debootstrap and systemd-nspawn (systemd-container) when they are
// missing. Every command that mounts something inside the root runs in
// its own mount namespace, so no mount outlives it, even on failure.
func (in *Installer) DebianRoot(ctx context.Context) (string, error) {
	if os.Geteuid() != 0 {
		return "", errors.New("the Debian root is built with debootstrap and chroot, which need root: run as root (sudo lifeboat tools install debian-root)")
	}
	if err := in.hostCommands(ctx, map[string]string{"debootstrap": "debootstrap", "systemd-nspawn": "systemd-container"}); err != nil {
		return "", err
	}
	dir, err := in.once(ctx, debianRootKey(), func(tmp string) error {
		root := filepath.Join(tmp, "root")
		if err := in.run(ctx, tmp, nil, "unshare", "--mount", "--propagation", "private", "debootstrap", "--variant=minbase",
			"--include="+strings.Join(debianBasePackages, ","), DebianSuite, root, DebianMirror); err != nil {
			return err
		}
		// No service starts inside the chroot while packages install.
		policy := filepath.Join(root, "usr", "sbin", "policy-rc.d")
		if err := os.WriteFile(policy, []byte("#!/bin/sh\nexit 101\n"), 0o755); err != nil {
			return err
		}
		chroot := func(args ...string) error {
			env := []string{"DEBIAN_FRONTEND=noninteractive", "LC_ALL=C.UTF-8"}
			return in.run(ctx, tmp, env, "unshare", append([]string{"--mount", "--pid", "--fork", "--mount-proc=" + filepath.Join(root, "proc"), "chroot", root}, args...)...)
		}
		if err := chroot("apt-get", "update"); err != nil {
			return err
		}
		if err := chroot(append([]string{"apt-get", "install", "-y", "--no-install-recommends"}, debianRootPackages...)...); err != nil {
			return err
		}
		if err := chroot("apt-get", "clean"); err != nil {
			return err
		}
		gen := filepath.Join(root, "etc", "locale.gen")
		if err := os.WriteFile(gen, []byte(debianRootLocale+" UTF-8\n"), 0o644); err != nil {
			return err
		}
		if err := chroot("locale-gen"); err != nil {
			return err
		}
		// Installed but not started at boot, as on a server where the
		// package is not installed yet: the cloud-init that wants it
		// enables it.
		if err := chroot(append([]string{"systemctl", "disable"}, debianRootDormant...)...); err != nil {
			return err
		}
		if err := os.Remove(policy); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(root, "etc", "cloud", "cloud.cfg.d", "90-lifeboat-root.cfg"), []byte(debianRootCloudCfg), 0o644)
	})
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "root"), nil
}

// hostCommands installs the Debian package of each missing command.
func (in *Installer) hostCommands(ctx context.Context, pkgOf map[string]string) error {
	var missing []string
	for cmd, pkg := range pkgOf {
		if _, err := exec.LookPath(cmd); err != nil {
			missing = append(missing, pkg)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	sort.Strings(missing)
	return in.apt(ctx, missing...)
}
