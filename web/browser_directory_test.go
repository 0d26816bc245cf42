package web

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserDirectory: in Chromium the directory lists both groups by
// topic with their standing, a group's join link opens its own page under
// /g/NAME/, and the card its preview tags name loads as a 1200×630
// picture. With LIFEBOAT_SCREENSHOTS (make screenshots) it saves the
// directory and the card for the docs.
func TestBrowserDirectory(t *testing.T) {
	d, a, b := twoGroupDirectory(t, true)
	for _, m := range []string{"ada", "ben"} {
		b.pledge(m+"@example.org", 0, true, true)
	}
	a.pledge("finn@example.org", 0, true, true) // not in both groups: her confirmation mails would be alike
	ctx := newChrome(t)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(720, 900), chromedp.Navigate(d.url+"/"), chromedp.WaitVisible(chromedp.ID("topic-nature"))); err != nil {
		t.Fatal(err)
	}
	body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Groups gathering here", "birds", "insects", "River Birders", "Moth Watchers",
		"2 of 3 needed would go now", "1 of 3 needed would go now", "1 more pledge would make the group move", "Join Moth Watchers"} {
		if !strings.Contains(body, want) {
			t.Errorf("directory lacks %q:\n%s", want, body)
		}
	}
	if dir := os.Getenv("LIFEBOAT_SCREENSHOTS"); dir != "" {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "directory.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`a[href="`+b.srv.JoinURL()+`"]`)), chromedp.WaitVisible(chromedp.ID("bar"))); err != nil {
		t.Fatal(err)
	}
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	h1, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
	if !strings.HasPrefix(loc, d.url+"/g/moth-watchers/") || h1 != "Moth Watchers" {
		t.Fatalf("join link led to %s (%q)", loc, h1)
	}
	img, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('meta[property="og:image"]').content`))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(img), chromedp.WaitVisible(chromedp.CSS("img"))); err != nil {
		t.Fatal(err)
	}
	size, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`[document.images[0].naturalWidth, document.images[0].naturalHeight]`))
	if err != nil || len(size) != 2 || size[0] != CardWidth || size[1] != CardHeight {
		t.Fatalf("the card in the browser: %v %v", size, err)
	}
	if dir := os.Getenv("LIFEBOAT_SCREENSHOTS"); dir != "" {
		st, err := b.srv.Status(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		b, err := drawCard(b.srv.cardKeyOf(st))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "card.png"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
