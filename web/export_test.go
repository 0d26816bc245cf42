package web

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestExport(t *testing.T) {
	links := []InviteLink{
		{Name: "Ada Heron", Email: "ada@example.org", URL: "http://127.0.0.1:8080/invite/AbC_d-1", Expires: time.Date(2027, 2, 14, 10, 0, 0, 0, time.UTC)},
		{Name: "Ben <b>", Email: "ben@example.org", URL: "http://127.0.0.1:8080/invite/XyZ", Expires: time.Date(2027, 2, 14, 10, 0, 0, 0, time.UTC)},
	}
	var csvBuf, sheet bytes.Buffer
	if err := WriteLinksCSV(&csvBuf, links); err != nil {
		t.Fatal(err)
	}
	want := "name,email,link,expires\nAda Heron,ada@example.org,http://127.0.0.1:8080/invite/AbC_d-1,2027-02-14T10:00:00Z\nBen <b>,ben@example.org,http://127.0.0.1:8080/invite/XyZ,2027-02-14T10:00:00Z\n"
	if csvBuf.String() != want {
		t.Fatalf("csv:\n%s", csvBuf.String())
	}
	if err := WriteSheet(&sheet, InviteSheet, "River Birders", links); err != nil {
		t.Fatal(err)
	}
	s := sheet.String()
	if strings.Count(s, "<svg") != 2 || !strings.Contains(s, "Ben &lt;b&gt;") || !strings.Contains(s, "14 February 2027") ||
		!strings.Contains(s, "one account each") {
		t.Fatalf("sheet:\n%s", s)
	}
	sheet.Reset()
	if err := WriteSheet(&sheet, PledgeSheet, "River Birders", links); err != nil {
		t.Fatal(err)
	}
	if s := sheet.String(); strings.Count(s, "<svg") != 2 || !strings.Contains(s, "Personal pledge links") || strings.Contains(s, "one account each") {
		t.Fatalf("pledge sheet:\n%s", s)
	}
}
