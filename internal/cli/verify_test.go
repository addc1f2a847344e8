package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gwdoctor/gwdoctor/verify"
)

func TestVerifyExitCodes(t *testing.T) {
	working, unknown := unresolvable(t)
	wb, wc := pair("wrong-node")
	ab, ac := pair("auth-added")
	for name, c := range map[string]struct {
		args []string
		want int
	}{
		"pass against baseline":    {[]string{ac, "--baseline", ab}, ExitOK},
		"fail against baseline":    {[]string{wc, "--baseline", wb}, ExitFindings},
		"undecidable":              {[]string{unknown, "--baseline", working}, ExitInconclusive},
		"no baseline, all work":    {[]string{wb}, ExitOK},
		"no baseline, one blocked": {[]string{ab}, ExitFindings},
		"baseline was broken":      {[]string{ab, "--baseline", ab}, ExitOK}, // search blocked then and now: not required
		"only the healthy service": {[]string{wc, "--baseline", wb, "--service", "shop/cart"}, ExitOK},
	} {
		code, out, errw := run(t, "", append([]string{"verify"}, c.args...)...)
		if code != c.want {
			t.Errorf("%s: exit %d, want %d\n%s%s", name, code, c.want, out, errw)
		}
		if !strings.Contains(out, "910 s") {
			t.Errorf("%s: the stateful-connection warning is missing:\n%s", name, out)
		}
	}
}

func TestVerifyJSONAndJUnit(t *testing.T) {
	wb, wc := pair("wrong-node")
	junit := filepath.Join(t.TempDir(), "verify.xml")
	code, out, errw := run(t, "", "verify", wc, "--baseline", wb, "-o", "json", "--junit", junit)
	if code != ExitFindings {
		t.Fatalf("exit %d: %s", code, errw)
	}
	var v verify.Verification
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.Result != verify.Fail || v.Summary.Failing != 1 || v.Checks != 1 {
		t.Errorf("json: %v %+v", err, v)
	}
	if !strings.Contains(errw, "910 s") {
		t.Errorf("with -o json the warning goes to stderr: %q", errw)
	}
	data, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Suites []struct {
			Cases []struct {
				ClassName string `xml:"classname,attr"`
				Name      string `xml:"name,attr"`
				Failure   *struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil || len(doc.Suites) != 1 {
		t.Fatalf("junit: %v\n%s", err, data)
	}
	endpoints := 0
	for _, c := range doc.Suites[0].Cases {
		if c.ClassName == verify.FindingsClass {
			continue // new error findings of the catalog, if any
		}
		endpoints++
		failing := c.ClassName == "shop/orders" && c.Name == "172.20.2.10:8080"
		if failing != (c.Failure != nil) {
			t.Errorf("case %s %s: failure %+v", c.ClassName, c.Name, c.Failure)
		}
		if failing && !strings.HasPrefix(c.Failure.Message, "blocked: ") {
			t.Errorf("failure message %q must start with the verdict", c.Failure.Message)
		}
	}
	if endpoints != 2 {
		t.Errorf("%d endpoint test cases, want 2:\n%s", endpoints, data)
	}
}

func TestVerifyInputErrors(t *testing.T) {
	wb, wc := pair("wrong-node")
	for name, args := range map[string][]string{
		"no file":         {"verify"},
		"markdown":        {"verify", wc, "-o", "markdown"},
		"zero interval":   {"verify", wc, "--watch", "1s", "--interval", "0s"},
		"negative watch":  {"verify", wc, "--watch", "-1s"},
		"watch stdin":     {"verify", "-", "--watch", "1s"},
		"both stdin":      {"verify", "-", "--baseline", "-"},
		"junit dir":       {"verify", wc, "--junit", "/nonexistent-dir/x.xml"},
		"malformed":       {"verify", "testdata/malformed.yaml"},
		"bad baseline":    {"verify", wc, "--baseline", "testdata/malformed.yaml"},
		"unknown service": {"verify", wc, "--baseline", wb, "--service", "shop/nope"},
	} {
		code, _, errw := run(t, "", args...)
		if code != ExitInput {
			t.Errorf("%s: exit %d, want 2 (stderr %q)", name, code, errw)
		}
	}
}

// runCtx runs gwdoctor with a context, as Main does with its signal context.
func runCtx(ctx context.Context, args ...string) (int, string, string) {
	var out, errw bytes.Buffer
	root := NewRoot(&Streams{In: strings.NewReader(""), Out: &out, Err: &errw})
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil {
		var ee *ExitError
		if !asExitError(err, &ee) || ee.Err != nil {
			errw.WriteString(err.Error())
		}
	}
	return exitCode(err), out.String(), errw.String()
}

func asExitError(err error, target **ExitError) bool {
	e, ok := err.(*ExitError)
	if ok {
		*target = e
	}
	return ok
}

// replaceFile rewrites path atomically, as a deploy tool or kubectl would
// leave it: the watcher never reads half a file.
func replaceFile(t *testing.T, path string, data []byte) {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Error(err)
		return
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Error(err)
	}
}

// verify --watch on a broken state: after the first check a goroutine
// rewrites the file, first with a malformed snapshot (a half-applied change:
// the watch reports it and keeps the previous state), then with the fixed
// one; the watch sees the endpoint recover and exits 0.
func TestVerifyWatchSeesTheFix(t *testing.T) {
	wb, wc := pair("wrong-node")
	broken, err := os.ReadFile(wc)
	if err != nil {
		t.Fatal(err)
	}
	fixed, err := os.ReadFile(wb) // the baseline is the working state
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(t.TempDir(), "state.yaml")
	if err := os.WriteFile(state, broken, 0o644); err != nil {
		t.Fatal(err)
	}

	checks := make(chan int)
	written := make(chan struct{})
	afterVerifyCheck = func(n int) {
		checks <- n
		<-written
	}
	t.Cleanup(func() { afterVerifyCheck = nil })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	go func() {
		for n := range checks {
			switch n {
			case 1:
				replaceFile(t, state, []byte("version: 1\ngateway: [not, a, gateway]\n"))
			case 2:
				replaceFile(t, state, fixed)
			}
			written <- struct{}{}
		}
	}()
	t.Setenv("NO_COLOR", "1")
	code, out, errw := runCtx(ctx, "verify", state, "--baseline", wb, "--watch", "50s", "--interval", "10ms")
	close(checks)
	if ctx.Err() != nil {
		t.Fatalf("the watch did not end within the test's timeout:\n%s", out)
	}
	if code != ExitOK {
		t.Fatalf("exit %d, want 0 once the file is fixed\nstdout:\n%s\nstderr:\n%s", code, out, errw)
	}
	for _, want := range []string{
		"check 1: FAIL",
		"check 2: cannot load the state (keeping the previous one): " + state,
		"check 3: endpoint shop/orders 172.20.1.10:8080: blocked → reachable",
		"check 3: result: fail → pass",
		"check 3: the verification passes",
		"PASS  2 of 2 required endpoints reachable",
		"910 s",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("watch output lacks %q:\n%s", want, out)
		}
	}
}

func TestVerifyWatchGivesUp(t *testing.T) {
	wb, wc := pair("wrong-node")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	code, out, _ := runCtx(ctx, "verify", wc, "--baseline", wb, "--watch", "100ms", "--interval", "20ms", "-o", "json")
	if code != ExitFindings {
		t.Fatalf("exit %d, want 1 when the watch ends while failing\n%s", code, out)
	}
	var v verify.Verification
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.Checks < 2 {
		t.Errorf("json after watching: %v, checks %d", err, v.Checks)
	}
}

// verify --probe --watch re-probes at every check: the backend's port is
// closed at first (refused: blocked), a listener starts after the first
// check, and the next probe finds it open. Loopback only.
func TestVerifyWatchReprobes(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	snap := fmt.Sprintf(`version: 1
gateway: {id: gw-1, securityGroupId: sg-gw, addresses: [192.168.0.0/24], authorizations: [{securityGroupId: sg-a, portRange: 1/65535}]}
securityGroups:
  - {id: sg-gw}
  - id: sg-a
    rules: [{direction: ingress, policy: accept, protocol: TCP, portRange: 1/65535, sourceGroupId: sg-gw}]
nodes:
  - {name: node-a, enis: [{id: eni-a, primary: true, ips: [127.0.0.1], securityGroupIds: [sg-a]}]}
services:
  - {name: orders, namespace: shop, endpoints: [{ip: 127.0.0.1, port: %d, pod: orders-0}]}
`, port)
	state := filepath.Join(t.TempDir(), "state.yaml")
	if err := os.WriteFile(state, []byte(snap), 0o644); err != nil {
		t.Fatal(err)
	}
	var listener net.Listener
	afterVerifyCheck = func(n int) {
		if n == 1 {
			if listener, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err != nil {
				t.Errorf("listen: %v", err)
			}
		}
	}
	t.Cleanup(func() {
		afterVerifyCheck = nil
		if listener != nil {
			listener.Close()
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	t.Setenv("NO_COLOR", "1")
	code, out, errw := runCtx(ctx, "verify", state, "--probe", "--probe-timeout", "2s", "--watch", "50s", "--interval", "10ms")
	if code != ExitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errw)
	}
	target := fmt.Sprintf("127.0.0.1:%d", port)
	for _, want := range []string{"check 1: FAIL", "endpoint shop/orders " + target + ": blocked → reachable", "the verification passes"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// A probe from the operator's vantage point that times out proves nothing
// about the gateway's path: verify passes on the configuration, and only a
// probe from the gateway's path fails it.
func TestVerifyProbeVantage(t *testing.T) {
	path := "../../testdata/scenarios/traffic-filtered-operator.yaml"
	if code, out, errw := run(t, "", "verify", path); code != ExitOK {
		t.Errorf("operator's timeout: exit %d, want %d\n%s%s", code, ExitOK, out, errw)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fromGateway := filepath.Join(t.TempDir(), "gw.yaml")
	if err := os.WriteFile(fromGateway, bytes.Replace(data, []byte("from: operator"), []byte("from: gateway"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errw := run(t, "", "verify", fromGateway); code != ExitFindings {
		t.Errorf("gateway's timeout: exit %d, want %d\n%s%s", code, ExitFindings, out, errw)
	}
}
