package destination

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/provision/hetzner"
)

// HomeDir is where a group's campaign home keeps its Terraform state,
// keys and the store key its server is given.
func HomeDir(stateDir, group string) string { return filepath.Join(GroupDir(stateDir, group), "home") }

// Home builds the configuration of the group's campaign home on Hetzner
// Cloud from the configuration (token, SMTP relay, Terraform, trusted
// CAs) and the group file's own bytes, which the server gets a copy of.
// Any destination type may have a home: the pages gather the group long
// before it has chosen where to go.
func Home(ctx context.Context, g *groups.Group, file []byte, cfg Config) (hetzner.HomeConfig, error) {
	token, err := hetznerToken(cfg.Config)
	if err != nil {
		return hetzner.HomeConfig{}, err
	}
	s := cfg.SMTP
	if s.Password == "" && s.PasswordFile != "" && s.Addr != "" {
		if s.Password, err = hetzner.TokenFromFile(s.PasswordFile); err != nil {
			return hetzner.HomeConfig{}, err
		}
	}
	hc := hetzner.HomeConfig{
		Group: g, GroupFile: file,
		Dir: HomeDir(cfg.StateDir, g.Name), DestinationDir: filepath.Join(GroupDir(cfg.StateDir, g.Name), "hetzner"),
		Token: token, Endpoint: cfg.Hetzner.Endpoint, PollInterval: cfg.Hetzner.PollInterval,
		SMTP: hetzner.HomeSMTP{Addr: s.Addr, Security: s.Security, User: s.User, From: s.From, Password: s.Password},
		Boot: hetzner.HomeBoot{
			LifeboatFrom:  os.Getenv(hetzner.EnvLifeboatFrom),
			ACMEDirectory: os.Getenv(hetzner.EnvACMEDirectory),
			TrustCAFile:   cfg.Hetzner.Boot.TrustCAFile,
		},
		// An endpoint on this machine is a fake API: nothing to wait for.
		NoWait: hetzner.IsLoopbackEndpoint(cfg.Hetzner.Endpoint),
	}
	for _, c := range cfg.SSHFrom {
		hc.SSHFrom = append(hc.SSHFrom, hetzner.NormalizeCIDR(strings.TrimSpace(c)))
	}
	if hc.Terraform, hc.ProviderMirror, err = hetznerTools(ctx, cfg); err != nil {
		return hc, err
	}
	return hc, nil
}
