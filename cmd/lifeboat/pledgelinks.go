package main

import (
	"context"
	"os"
	"path/filepath"

	"github.com/lifeboat-social/lifeboat/web"
)

// pledgeLinkServer is the group's web server with the configured mail
// sender: lifeboat pledges open and the TUI's o key both mail the pledge
// links through it (web.Server.OpenPledges, journaled once per member).
func pledgeLinkServer(ctx context.Context, app *App, file string, f *webFlags) (*web.Server, error) {
	mail, err := f.mail.sender(app, true)
	if err != nil {
		return nil, err
	}
	return groupServer(ctx, app, file, f, web.Config{Mail: mail})
}

// tuiOpenPledges is the TUI's o key: the SMTP settings come from the
// configuration, the pages' address from the lead.
func tuiOpenPledges(ctx context.Context, app *App, file, baseURL string) (int, error) {
	srv, err := pledgeLinkServer(ctx, app, file, &webFlags{baseURL: baseURL})
	if err != nil {
		return 0, err
	}
	return srv.OpenPledges(ctx)
}

// tuiExportPledges is the TUI's x key: what lifeboat pledges export
// --csv F --sheet F.html writes, written the same way.
func tuiExportPledges(ctx context.Context, app *App, file, baseURL, csv, sheet string) (int, error) {
	srv, err := groupServer(ctx, app, file, &webFlags{baseURL: baseURL}, web.Config{})
	if err != nil {
		return 0, err
	}
	links, err := srv.PledgeLinks()
	if err != nil {
		return 0, err
	}
	for _, f := range []string{csv, sheet} {
		if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
			return 0, err
		}
	}
	return len(links), (&exportFlags{csv: csv, sheet: sheet}).write(app, web.PledgeSheet, srv.GroupTitle(), links)
}
