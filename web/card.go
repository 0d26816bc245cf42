package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"net/http"
	"strings"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"github.com/lifeboat-social/lifeboat/escape/campaign"
	"github.com/lifeboat-social/lifeboat/escape/pledge"
)

// The card is the picture a link to the group unfurls into on the old
// network: 1200×630, the size X's summary_large_image and Open Graph
// readers crop least.
const (
	CardWidth  = 1200
	CardHeight = 630
)

// cardFace is the fonts the card is drawn with: the Go fonts, compiled
// in, so the card looks the same on every machine and needs no system
// font.
var cardFace = sync.OnceValues(func() (faces [3]font.Face, err error) {
	bold, err := opentype.Parse(gobold.TTF)
	if err != nil {
		return faces, err
	}
	regular, err := opentype.Parse(goregular.TTF)
	if err != nil {
		return faces, err
	}
	for i, f := range []struct {
		font *opentype.Font
		size float64
	}{{bold, 68}, {regular, 40}, {bold, 44}} {
		if faces[i], err = opentype.NewFace(f.font, &opentype.FaceOptions{Size: f.size, DPI: 72, Hinting: font.HintingFull}); err != nil {
			return faces, err
		}
	}
	return faces, nil
})

// cardKey is everything the card shows: a new key is a new picture.
type cardKey struct {
	Title, State, Sentence string
	Going, Viable          int
}

func (s *Server) cardKeyOf(st campaign.Status) cardKey {
	return cardKey{Title: s.g.Title, State: st.State, Sentence: campaign.Standing(st), Going: st.Outlook.Going, Viable: s.g.ViableMass}
}

// version names the picture for caches: the ETag, and the query in the
// og:image URL, so a network that caches images by URL fetches the new
// one when the count moves.
func (k cardKey) version() string {
	h := sha256.Sum256(fmt.Appendf(nil, "%q|%q|%q|%d|%d", k.Title, k.State, k.Sentence, k.Going, k.Viable))
	return hex.EncodeToString(h[:8])
}

// cardCache keeps the pictures of the last few standings: drawing one
// takes milliseconds, and a link posted widely is fetched by many
// crawlers at once.
type cardCache struct {
	mu    sync.Mutex
	order []cardKey
	pngs  map[cardKey][]byte
}

func (c *cardCache) get(k cardKey) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b, ok := c.pngs[k]; ok {
		return b, nil
	}
	b, err := drawCard(k)
	if err != nil {
		return nil, err
	}
	if c.pngs == nil {
		c.pngs = map[cardKey][]byte{}
	}
	if len(c.order) == 4 {
		delete(c.pngs, c.order[0])
		c.order = c.order[1:]
	}
	c.order = append(c.order, k)
	c.pngs[k] = b
	return b, nil
}

var (
	cardInk    = color.RGBA{0x10, 0x2a, 0x43, 0xff}
	cardPaper  = color.RGBA{0xf7, 0xf9, 0xfb, 0xff}
	cardTrack  = color.RGBA{0xd5, 0xdd, 0xe5, 0xff}
	cardFill   = color.RGBA{0x1f, 0x6f, 0xb2, 0xff}
	cardAccent = color.RGBA{0x1f, 0x6f, 0xb2, 0xff}
)

// drawCard draws the group's card: the title (two lines at most), a
// progress bar toward viable mass, the count and the standing.
func drawCard(k cardKey) ([]byte, error) {
	faces, err := cardFace()
	if err != nil {
		return nil, fmt.Errorf("card fonts: %w", err)
	}
	title, body, count := faces[0], faces[1], faces[2]
	img := image.NewRGBA(image.Rect(0, 0, CardWidth, CardHeight))
	draw.Draw(img, img.Bounds(), image.NewUniform(cardPaper), image.Point{}, draw.Src)
	draw.Draw(img, image.Rect(0, 0, CardWidth, 16), image.NewUniform(cardAccent), image.Point{}, draw.Src)

	const margin = 72
	text := func(f font.Face, c color.Color, x, y int, s string) {
		d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: f, Dot: fixed.P(x, y)}
		d.DrawString(s)
	}
	y := 130
	for _, line := range wrap(title, k.Title, CardWidth-2*margin, 2) {
		text(title, cardInk, margin, y, line)
		y += 84
	}

	// The bar: full at viable mass; past it stays full.
	barTop := 310
	bar := image.Rect(margin, barTop, CardWidth-margin, barTop+48)
	draw.Draw(img, bar, image.NewUniform(cardTrack), image.Point{}, draw.Src)
	if k.Viable > 0 {
		w := bar.Dx() * min(k.Going, k.Viable) / k.Viable
		draw.Draw(img, image.Rect(bar.Min.X, bar.Min.Y, bar.Min.X+w, bar.Max.Y), image.NewUniform(cardFill), image.Point{}, draw.Src)
	}
	var headline string
	switch k.State {
	case pledge.StateLaunched, pledge.StateArrived:
		headline = fmt.Sprintf("%d moving together", k.Going)
	case pledge.StateFailed:
		headline = "Not this time"
	default:
		headline = fmt.Sprintf("%d of %d needed would go now", k.Going, k.Viable)
	}
	text(count, cardInk, margin, barTop+115, headline)
	if k.State == pledge.StateGathering {
		if _, rest, ok := strings.Cut(k.Sentence, "; "); ok {
			text(body, cardInk, margin, barTop+172, wrap(body, capitalFirst(rest), CardWidth-2*margin, 1)[0])
		}
	}
	text(body, cardAccent, margin, CardHeight-40, "Lifeboat: leaving together, or not at all")

	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// wrap breaks s into at most lines lines no wider than width in f; the
// last one ends in "…" when s does not fit.
func wrap(f font.Face, s string, width, lines int) []string {
	fits := func(t string) bool { return font.MeasureString(f, t).Ceil() <= width }
	var out []string
	words := strings.Fields(s)
	for len(words) > 0 && len(out) < lines {
		n := 1
		for n < len(words) && fits(strings.Join(words[:n+1], " ")) {
			n++
		}
		line := strings.Join(words[:n], " ")
		words = words[n:]
		if len(out) == lines-1 && len(words) > 0 || !fits(line) {
			line = strings.Join(append([]string{line}, words...), " ")
			r := []rune(line)
			for len(r) > 0 && !fits(string(r)+"…") {
				r = r[:len(r)-1]
			}
			line = strings.TrimRight(string(r), " ") + "…"
			words = nil
		}
		out = append(out, line)
	}
	if len(out) == 0 {
		out = append(out, "")
	}
	return out
}

func capitalFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// card serves the group's picture for link previews. It is public and
// changes only with the standing, so it is cached briefly and carries an
// ETag.
func (s *Server) card(w http.ResponseWriter, r *http.Request) {
	st, err := s.Status(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	k := s.cardKeyOf(st)
	etag := `"` + k.version() + `"`
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "public, max-age=300")
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	b, err := s.cards.get(k)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	h.Set("Content-Type", "image/png")
	w.Write(b)
}

// openGraph is what a page that people share carries for link previews
// (Open Graph and X's card): the title, the standing, and the card at an
// absolute URL.
type openGraph struct {
	Title, Description, URL, Image, ImageAlt string
	ImageWidth, ImageHeight                  int
}

// shared are the pages a lead posts links to; they carry openGraph.
var shared = map[string]string{"landing": "/", "join": "/join"}

func (s *Server) openGraph(ctx context.Context, page string) (*openGraph, error) {
	st, err := s.Status(ctx)
	if err != nil {
		return nil, err
	}
	k := s.cardKeyOf(st)
	desc := capitalFirst(k.Sentence) + "."
	if st.State == pledge.StateGathering {
		desc += fmt.Sprintf(" The group moves together once %d would go: pledge to go, if you like only when enough others do.", k.Viable)
	}
	return &openGraph{
		Title: s.g.Title, Description: desc, URL: s.link(page),
		Image: s.link("/card.png?v=" + k.version()), ImageWidth: CardWidth, ImageHeight: CardHeight,
		ImageAlt: fmt.Sprintf("%s: %s", s.g.Title, k.Sentence),
	}, nil
}
