package main

import (
	"strings"
	"testing"
)

// pledges status plans the mesh before launch: on an existing server
// whose software the group file does not name, Mastodon's daily follow
// limit is assumed; on a local GoToSocial there is none.
func TestPledgesStatusPlansTheMesh(t *testing.T) {
	st := statusJSON(t, t.TempDir(), "../../examples/existing-server.yaml")
	if st.MeshDays != 1 || !strings.Contains(st.MeshPlan, "If the server runs Mastodon each account may make 400 follows a day") {
		t.Errorf("existing: %d days, %q", st.MeshDays, st.MeshPlan)
	}
	st = statusJSON(t, t.TempDir(), "../../examples/river-birders.yaml")
	if st.MeshDays != 1 || !strings.Contains(st.MeshPlan, "GoToSocial has no daily follow limit") {
		t.Errorf("local: %d days, %q", st.MeshDays, st.MeshPlan)
	}
	out, _, _ := lb(t, t.TempDir(), "pledges", "status", "../../examples/river-birders.yaml")
	if !strings.Contains(out, "  mesh: GoToSocial has no daily follow limit") {
		t.Errorf("status text:\n%s", out)
	}
}
