package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gwdoctor/gwdoctor/internal/testenv"
	"github.com/gwdoctor/gwdoctor/lab"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// Rehearsing the fix: in the lab, 8081 is not authorized and the gateway's
// connection times out; lab fix applies the plan the way MSE would (the
// authorization and the inbound rule it writes) and the same connection
// opens, while 8080 stays open.
func TestLabFixOpensTheBlockedPort(t *testing.T) {
	testenv.NeedNetns(t)
	useLabStateDir(t)
	prefix := lab.ProcessPrefix() + "fx-"
	t.Cleanup(func() { lab.Down(context.Background(), prefix) })
	file := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(file, []byte(labTestSnapshot("10.0.0.5")), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errw := labMain(t, "lab", "--prefix", prefix, "up", file); code != 0 {
		t.Fatalf("lab up: exit %d: %s", code, errw)
	}
	connects := func(port string) bool {
		// bash's /dev/tcp with a short timeout: 0 = connected; a timeout
		// is what a security group's silent drop gives (filtered).
		code, _, _ := labMain(t, "lab", "--prefix", prefix, "exec", "--", "timeout", "0.5", "bash", "-c", "exec 3<>/dev/tcp/10.1.1.10/"+port)
		return code == 0
	}
	if !connects("8080") || connects("8081") {
		t.Fatal("before the fix: 8080 must connect and 8081 time out")
	}
	code, out, errw := labMain(t, "lab", "--prefix", prefix, "fix")
	if code != 0 {
		t.Fatalf("lab fix: exit %d\n%s\n%s", code, out, errw)
	}
	if !strings.Contains(out, "authorizes sg-nodes for TCP 8081/8081") || !strings.Contains(out, "Applied 1 change(s)") {
		t.Errorf("lab fix output:\n%s", out)
	}
	if !connects("8081") || !connects("8080") {
		t.Fatal("after lab fix: 8081 and 8080 must connect")
	}
	// The lab's snapshot holds what MSE would hold: the authorization and
	// its inbound rule from the gateway's group.
	s, err := snapshot.Load(filepath.Join(labStateDir, prefix+".snapshot.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Gateway.Authorizations) != 1 || s.Gateway.Authorizations[0].PortRange != "8081/8081" {
		t.Errorf("authorizations: %+v", s.Gateway.Authorizations)
	}
	// Again: nothing left to fix, nothing changes.
	if code, out, _ := labMain(t, "lab", "--prefix", prefix, "fix"); code != 0 || !strings.Contains(out, "Nothing to fix") {
		t.Errorf("second lab fix: exit %d\n%s", code, out)
	}
	if code, _, errw := labMain(t, "lab", "--prefix", prefix, "down"); code != 0 {
		t.Fatalf("lab down: %s", errw)
	}
	if code, _, errw := labMain(t, "lab", "--prefix", prefix, "fix"); code != ExitInput || !strings.Contains(errw, "no lab") {
		t.Errorf("lab fix with no lab: exit %d: %s", code, errw)
	}
}
