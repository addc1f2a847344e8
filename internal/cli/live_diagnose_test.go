package cli

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gwdoctor/gwdoctor/collect/aliyun"
	"github.com/gwdoctor/gwdoctor/diagnose"
)

// liveArgs turns the snapshot command's live arguments into another command's.
func (e *liveEnv) liveArgs(command string, extra ...string) []string {
	args := e.args()
	args[0], args[1] = command, "--live"
	return append(args, extra...)
}

// diagnose --live gives the same report as diagnose on the snapshot that
// snapshot --live writes from the same account.
func TestDiagnoseLiveEqualsDiagnoseOfSnapshot(t *testing.T) {
	e := newLiveEnv(t)
	file := filepath.Join(e.dir, "now.json")
	if code, _, stderr := runLive(e.args("-o", file)...); code != ExitOK {
		t.Fatalf("snapshot --live: exit %d: %s", code, stderr)
	}
	fileCode, fileOut, _ := runLive("diagnose", file, "-o", "json")
	liveCode, liveOut, liveErr := runLive(e.liveArgs("diagnose", "-o", "json")...)
	if liveCode != fileCode {
		t.Fatalf("diagnose --live exit %d, diagnose FILE exit %d; stderr: %s", liveCode, fileCode, liveErr)
	}
	var fromFile, fromLive diagnose.Report
	if err := json.Unmarshal([]byte(fileOut), &fromFile); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(liveOut), &fromLive); err != nil {
		t.Fatalf("diagnose --live -o json: %v\n%s", err, liveErr)
	}
	if fromLive.Source == nil || fromLive.Source.Kind != "live" {
		t.Errorf("live report source %+v, want kind live", fromLive.Source)
	}
	fromFile.Source, fromLive.Source = nil, nil
	a, _ := json.Marshal(fromFile)
	b, _ := json.Marshal(fromLive)
	// The two collections read the gateway's health checks at their own
	// times (rows, evidence, chains); everything else must be equal.
	readTime := regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`)
	a, b = readTime.ReplaceAll(a, []byte("T")), readTime.ReplaceAll(b, []byte("T"))
	if string(a) != string(b) {
		t.Errorf("diagnose --live differs from diagnose on the collected file:\nfile: %s\nlive: %s", a, b)
	}
	if len(fromLive.Endpoints) == 0 {
		t.Error("live report has no endpoints")
	}
}

// A permission error during diagnose --live is printed, its part marked
// missing, and the verdicts that depend on it are unknown: never a clean run.
func TestDiagnoseLivePartialIsNotClean(t *testing.T) {
	e := newLiveEnv(t)
	e.cloud.Faults.Deny = map[string]bool{aliyun.ActionDescribeSecurityGroupAttribute: true}
	code, out, stderr := runLive(e.liveArgs("diagnose", "-o", "json")...)
	if code == ExitOK || code == ExitInput {
		t.Fatalf("exit %d, want 1 or 3; stderr: %s", code, stderr)
	}
	if !strings.Contains(stderr, "ecs:DescribeSecurityGroupAttribute") || !strings.Contains(stderr, "partial") {
		t.Errorf("stderr does not name the missing permission: %s", stderr)
	}
	var r diagnose.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	for _, ep := range r.Endpoints {
		// The gateway's own health check decides what the rules cannot
		// (the fake world checks billing and orders); nothing else may.
		if ep.Verdict == diagnose.VerdictReachable && !ep.DecidedByHealthCheck {
			t.Errorf("%s %s:%d reachable although no rule could be read", ep.Service, ep.IP, ep.Port)
		}
	}
}

func TestLiveAndFileAreExclusive(t *testing.T) {
	e := newLiveEnv(t)
	for _, cmd := range []string{"diagnose", "verify"} {
		if code, _, _ := runLive(e.liveArgs(cmd, "some.yaml")...); code != ExitInput {
			t.Errorf("%s --live FILE: exit %d, want 2", cmd, code)
		}
	}
	if code, _, stderr := runLive("diagnose", "--live"); code != ExitInput || !strings.Contains(stderr, "--gateway") {
		t.Errorf("diagnose --live without --gateway: exit %d, %s", code, stderr)
	}
}

func TestVerifyLive(t *testing.T) {
	e := newLiveEnv(t)
	code, out, stderr := runLive(e.liveArgs("verify", "-o", "json")...)
	if code == ExitInput {
		t.Fatalf("verify --live: exit 2: %s", stderr)
	}
	if !strings.Contains(out, `"result"`) || !strings.Contains(out, "910") {
		t.Errorf("verify --live output lacks result or the stateful warning:\n%s", out)
	}
}

// Without mse:GetGateway the gateway's group is unknown: the live snapshot
// still diagnoses, with every verdict unknown — never a clean run, never a
// deny invented from rules that may name the gateway.
func TestDiagnoseLiveWithoutGateway(t *testing.T) {
	e := newLiveEnv(t)
	e.cloud.Faults.Deny = map[string]bool{aliyun.ActionGetGateway: true}
	code, out, stderr := runLive(e.liveArgs("diagnose", "-o", "json")...)
	// The fake account has a service with no ready endpoint (service-down,
	// which needs no gateway data): exit 1; otherwise it would be 3.
	if code != ExitFindings && code != ExitInconclusive {
		t.Errorf("exit %d, want 1 or 3; stderr: %s", code, stderr)
	}
	var r diagnose.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Endpoints) == 0 {
		t.Fatal("no endpoints")
	}
	decided := 0
	for _, ep := range r.Endpoints {
		if ep.DecidedByHealthCheck {
			decided++ // the gateway's own health check decides without the group
			continue
		}
		if ep.Verdict != diagnose.VerdictUnknown {
			t.Errorf("%s %s:%d: verdict %s without the gateway's group, want unknown", ep.Service, ep.IP, ep.Port, ep.Verdict)
		}
	}
	if decided != 2 { // billing passes the gateway's check, orders 172.20.1.10 fails it
		t.Errorf("%d verdicts decided by the gateway's health check, want 2", decided)
	}
	if !strings.Contains(stderr, "mse:GetGateway") {
		t.Errorf("stderr does not name the missing permission: %s", stderr)
	}
}
