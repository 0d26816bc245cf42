package hetzner

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/lifeboat-social/lifeboat/provision"
)

var _ provision.Readiness = (*Destination)(nil)

// Ready reports whether the group's new server can take the group: lifeboat
// up has finished (the Terraform state lists the server, and the admin
// credentials were fetched, which up does only after DNS and TLS answered)
// and the server answers /api/v2/instance over HTTPS now. It reads the
// state directory and makes one request; neither Terraform nor the cloud
// API is asked, so serve can check every tick.
func (d *Destination) Ready(ctx context.Context) (bool, string, error) {
	cfg := d.p.cfg
	empty, err := stateEmpty(filepath.Join(cfg.Dir, stateFile))
	if err != nil {
		return false, "", err
	}
	if empty && !onHomeRecorded(cfg.Dir) {
		return false, "the new server does not exist yet: run lifeboat up GROUP.yaml", nil
	}
	credsPath := filepath.Join(cfg.Dir, credsFile)
	if _, err := os.Stat(credsPath); errors.Is(err, fs.ErrNotExist) {
		return false, "lifeboat up has not finished (the server has no admin yet): run lifeboat up GROUP.yaml again", nil
	}
	creds, err := readCredentials(credsPath)
	if err != nil {
		return false, "", err
	}
	hc := d.HTTP
	if hc == nil {
		hc = cfg.Wait.withDefaults().HTTP
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := checkInstance(ctx, hc, creds.URL, cfg.Group.Destination.Domain); err != nil {
		return false, fmt.Sprintf("the new server does not answer over HTTPS at %s (%v): check it is running and its DNS records, or run lifeboat up GROUP.yaml again", creds.URL, err), nil
	}
	return true, "", nil
}
