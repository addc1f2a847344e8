package snapshot

import (
	"strings"
	"testing"
)

func TestClusterIDIsReadAndSaved(t *testing.T) {
	s := mustLoad(t, "testdata/cluster.yaml")
	if got := s.ClusterID(); got != "c82e6987e2961451182edacd74faf8ec0" {
		t.Fatalf("cluster id = %q", got)
	}
	for _, f := range []Format{JSON, YAML} {
		out, err := Marshal(s, f)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Parse("x", out)
		if err != nil {
			t.Fatalf("%v: %v\n%s", f, err, out)
		}
		if back.ClusterID() != s.ClusterID() {
			t.Fatalf("%v: cluster id lost in the round trip:\n%s", f, out)
		}
	}
	if (&Snapshot{}).ClusterID() != "" {
		t.Fatal("a snapshot without a cluster has an id")
	}
}

func TestClusterIDMustBeSafeInAPath(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{"version: 1\ncluster:\n  id: c-1/../x\ngateway: {id: gw, securityGroupId: sg}\n", `x:3: cluster.id: "c-1/../x" is not an ACK cluster id`},
		{"version: 1\ncluster:\n  name: prod\ngateway: {id: gw, securityGroupId: sg}\n", `x:3: cluster.name: unknown key "name"`},
	} {
		_, err := Parse("x", []byte(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want it to contain %q", tc.doc, err, tc.want)
		}
	}
}
