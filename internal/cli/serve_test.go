package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/gwdoctor/gwdoctor/collect/aliyun"
	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/internal/fakecloud"
)

// maxLoggedSubjects mirrors serve's cap on the subjects of a logged finding.
const maxLoggedSubjects = 10

// logLines collects serve's JSON log lines and lets a test wait for one.
type logLines struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines []map[string]any
	raw   []string
	added chan struct{}
}

func newLogLines() *logLines { return &logLines{added: make(chan struct{}, 1)} }

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	for {
		line, err := l.buf.ReadString('\n')
		if err != nil {
			l.buf.WriteString(line) // incomplete: keep for the next write
			break
		}
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil {
			m = map[string]any{"msg": "not JSON", "line": line}
		}
		l.lines = append(l.lines, m)
		l.raw = append(l.raw, line)
	}
	select {
	case l.added <- struct{}{}:
	default:
	}
	return len(p), nil
}

// wait returns the first line from index from on that match accepts, and
// the index after it. It gives up after a minute (a hung server, not a
// slow one), listing what it saw.
func (l *logLines) wait(t *testing.T, from int, what string, match func(map[string]any) bool) (map[string]any, int) {
	t.Helper()
	giveUp := time.After(time.Minute)
	for {
		l.mu.Lock()
		for i := from; i < len(l.lines); i++ {
			if line := l.lines[i]; match(line) {
				l.mu.Unlock()
				return line, i + 1
			}
		}
		l.mu.Unlock()
		select {
		case <-l.added:
		case <-giveUp:
			l.mu.Lock()
			defer l.mu.Unlock()
			t.Fatalf("no log line %s; saw:\n%s", what, strings.Join(l.raw, ""))
		}
	}
}

func (l *logLines) all() []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lines)
}

func isMsg(msg string, kv ...string) func(map[string]any) bool {
	return func(m map[string]any) bool {
		if m["msg"] != msg {
			return false
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if fmt.Sprint(m[kv[i]]) != kv[i+1] {
				return false
			}
		}
		return true
	}
}

// fleetEnv starts the fleet fakes and points the environment at them.
func fleetEnv(t *testing.T, gateways, endpoints int) (*fakecloud.AliyunServer, string) {
	t.Helper()
	c, k := fakecloud.Fleet(gateways, endpoints)
	cloud, kube := fakecloud.NewAliyun(c), fakecloud.NewKube(k)
	t.Cleanup(cloud.Close)
	t.Cleanup(kube.Close)
	dir := t.TempDir()
	kc, err := kube.WriteKubeconfig(dir, "prod")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", dir)
	t.Setenv("KUBECONFIG", "")
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv(aliyun.EnvAccessKeyID, cliKeyID)
	t.Setenv(aliyun.EnvAccessKeySecret, cliSecret)
	t.Setenv(aliyun.EnvSecurityToken, cliToken)
	t.Setenv(aliyun.EnvECSMetadataDisabled, "true")
	t.Setenv(aliyun.EnvRegion, "")
	t.Setenv(envGateway, "")
	return cloud, kc
}

// scrape parses /metrics with the Prometheus text parser.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return families
}

// gauge is the value of the series of family with exactly these labels
// (among others), and whether there is one.
func gauge(families map[string]*dto.MetricFamily, family string, labels map[string]string) (float64, bool) {
	f := families[family]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, lp := range m.Label {
			have[lp.GetName()] = lp.GetValue()
		}
		for k, v := range labels {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		}
	}
	return 0, false
}

// serve against the loopback fakes: two gateways found by ListGateway, all
// endpoints reachable; an authorization of the first is deleted (with its
// rule, as MSE's cascading delete does) between two runs; the first
// gateway's blocked gauge rises to every endpoint, a transition line with
// the cause is logged, /diff lists it, and the second gateway is untouched.
func TestServeScriptedChange(t *testing.T) {
	const endpoints = 30
	cloud, kc := fleetEnv(t, 2, endpoints)
	logs := newLogLines()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	root := NewRoot(&Streams{In: strings.NewReader(""), Out: io.Discard, Err: logs})
	root.SetArgs([]string{"serve", "--live", "--aliyun-endpoint", cloud.URL, "--kubeconfig", kc, "--region", "cn-hangzhou",
		"--all-gateways", "--interval", "1s", "--listen", "127.0.0.1:0"})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()

	serving, _ := logs.wait(t, 0, "serving", isMsg("serving"))
	addr := serving["listen"].(string)
	gw0, gw1 := fakecloud.FleetGateway(0), fakecloud.FleetGateway(1)
	_, next := logs.wait(t, 0, "first run of "+gw0, isMsg("run finished", "gateway", gw0))
	logs.wait(t, 0, "first run of "+gw1, isMsg("run finished", "gateway", gw1))

	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/readyz after both first runs: %d", resp.StatusCode)
	}
	before := scrape(t, addr)
	svc0 := "fleet-00/app"
	for verdict, want := range map[string]float64{"reachable": endpoints, "blocked": 0, "unknown": 0} {
		if v, ok := gauge(before, "gwdoctor_endpoints", map[string]string{"gateway": gw0, "service": svc0, "verdict": verdict}); !ok || v != want {
			t.Errorf("before: gwdoctor_endpoints{%s,%s} = %v (present %v), want %v", svc0, verdict, v, ok, want)
		}
	}
	if v, ok := gauge(before, "gwdoctor_up", map[string]string{"gateway": gw0}); !ok || v != 1 {
		t.Errorf("before: gwdoctor_up = %v, %v", v, ok)
	}
	if _, ok := gauge(before, "gwdoctor_endpoint_verdict", nil); ok {
		t.Error("per-endpoint series exported without --per-endpoint-metrics")
	}

	// The scripted change: gw-fleet-00's authorization deleted, cascading.
	cloud.Mutate(func(c *fakecloud.Cloud) {
		c.Authorizations = nil
		g := c.Groups[fakecloud.FleetNodeGroup]
		g.Rules = slices.DeleteFunc(g.Rules, func(p fakecloud.Permission) bool { return p.SecurityGroupRuleId == fakecloud.FleetRule(0) })
	})
	// A run in flight may have read part of the account before the change:
	// wait for a run that sees all of it.
	logs.wait(t, next, "a run of "+gw0+" with every endpoint blocked", func(m map[string]any) bool {
		return isMsg("run finished", "gateway", gw0)(m) && m["blocked"] == float64(endpoints)
	})
	tr, _ := logs.wait(t, next, "an endpoint-blocked transition", isMsg("transition", "gateway", gw0, "kind", "endpoint-blocked"))
	if tr["level"] != "WARN" || tr["before"] != "reachable" || tr["after"] != "blocked" || tr["service"] != svc0 {
		t.Errorf("transition line %v", tr)
	}
	if cause, _ := tr["cause"].(string); !strings.Contains(cause, "deny") || tr["code"] == nil {
		t.Errorf("transition line does not give the cause (finding code and what decided): %v", tr)
	}
	fa, _ := logs.wait(t, next, "the finding that appeared", isMsg("transition", "gateway", gw0, "kind", "finding-appeared"))
	if subjects, _ := fa["subjects"].([]any); len(subjects) > maxLoggedSubjects+1 || fa["code"] != tr["code"] {
		t.Errorf("finding transition %v: more than %d subjects, or not the endpoints' cause %v", fa, maxLoggedSubjects, tr["code"])
	}

	after := scrape(t, addr)
	if v, _ := gauge(after, "gwdoctor_endpoints", map[string]string{"gateway": gw0, "service": svc0, "verdict": "blocked"}); v != endpoints {
		t.Errorf("after: blocked gauge of %s = %v, want %d", svc0, v, endpoints)
	}
	if v, _ := gauge(after, "gwdoctor_service_broken", map[string]string{"gateway": gw0, "service": svc0}); v != 1 {
		t.Errorf("after: gwdoctor_service_broken of %s = %v, want 1", svc0, v)
	}
	if v, _ := gauge(after, "gwdoctor_endpoints", map[string]string{"gateway": gw1, "service": "fleet-01/app", "verdict": "reachable"}); v != endpoints {
		t.Errorf("after: the other gateway's reachable gauge = %v, want %d (untouched)", v, endpoints)
	}
	if v, _ := gauge(after, "gwdoctor_transitions_total", map[string]string{"gateway": gw0, "kind": "endpoint-blocked"}); v < endpoints {
		t.Errorf("after: gwdoctor_transitions_total{endpoint-blocked} = %v, want ≥ %d", v, endpoints)
	}
	for _, l := range logs.all() {
		if l["msg"] == "transition" && l["gateway"] == gw1 {
			t.Errorf("transition logged for the untouched gateway: %v", l)
		}
	}

	// /report?gateway= is exactly a report; /report lists both.
	var rep diagnose.Report
	getJSON(t, "http://"+addr+"/report?gateway="+gw0, &rep)
	if rep.Gateway.ID != gw0 || rep.Summary.Blocked != endpoints {
		t.Errorf("/report?gateway=%s: gateway %s, %d blocked", gw0, rep.Gateway.ID, rep.Summary.Blocked)
	}
	var all struct{ Reports []diagnose.Report }
	getJSON(t, "http://"+addr+"/report", &all)
	if len(all.Reports) != 2 || all.Reports[0].Gateway.ID != gw0 || all.Reports[1].Gateway.ID != gw1 {
		t.Errorf("/report lists %d reports", len(all.Reports))
	}
	if resp, err := http.Get("http://" + addr + "/report?gateway=gw-nope"); err != nil || resp.StatusCode != 404 {
		t.Errorf("/report of an unknown gateway: %v %v", resp.StatusCode, err)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve returned %v after its context was cancelled", err)
	}
	logs.wait(t, 0, "stopped", isMsg("stopped"))
	if n := cloud.Calls()[aliyun.ActionListGateway]; n == 0 {
		t.Error("--all-gateways never called ListGateway")
	}
	for a := range cloud.Calls() {
		if !slices.Contains(aliyun.PolicyActions, a) {
			t.Errorf("serve called %s, which the RAM policy does not allow", a)
		}
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

func TestServeFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--gateway", "gw-1"},                                   // no --live
		{"serve", "--live"},                                              // no gateway
		{"serve", "--live", "--gateway", "gw-1", "--all-gateways"},       // both
		{"serve", "--live", "--gateway", "gw-1", "--interval", "10ms"},   // too short
		{"serve", "--live", "--gateway", "gw-1", "--concurrency", "0"},   // none at once
		{"serve", "--live", "--gateway", "gw-1", "--listen", "nonsense"}, // bad address
	} {
		t.Setenv(envGateway, "")
		code, _, stderr := runLive(args...)
		if code != ExitInput {
			t.Errorf("%v: exit %d, want %d; stderr %s", args, code, ExitInput, stderr)
		}
	}
}

// The SIGTERM test runs serve in a child process (this test binary,
// re-executed): a real signal, a real exit code.
const serveChildEnv = "GWDOCTOR_SERVE_CHILD_ARGS"

func TestServeChild(t *testing.T) {
	args := os.Getenv(serveChildEnv)
	if args == "" {
		t.Skip("helper process for TestServeSIGTERM") //testenv:not-environment
	}
	var argv []string
	if err := json.Unmarshal([]byte(args), &argv); err != nil {
		t.Fatal(err)
	}
	os.Exit(Main(argv, strings.NewReader(""), os.Stdout, os.Stderr))
}

// SIGTERM while a collection is in flight (every fake call takes 2 s):
// the collection is cancelled, the process logs a clean stop within its
// 5 s budget (not the budget-spent warning) and exits 0.
func TestServeSIGTERM(t *testing.T) {
	cloud, kc := fleetEnv(t, 1, 5)
	cloud.SetLatency(2 * time.Second) // the server is already serving: no plain write
	args := []string{"serve", "--live", "--aliyun-endpoint", cloud.URL, "--kubeconfig", kc, "--region", "cn-hangzhou",
		"--gateway", fakecloud.FleetGateway(0), "--interval", "1s", "--listen", "127.0.0.1:0"}
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeChild$")
	encoded, _ := json.Marshal(args)
	cmd.Env = append(os.Environ(), serveChildEnv+"="+string(encoded))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logs := newLogLines()
	copied := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs.Write(append(sc.Bytes(), '\n'))
		}
		close(copied)
	}()
	logs.wait(t, 0, "serving", isMsg("serving"))
	// The first fake call has been received: a collection is in flight.
	for cloud.TotalCalls() == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-copied
	err = cmd.Wait()
	if err != nil {
		t.Errorf("serve exited with %v after SIGTERM, want 0", err)
	}
	logs.wait(t, 0, "collection cancelled", isMsg("collection cancelled"))
	stopped, _ := logs.wait(t, 0, "stopped", func(m map[string]any) bool { return m["msg"] == "stopped" || m["level"] == "WARN" })
	if stopped["msg"] != "stopped" {
		t.Errorf("shutdown was not clean: %v", stopped)
	}
	for _, l := range logs.all() {
		if l["msg"] == "run finished" {
			t.Errorf("a cancelled collection was recorded as a run: %v", l)
		}
	}
}
