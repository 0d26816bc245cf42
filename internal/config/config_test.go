package config

import (
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoad(t *testing.T) {
	c, err := Load(env(map[string]string{
		EnvState: "/s", EnvSSHFrom: " 203.0.113.7, 2001:db8::/64,", EnvAdminToken: " tok \n",
		EnvSMTPAddr: "smtp.example.org:465", EnvSMTPSecurity: "tls", EnvSMTPUser: "u", EnvSMTPFrom: "a@b.c",
		EnvHcloudEndpoint: "http://127.0.0.1:1",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.StateDir != "/s" || strings.Join(c.SSHFrom, "|") != "203.0.113.7|2001:db8::/64" || c.AdminToken != "tok" {
		t.Errorf("%+v", c)
	}
	if c.SMTP != (SMTP{Addr: "smtp.example.org:465", Security: "tls", User: "u", From: "a@b.c"}) || len(c.Warnings) != 0 {
		t.Errorf("smtp %+v, warnings %q", c.SMTP, c.Warnings)
	}
	if c.Hetzner.Endpoint != "http://127.0.0.1:1" {
		t.Errorf("hetzner %+v", c.Hetzner)
	}
}

// The new-server scheme of earlier releases (_HOST, _PORT, _USERNAME)
// still works, with a warning naming what replaces it; the one scheme
// wins where both are set.
func TestLoadOldSMTP(t *testing.T) {
	c, err := Load(env(map[string]string{EnvSMTPHostOld: "mail.example.org", EnvSMTPPortOld: "2525", EnvSMTPUsernameOld: "old"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.SMTP.Addr != "mail.example.org:2525" || c.SMTP.User != "old" {
		t.Errorf("%+v", c.SMTP)
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], EnvSMTPAddr) {
		t.Errorf("warnings %q", c.Warnings)
	}
	var b strings.Builder
	c.Warn(&b)
	if !strings.HasPrefix(b.String(), "lifeboat: warning: LIFEBOAT_SMTP_HOST") {
		t.Errorf("warn wrote %q", b.String())
	}

	c, _ = Load(env(map[string]string{EnvSMTPHostOld: "mail.example.org", EnvSMTPAddr: "new.example.org:587", EnvSMTPUser: "new", EnvSMTPUsernameOld: "old"}))
	if c.SMTP.Addr != "new.example.org:587" || c.SMTP.User != "new" {
		t.Errorf("one scheme must win: %+v", c.SMTP)
	}
	c, _ = Load(env(map[string]string{EnvSMTPHostOld: "mail.example.org"}))
	if c.SMTP.Addr != "mail.example.org:587" {
		t.Errorf("default port: %+v", c.SMTP)
	}
	if _, err := Load(env(map[string]string{EnvSMTPHostOld: "h", EnvSMTPPortOld: "smtp"})); err == nil || !strings.Contains(err.Error(), EnvSMTPPortOld) {
		t.Errorf("bad port: %v", err)
	}
}
