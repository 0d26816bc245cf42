package web

import (
	"bytes"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/lifeboat-social/lifeboat/escape/campaign"
	"github.com/lifeboat-social/lifeboat/escape/pledge"
)

// metaTags reads a page's <meta> tags by property or name; a tag given
// twice is an error.
func metaTags(t *testing.T, page string) map[string]string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "meta" {
			var key, content string
			for _, a := range n.Attr {
				switch a.Key {
				case "property", "name":
					key = a.Val
				case "content":
					content = a.Val
				}
			}
			if key != "" {
				if _, dup := out[key]; dup {
					t.Errorf("meta %s given twice", key)
				}
				out[key] = content
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return out
}

// previewOf checks the landing page's link preview tags and fetches the
// card they name: it must be a PNG of the size they declare.
func previewOf(t *testing.T, br *browser, pageURL string) (tags map[string]string, card []byte, etag string) {
	t.Helper()
	code, page := br.get(pageURL)
	if code != 200 {
		t.Fatalf("%s: %d", pageURL, code)
	}
	tags = metaTags(t, page)
	for key, want := range map[string]string{
		"og:type": "website", "og:title": "River Birders", "twitter:card": "summary_large_image",
		"og:image:width": "1200", "og:image:height": "630", "og:image:type": "image/png", "og:url": pageURL,
	} {
		if tags[key] != want {
			t.Errorf("%s = %q, want %q", key, tags[key], want)
		}
	}
	for _, key := range []string{"og:description", "og:image:alt", "twitter:title", "twitter:description", "description"} {
		if strings.TrimSpace(tags[key]) == "" {
			t.Errorf("%s is empty", key)
		}
	}
	img := tags["og:image"]
	base, _ := url.Parse(pageURL)
	u, err := url.Parse(img)
	if err != nil || !u.IsAbs() || u.Host != base.Host || !strings.HasSuffix(u.Path, "/card.png") || tags["twitter:image"] != img {
		t.Fatalf("og:image %q (twitter:image %q) is not this server's card at an absolute URL", img, tags["twitter:image"])
	}
	resp, err := br.c.Get(img)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	card, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("card: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	decoded, err := png.Decode(bytes.NewReader(card))
	if err != nil {
		t.Fatalf("card does not decode: %v", err)
	}
	w, _ := strconv.Atoi(tags["og:image:width"])
	h, _ := strconv.Atoi(tags["og:image:height"])
	if b := decoded.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Fatalf("card is %v, the tags say %dx%d", b, w, h)
	}
	return tags, card, resp.Header.Get("ETag")
}

// TestOpenGraphCard: the landing page carries Open Graph and X card tags
// naming a card that decodes at the declared size; the card answers 304
// to its ETag, and when a pledge lands the tags name a new picture, the
// card changes and the old ETag no longer matches.
func TestOpenGraphCard(t *testing.T) {
	e := start(t, opts{})
	br := newBrowser(t, false)
	tags, card, etag := previewOf(t, br, e.url+"/")
	if !strings.Contains(tags["og:description"], "0 would go now") || etag == "" {
		t.Errorf("description %q, ETag %q", tags["og:description"], etag)
	}
	notModified := func(etag string) int {
		req, _ := http.NewRequest(http.MethodGet, e.url+"/card.png", nil)
		req.Header.Set("If-None-Match", etag)
		resp, err := br.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := notModified(etag); code != http.StatusNotModified {
		t.Errorf("card with its ETag: %d, want 304", code)
	}

	e.pledge("ben@example.org", 0, true, true)
	tags2, card2, etag2 := previewOf(t, br, e.url+"/")
	if tags2["og:image"] == tags["og:image"] || bytes.Equal(card, card2) || etag2 == etag {
		t.Errorf("the card did not change with the pledge: %s -> %s", tags["og:image"], tags2["og:image"])
	}
	if !strings.Contains(tags2["og:description"], "1 would go now") {
		t.Errorf("description after the pledge: %q", tags2["og:description"])
	}
	if code := notModified(etag); code != http.StatusOK {
		t.Errorf("card with the old ETag: %d, want 200", code)
	}
}

// TestOpenGraphInDirectory: a group served among others names its card
// under its own prefix, absolute.
func TestOpenGraphInDirectory(t *testing.T) {
	d, a, _ := twoGroupDirectory(t, false)
	tags, _, _ := previewOf(t, newBrowser(t, false), a.url+"/")
	if !strings.HasPrefix(tags["og:image"], d.url+"/g/river-birders/card.png?v=") {
		t.Errorf("og:image %q", tags["og:image"])
	}
}

// TestCardDraws: every state draws, a long title is cut to two lines,
// and different standings make different pictures.
func TestCardDraws(t *testing.T) {
	seen := map[string]bool{}
	for _, st := range []campaign.Status{
		{State: pledge.StateGathering, Outlook: pledge.Explain([]int{0, 0, 5}, 50, 10)},
		{State: pledge.StateGathering, Outlook: pledge.Explain([]int{0, 0, 0, 5}, 50, 10)},
		{State: pledge.StateLaunched, Outlook: pledge.Explain(make([]int, 12), 50, 10)},
		{State: pledge.StateFailed},
	} {
		k := cardKey{Title: strings.Repeat("A very long group title ", 10), State: st.State, Sentence: campaign.Standing(st), Going: st.Outlook.Going, Viable: 10}
		b, err := drawCard(k)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := png.Decode(bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
		if seen[string(b)] {
			t.Errorf("%s: same picture as another standing", k.Sentence)
		}
		seen[string(b)] = true
	}
	faces, err := cardFace()
	if err != nil {
		t.Fatal(err)
	}
	lines := wrap(faces[0], strings.Repeat("Birders ", 40), CardWidth-144, 2)
	if len(lines) != 2 || !strings.HasSuffix(lines[1], "…") {
		t.Errorf("wrap: %q", lines)
	}
}
