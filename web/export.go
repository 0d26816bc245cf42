package web

import (
	"encoding/csv"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"rsc.io/qr"
)

// WriteLinksCSV writes personal links (invites or pledge links) as CSV:
// name, email, link, expires (RFC 3339), for mail merges and other
// channels.
func WriteLinksCSV(w io.Writer, links []InviteLink) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"name", "email", "link", "expires"})
	for _, l := range links {
		cw.Write([]string{l.Name, l.Email, l.URL, l.Expires.UTC().Format(time.RFC3339)})
	}
	cw.Flush()
	return cw.Error()
}

var sheetTmpl = template.Must(template.New("sheet").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{if .Pledges}}Pledge links{{else}}Invites{{end}} · {{.Title}}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1cm; }
.card { display: inline-block; width: 8.5cm; margin: 0 .4cm .6cm 0; padding: .4cm; border: 1px dashed #888; vertical-align: top; break-inside: avoid; }
.card svg { width: 4.5cm; height: 4.5cm; display: block; }
.link { font: 7pt monospace; word-break: break-all; }
h1 { font-size: 14pt; }
</style></head><body>
{{if .Pledges}}<h1>Personal pledge links for {{.Title}} — each is for the person named: it opens their own pledge page, until the date shown. Keep this sheet private.</h1>
{{else}}<h1>Personal invites for {{.Title}} — each is for the person named, one account each, until the date shown. Keep this sheet private.</h1>
{{end}}
{{range .Cards}}<div class="card"><strong>{{.Name}}</strong><br>{{.QR}}<p class="link">{{.URL}}</p><p>Valid until {{.Expires}}</p></div>
{{end}}</body></html>
`))

// Sheet is what a printable sheet of personal links holds.
type Sheet int

const (
	InviteSheet Sheet = iota // invites: one account per member
	PledgeSheet              // pledge links: each opens its member's pledge page
)

// WriteSheet writes a printable HTML sheet with one card per member:
// name, QR code of the link, the link, its expiry.
func WriteSheet(w io.Writer, kind Sheet, title string, links []InviteLink) error {
	type card struct {
		Name, URL, Expires string
		QR                 template.HTML
	}
	var cards []card
	for _, l := range links {
		svg, err := qrSVG(l.URL)
		if err != nil {
			return fmt.Errorf("qr code for %s: %w", l.Email, err)
		}
		cards = append(cards, card{Name: l.Name, URL: l.URL, Expires: l.Expires.UTC().Format("2 January 2006"), QR: svg})
	}
	return sheetTmpl.Execute(w, map[string]any{"Title": title, "Cards": cards, "Pledges": kind == PledgeSheet})
}

// qrSVG draws the QR code of text as an inline SVG, with a 4-module quiet
// zone.
func qrSVG(text string) (template.HTML, error) {
	c, err := qr.Encode(text, qr.M)
	if err != nil {
		return "", err
	}
	n := c.Size + 8
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" role="img" aria-label="QR code of the link" shape-rendering="crispEdges"><rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n, n, n)
	for y := 0; y < c.Size; y++ {
		for x := 0; x < c.Size; x++ {
			if c.Black(x, y) {
				fmt.Fprintf(&b, "M%d %dh1v1h-1z", x+4, y+4)
			}
		}
	}
	b.WriteString(`"/></svg>`)
	return template.HTML(b.String()), nil // built here from numbers only
}
