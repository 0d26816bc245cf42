package groups

import "testing"

func TestUsername(t *testing.T) {
	g := &Group{Members: []Member{
		{Name: "Ada", Email: "Ada.Heron@example.org"},
		{Name: "Ben", Email: "ben@example.org", Username: "ada_heron"}, // wishes for Ada's default
		{Name: "Ada 2", Email: "ada.heron@other.example"},
		{Name: "Cleo", Email: "c+birds@example.org"},
		{Name: "Odd", Email: "ü@example.org"},
		{Name: "Long", Email: "abcdefghijklmnopqrstuvwxyz0123456789@example.org"},
		{Name: "Long 2", Email: "abcdefghijklmnopqrstuvwxyz0123456789@other.example"},
	}}
	for email, want := range map[string]string{
		"ada.heron@example.org":                              "ada_heron_2", // the wish of Ben comes first
		"BEN@example.org":                                    "ada_heron",
		"ada.heron@other.example":                            "ada_heron_3",
		"c+birds@example.org":                                "c_birds",
		"ü@example.org":                                      "member",
		"abcdefghijklmnopqrstuvwxyz0123456789@example.org":   "abcdefghijklmnopqrstuvwxyz0123",
		"abcdefghijklmnopqrstuvwxyz0123456789@other.example": "abcdefghijklmnopqrstuvwxyz01_2",
		"stranger@example.org":                               "stranger",
	} {
		if got := g.Username(email); got != want {
			t.Errorf("Username(%s) = %q, want %q", email, got, want)
		}
	}
	for _, n := range []int{2, 10, 123} {
		if got, want := withSuffix("x", n), "x_"+map[int]string{2: "2", 10: "10", 123: "123"}[n]; got != want {
			t.Errorf("withSuffix(x, %d) = %q", n, got)
		}
	}
}
