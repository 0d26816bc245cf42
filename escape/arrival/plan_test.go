package arrival

import (
	"strings"
	"testing"
	"time"

	"github.com/lifeboat-social/lifeboat/groups"
)

func TestPlanMesh(t *testing.T) {
	cases := []struct {
		n        int
		software string
		days     int
		whole    bool
		says     string
	}{
		{200, groups.SoftwareGoToSocial, 1, true, "no daily follow limit"},
		{401, groups.SoftwareMastodon, 1, true, "whole on the day everyone arrives"},
		{402, groups.SoftwareMastodon, 2, true, "takes 2 days"},
		{900, groups.SoftwareMastodon, 3, true, "each makes 899, so the mesh takes 3 days"},
		{900, "", 3, true, "If the server runs Mastodon"},
		{7502, groups.SoftwareMastodon, 19, false, "cannot be whole"},
		{1, groups.SoftwareMastodon, 1, true, "each makes 0"},
	}
	for _, c := range cases {
		p := PlanMesh(c.n, c.software)
		if p.Days != c.days || p.Whole != c.whole || !strings.Contains(p.Sentence, c.says) {
			t.Errorf("PlanMesh(%d, %q) = %+v; want %d days, whole %v, saying %q", c.n, c.software, p, c.days, c.whole, c.says)
		}
	}
}

func TestWhen(t *testing.T) {
	now := time.Date(2026, 12, 3, 14, 5, 0, 0, time.UTC)
	for at, want := range map[time.Time]string{
		now.Add(time.Hour):                             "15:05 UTC today",
		time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC):   "00:00 UTC tomorrow",
		time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC):   "Sun 6 Dec 00:00 UTC",
		time.Date(2026, 12, 3, 23, 59, 0, 0, time.UTC): "23:59 UTC today",
	} {
		if got := When(now, at); got != want {
			t.Errorf("When(%s) = %q, want %q", at, got, want)
		}
	}
}
