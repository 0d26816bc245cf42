package hetzner

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/lifeboat-social/lifeboat/groups"
	"github.com/lifeboat-social/lifeboat/internal/progress"
	"github.com/lifeboat-social/lifeboat/provision/backup"
)

// GoToSocialData is where GoToSocial keeps its data on a server the
// cloud-init set up (templates/hetzner/cloud-init/gotosocial.yaml.tmpl),
// for lifeboat backup and restore.
var GoToSocialData = backup.Layout{
	DB:      "/var/lib/gotosocial/sqlite.db",
	Storage: "/var/lib/gotosocial/storage",
	Owner:   "gotosocial:gotosocial",
	Work:    "/var/backups/lifeboat",
}

// Stream runs cmd over SSH with its standard streams connected, for
// transfers too large to hold in memory (backups).
func (t SSHTarget) Stream(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) error {
	client, err := t.connect(ctx)
	if err != nil {
		return err
	}
	defer client.Close()
	stop := context.AfterFunc(ctx, func() { client.Close() })
	defer stop()
	sess, err := client.NewSession()
	if err != nil {
		return fmt.Errorf("ssh session: %w", err)
	}
	defer sess.Close()
	sess.Stdin, sess.Stdout, sess.Stderr = stdin, stdout, stderr
	if err := sess.Run(cmd); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return fmt.Errorf("ssh: %w", err)
	}
	return nil
}

// ErrNotGoToSocial means the group's server runs Mastodon, which lifeboat
// backup does not cover (Hetzner's server backups do, if on).
var ErrNotGoToSocial = errors.New("lifeboat backup and restore cover GoToSocial servers")

// BackupServer is the group's server as lifeboat backup and restore see
// it: reached over SSH with the pinned host key, GoToSocial stopped and
// started with systemd, and awaited over HTTPS as up awaits it. It asks
// no cloud API.
func (p *Provisioner) BackupServer(ctx context.Context) (backup.Server, error) {
	if p.cfg.Group.Destination.SoftwareOrDefault() != groups.SoftwareGoToSocial {
		return backup.Server{}, fmt.Errorf("%w: group %s runs %s", ErrNotGoToSocial, p.cfg.Group.Name, p.cfg.Group.Destination.SoftwareOrDefault())
	}
	res, err := p.Status(ctx)
	if err != nil {
		return backup.Server{}, err
	}
	keys, err := p.serverKeys()
	if err != nil {
		return backup.Server{}, err
	}
	t := p.target(res, keys)
	return backup.Server{
		ID: res.ServerID, Group: p.cfg.Group.Name, Domain: p.cfg.Group.Destination.Domain,
		Shell: t, Layout: GoToSocialData,
		Service: systemdService{t: t, w: p.cfg.Wait, url: res.URL, domain: p.cfg.Group.Destination.Domain},
	}, nil
}

// systemdService is the server's gotosocial unit.
type systemdService struct {
	t      SSHTarget
	w      Waits
	url    string
	domain string
}

func (s systemdService) Stop(ctx context.Context) error {
	_, err := s.t.Run(ctx, "systemctl stop gotosocial")
	return err
}

// Start starts GoToSocial and waits, as up does, until it answers over
// TLS (its first start on a database runs migrations).
func (s systemdService) Start(ctx context.Context, emit progress.Func) error {
	if _, err := s.t.Run(ctx, "systemctl start gotosocial"); err != nil {
		return err
	}
	return WaitInstance(ctx, s.w, s.url, s.domain, emit)
}
