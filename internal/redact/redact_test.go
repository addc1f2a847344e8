package redact

import (
	"strings"
	"testing"

	"github.com/gwdoctor/gwdoctor/snapshot"
)

func TestMissingAndTextFollowTheMapping(t *testing.T) {
	s := &snapshot.Snapshot{Version: 1,
		Gateway:        snapshot.Gateway{ID: "gw-a", SecurityGroupID: "sg-gw"},
		SecurityGroups: []snapshot.SecurityGroup{{ID: "sg-nodes"}, {ID: "sg-nodes-2"}},
		Services:       []snapshot.Service{{Name: "orders", Namespace: "shop"}},
		Missing: []snapshot.MissingPart{
			{Part: "rules", IDs: []string{"sg-nodes", "sg-nodes-2"}, Error: "ecs: denied for sg-nodes-2 and sg-nodes"},
			{Part: "endpoints", IDs: []string{"shop/orders", "shop"}, Error: "service shop/orders is not in the cluster"},
			{Part: "nodePools", IDs: []string{"c-prod"}, Error: "cluster c-prod: 403"},
		},
	}
	m := New()
	r := m.Snapshot(s)
	if s.Missing[0].IDs[0] != "sg-nodes" {
		t.Fatal("the input was changed")
	}
	g1, g2 := r.SecurityGroups[0].ID, r.SecurityGroups[1].ID
	if r.Missing[0].IDs[0] != g1 || r.Missing[0].IDs[1] != g2 {
		t.Errorf("missing ids %v, want %s %s", r.Missing[0].IDs, g1, g2)
	}
	if want := "ecs: denied for " + g2 + " and " + g1; r.Missing[0].Error != want {
		t.Errorf("error = %q, want %q", r.Missing[0].Error, want)
	}
	key := r.Services[0].Namespace + "/" + r.Services[0].Name
	if r.Missing[1].IDs[0] != key || r.Missing[1].IDs[1] != r.Services[0].Namespace {
		t.Errorf("service key ids = %v, want %s", r.Missing[1].IDs, key)
	}
	if strings.Contains(r.Missing[2].Error, "c-prod") || !strings.HasPrefix(r.Missing[2].IDs[0], "c-redacted-") {
		t.Errorf("cluster id kept: %+v", r.Missing[2])
	}
	// The same mapper maps the same way twice.
	if m.Snapshot(s).SecurityGroups[0].ID != g1 {
		t.Error("mapping is not stable")
	}
}
