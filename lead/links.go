package lead

import (
	"bytes"

	"github.com/lifeboat-social/lifeboat/internal/atomicfile"
	"github.com/lifeboat-social/lifeboat/web"
)

// WriteLinks writes members' personal links (pledge or invite links) as
// CSV to csvPath and as a printable sheet of kind with a QR code per
// member to sheetPath; an empty path is not written. Each file is written whole or not at
// all and readable only by its owner: the links work for whoever holds
// them. lifeboat pledges export, lifeboat invites export and the TUI all
// write through here.
func WriteLinks(csvPath, sheetPath string, kind web.Sheet, title string, links []web.InviteLink) error {
	var b bytes.Buffer
	if csvPath != "" {
		if err := web.WriteLinksCSV(&b, links); err != nil {
			return err
		}
		if err := atomicfile.Write(csvPath, b.Bytes(), 0o600); err != nil {
			return err
		}
	}
	if sheetPath == "" {
		return nil
	}
	b.Reset()
	if err := web.WriteSheet(&b, kind, title, links); err != nil {
		return err
	}
	return atomicfile.Write(sheetPath, b.Bytes(), 0o600)
}

// ExportPledgeLinks writes the pledge link of every member of srv's group
// (the links lifeboat pledges open mails) with WriteLinks, and says how
// many.
func ExportPledgeLinks(srv *web.Server, csvPath, sheetPath string) (int, error) {
	links, err := srv.PledgeLinks()
	if err != nil {
		return 0, err
	}
	return len(links), WriteLinks(csvPath, sheetPath, web.PledgeSheet, srv.GroupTitle(), links)
}
