package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/internal/demo"
)

// run executes gwdoctor in-process and returns exit code, stdout and stderr.
func run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errw bytes.Buffer
	code := Main(args, strings.NewReader(stdin), &out, &errw)
	return code, out.String(), errw.String()
}

func TestDemoReportsBrokenAndHealthy(t *testing.T) {
	code, out, errw := run(t, "", "demo", "-o", "json")
	if code != ExitFindings {
		t.Fatalf("exit %d, want %d; stderr: %s", code, ExitFindings, errw)
	}
	var r diagnose.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("demo -o json is not a report: %v\n%s", err, out)
	}
	if r.SchemaVersion != 2 || r.Gateway.ID != "gw-demo3f9a" {
		t.Errorf("schema %d gateway %q", r.SchemaVersion, r.Gateway.ID)
	}
	verdicts, probes := map[string]string{}, map[string]string{}
	for _, e := range r.Endpoints {
		verdicts[e.Service] = e.Verdict
		probes[e.Service] = e.Probe
	}
	// Live loopback probes: the healthy backend's listener answers, the
	// service that is down refuses, blocked endpoints are not probed.
	for svc, want := range map[string]string{"shop/cart": "open", "shop/reviews": "refused", "shop/orders": ""} {
		if probes[svc] != want {
			t.Errorf("%s: probe %q, want %q", svc, probes[svc], want)
		}
	}
	for svc, want := range map[string]string{
		"shop/cart": "reachable", "shop/orders": "blocked", "shop/payments": "blocked",
		"shop/inventory": "blocked", "shop/search": "blocked", "legacy/erp": "blocked", "shop/reviews": "blocked",
	} {
		if verdicts[svc] != want {
			t.Errorf("%s: verdict %q, want %q", svc, verdicts[svc], want)
		}
	}
}

func TestDemoTextAndMarkdown(t *testing.T) {
	t.Setenv("NO_COLOR", "1")
	code, out, _ := run(t, "", "demo")
	if code != ExitFindings || !strings.Contains(out, "shop/orders") || !strings.Contains(out, "BROKEN") || strings.Contains(out, "\x1b[") {
		t.Errorf("text demo: exit %d, output:\n%s", code, out)
	}
	code, out, _ = run(t, "", "demo", "-o", "markdown")
	if code != ExitFindings || !strings.Contains(out, "## gwdoctor report") || !strings.Contains(out, "| `127.0.20.11:8080` |") {
		t.Errorf("markdown demo: exit %d, output:\n%s", code, out)
	}
}

func TestDemoPrintRoundTrips(t *testing.T) {
	code, out, _ := run(t, "", "demo", "--print")
	if code != 0 || out != string(demo.Source()) {
		t.Fatalf("demo --print: exit %d", code)
	}
	// The printed scenario diagnoses the same from standard input.
	code, fromStdin, _ := run(t, out, "diagnose", "-", "-o", "json")
	_, fromDemo, _ := run(t, "", "demo", "-o", "json", "--no-probe")
	var a, b diagnose.Report
	_ = json.Unmarshal([]byte(fromStdin), &a)
	_ = json.Unmarshal([]byte(fromDemo), &b)
	a.Source, b.Source = nil, nil
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if code != ExitFindings || string(ja) != string(jb) {
		t.Errorf("diagnose - (exit %d) differs from demo", code)
	}
}

func TestDiagnoseMalformedSnapshot(t *testing.T) {
	code, out, errw := run(t, "", "diagnose", "testdata/malformed.yaml")
	if code != ExitInput {
		t.Fatalf("exit %d, want 2; stderr:\n%s", code, errw)
	}
	if out != "" {
		t.Errorf("a malformed snapshot must not produce a partial report, got:\n%s", out)
	}
	for _, want := range []string{
		"testdata/malformed.yaml:11:", "8080-8081",
		"testdata/malformed.yaml:12:", "sourceCIDR", "sourceCidr",
		"testdata/malformed.yaml:14:", "101",
		"testdata/malformed.yaml:16:", "10.0.0.0/33",
		"testdata/malformed.yaml:23:", "sg-missing",
	} {
		if !strings.Contains(errw, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errw)
		}
	}
}

func TestDiagnoseUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"diagnose"},
		{"diagnose", "does-not-exist.yaml"},
		{"diagnose", "testdata/malformed.yaml", "extra"},
		{"demo", "-o", "xml"},
		{"demo", "--fail-on", "fatal"},
		{"demo", "--suppress", "GWD999"},
		{"demo", "--service", "shop/nope"},
		{"demo", "--no-such-flag"},
		{"no-such-command"},
	} {
		code, _, errw := run(t, "", args...)
		if code != ExitInput || errw == "" {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 with a message", args, code, errw)
		}
	}
}

func TestDiagnoseFilters(t *testing.T) {
	code, out, _ := run(t, "", "demo", "-o", "json", "--service", "shop/cart")
	var r diagnose.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if code != 0 || len(r.Endpoints) != 1 || r.Endpoints[0].Service != "shop/cart" || r.Filter == nil {
		t.Errorf("--service shop/cart: exit %d, endpoints %+v", code, r.Endpoints)
	}
	if code, _, _ := run(t, "", "demo", "--fail-on", "never"); code != 0 {
		t.Errorf("--fail-on never: exit %d, want 0", code)
	}
}

func TestDiagnoseProbeJoinsLiveResults(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := closed.Addr().(*net.TCPAddr).Port
	closed.Close()
	openPort := ln.Addr().(*net.TCPAddr).Port
	snap := fmt.Sprintf(`version: 1
gateway: {id: gw-1, securityGroupId: sg-gw, authorizations: [{securityGroupId: sg-a, portRange: 1/65535}]}
securityGroups:
  - id: sg-gw
  - id: sg-a
    rules: [{direction: ingress, protocol: TCP, portRange: 1/65535, sourceGroupId: sg-gw}]
nodes:
  - name: n1
    enis: [{id: eni-1, primary: true, ips: [127.0.0.1], securityGroupIds: [sg-a]}]
services:
  - name: up
    namespace: t
    endpoints: [{ip: 127.0.0.1, port: %d}]
  - name: down
    namespace: t
    endpoints: [{ip: 127.0.0.1, port: %d}]
`, openPort, closedPort)
	code, out, errw := run(t, snap, "diagnose", "-", "--probe", "--probe-from", "gateway", "-o", "json")
	var r diagnose.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("exit %d, stderr %s: %v", code, errw, err)
	}
	got := map[string]string{}
	for _, e := range r.Endpoints {
		got[e.Service] = e.Probe + "/" + e.ProbeFrom + "/" + e.Verdict
	}
	if got["t/up"] != "open/gateway/reachable" || got["t/down"] != "refused/gateway/blocked" || code != ExitFindings {
		t.Errorf("exit %d, endpoints %v", code, got)
	}
	if code, _, _ := run(t, snap, "diagnose", "-", "--probe", "--probe-timeout", "0s"); code != ExitInput {
		t.Errorf("--probe-timeout 0s: exit %d, want 2", code)
	}
}
