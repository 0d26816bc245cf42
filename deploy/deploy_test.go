package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// verify runs systemd-analyze verify on unit inside a root holding the
// host's own system units (for the default dependencies) and an
// executable where ExecStart points, and returns what it said.
func verify(t *testing.T, unit string) (string, error) {
	t.Helper()
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed (Debian: apt-get install systemd)")
	}
	root := t.TempDir()
	units := "/usr/lib/systemd/system"
	if _, err := os.Stat(units); err != nil {
		units = "/lib/systemd/system"
	}
	sys := filepath.Join(root, "usr", "lib", "systemd")
	if err := os.MkdirAll(sys, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", units, sys+"/").CombinedOutput(); err != nil {
		t.Fatalf("copy the system units: %v %s", err, out)
	}
	for dir, files := range map[string]map[string]string{
		"usr/local/bin":            {"lifeboat": "#!/bin/sh\n"},
		"etc/systemd/system":       {ServeUnitName: unit},
		"etc/lifeboat":             {"serve.env": "LIFEBOAT_BASE_URL=https://join.example.org\n"},
		"etc/lifeboat/credentials": {"secret.key": "a\n"},
	} {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
		for name, body := range files {
			mode := os.FileMode(0o644)
			if strings.HasPrefix(body, "#!") {
				mode = 0o755
			}
			if err := os.WriteFile(filepath.Join(root, dir, name), []byte(body), mode); err != nil {
				t.Fatal(err)
			}
		}
	}
	out, err := exec.Command(sa, "verify", "--man=no", "--root="+root, "/etc/systemd/system/"+ServeUnitName).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// TestServeUnitVerifies: systemd itself parses the unit with no warning.
func TestServeUnitVerifies(t *testing.T) {
	out, err := verify(t, ServeUnit)
	if err != nil || out != "" {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestServeUnitVerifyCatchesMistakes: the check above can fail: a
// misspelt setting and a relative ExecStart are both reported.
func TestServeUnitVerifyCatchesMistakes(t *testing.T) {
	for _, bad := range []string{
		strings.Replace(ServeUnit, "ProtectHome=yes", "ProtectHomes=yes", 1),
		strings.Replace(ServeUnit, "ExecStart=/usr/local/bin/lifeboat", "ExecStart=/usr/local/bin/lifeboat-missing", 1),
	} {
		if bad == ServeUnit {
			t.Fatal("the unit no longer has the line this test breaks")
		}
		if out, err := verify(t, bad); err == nil && out == "" {
			t.Errorf("a broken unit verified cleanly")
		}
	}
}

// TestServeUnitKeepsSecretsOffArgv: the unit passes secrets as
// credentials, never on the command line or in its environment.
func TestServeUnitKeepsSecretsOffArgv(t *testing.T) {
	for _, line := range strings.Split(ServeUnit, "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		l := strings.ToLower(line)
		if strings.Contains(l, "password=") || strings.Contains(l, "secret_key=") || strings.Contains(l, "token") {
			t.Errorf("a secret in the unit: %s", line)
		}
	}
	for _, want := range []string{"LoadCredential=lifeboat:/etc/lifeboat/credentials", "LIFEBOAT_SECRET_KEY_FILE=%d/", "User=lifeboat", "StateDirectory=lifeboat", "RequiresMountsFor=/var/lib/lifeboat"} {
		if !strings.Contains(ServeUnit, want) {
			t.Errorf("the unit lacks %s", want)
		}
	}
}

// TestAdminScript: lifeboat-admin is valid sh, runs lifeboat as the
// service's user with its credentials, and passes no secret on argv.
func TestAdminScript(t *testing.T) {
	if out, err := exec.Command("sh", "-n", "lifeboat-admin").CombinedOutput(); err != nil {
		t.Fatalf("sh -n: %v %s", err, out)
	}
	for _, want := range []string{"--property=User=lifeboat", "--property=LoadCredential=lifeboat:/etc/lifeboat/credentials", "LIFEBOAT_SECRET_KEY_FILE=\"/run/credentials/$unit.service/lifeboat_secret.key\"", "/usr/local/bin/lifeboat \"$@\""} {
		if !strings.Contains(AdminScript, want) {
			t.Errorf("lifeboat-admin lacks %s", want)
		}
	}
	if strings.Contains(AdminScript, "cat /etc/lifeboat/credentials") || strings.Contains(AdminScript, "LIFEBOAT_SECRET_KEY=") {
		t.Error("lifeboat-admin reads the key itself")
	}
}
