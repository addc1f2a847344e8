package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gwdoctor/gwdoctor/checks"
	"github.com/gwdoctor/gwdoctor/collect"
	"github.com/gwdoctor/gwdoctor/collect/aliyun"
	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/internal/fakecloud"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

const (
	cliKeyID  = "LTAI5tCliTestKey01"
	cliSecret = "cli-secret-Never-Printed-424242"
	cliToken  = "cli-sts-token-Never-Printed-7777"
)

type liveEnv struct {
	cloud      *fakecloud.AliyunServer
	kube       *fakecloud.KubeServer
	kubeconfig string
	dir        string
}

// newLiveEnv starts the fakes and points the environment at them: the
// credentials come from the environment, $HOME is empty, and the instance
// metadata service is disabled, so nothing leaves loopback.
func newLiveEnv(t *testing.T) *liveEnv {
	t.Helper()
	c, k := fakecloud.Shop()
	e := &liveEnv{cloud: fakecloud.NewAliyun(c), kube: fakecloud.NewKube(k), dir: t.TempDir()}
	t.Cleanup(e.cloud.Close)
	t.Cleanup(e.kube.Close)
	var err error
	if e.kubeconfig, err = e.kube.WriteKubeconfig(e.dir, "prod"); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", e.dir)
	t.Setenv("KUBECONFIG", "")
	t.Setenv(aliyun.EnvAccessKeyID, cliKeyID)
	t.Setenv(aliyun.EnvAccessKeySecret, cliSecret)
	t.Setenv(aliyun.EnvSecurityToken, cliToken)
	t.Setenv(aliyun.EnvECSMetadataDisabled, "true")
	t.Setenv(aliyun.EnvRegion, "")
	t.Setenv(envGateway, "")
	return e
}

func (e *liveEnv) args(extra ...string) []string {
	return append([]string{"snapshot", "--live", "--aliyun-endpoint", e.cloud.URL, "--kubeconfig", e.kubeconfig,
		"--context", "prod", "--region", "cn-hangzhou", "--gateway", "gw-3f9a"}, extra...)
}

func runLive(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Main(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// readSnapshot loads a written snapshot the way diagnose does (strict, validated).
func readSnapshot(t *testing.T, path string) *snapshot.Snapshot {
	t.Helper()
	s, err := snapshot.Load(path)
	if err != nil {
		t.Fatalf("%s does not load: %v", path, err)
	}
	return s
}

func TestSnapshotLiveEndToEnd(t *testing.T) {
	e := newLiveEnv(t)
	file := filepath.Join(e.dir, "snap.json")
	code, stdout, stderr := runLive(e.args("-o", file)...)
	if code != 0 {
		t.Fatalf("exit %d\nstderr: %s", code, stderr)
	}
	if !strings.Contains(stderr, "wrote "+file+": 5 services, 5 endpoints, 3 nodes, 5 security groups, 2 authorizations") {
		t.Errorf("stderr = %q", stderr)
	}
	got := readSnapshot(t, file)

	// The command writes what the library collects.
	want, err := collect.Live(context.Background(), collect.Options{Region: "cn-hangzhou", GatewayID: "gw-3f9a", Endpoint: e.cloud.URL,
		Kubeconfig: e.kubeconfig, Context: "prod", Now: func() time.Time { return time.Now() }})
	if err != nil {
		t.Fatal(err)
	}
	if err := want.Validate(); err != nil {
		t.Fatal(err)
	}
	clearReadTimes(got)
	clearReadTimes(want)
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	if !bytes.Equal(gb, wb) {
		t.Errorf("file differs from collect.Live:\n%s\n%s", gb, wb)
	}
	for _, secret := range []string{cliSecret, cliToken, "fake-kube-token-do-not-print"} {
		data, _ := os.ReadFile(file)
		if strings.Contains(stdout+stderr+string(data), secret) {
			t.Fatal("a secret was printed or saved")
		}
	}

	// YAML by extension, same content.
	yfile := filepath.Join(e.dir, "snap.yaml")
	if code, _, stderr := runLive(e.args("-o", yfile)...); code != 0 {
		t.Fatalf("yaml: exit %d: %s", code, stderr)
	}
	y := readSnapshot(t, yfile)
	clearReadTimes(y)
	yb, _ := json.Marshal(y)
	if !bytes.Equal(yb, gb) {
		t.Errorf("YAML snapshot differs from JSON:\n%s\n%s", yb, gb)
	}
}

func TestSnapshotPartialExits3(t *testing.T) {
	e := newLiveEnv(t)
	e.cloud.Faults.Deny = map[string]bool{aliyun.ActionDescribeSecurityGroupAttribute: true, aliyun.ActionDescribeNetworkInterfaces: true}
	file := filepath.Join(e.dir, "partial.json")
	code, stdout, stderr := runLive(e.args("-o", file)...)
	if code != ExitInconclusive {
		t.Fatalf("exit %d, want 3\n%s", code, stderr)
	}
	for _, want := range []string{"the RAM policy must allow ecs:DescribeSecurityGroupAttribute",
		"the RAM policy must allow ecs:DescribeNetworkInterfaces", "snapshot is PARTIAL: 3 part(s)"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	s := readSnapshot(t, file)
	parts := map[string]bool{}
	for _, m := range s.Missing {
		parts[m.Part+"/"+m.Action] = true
	}
	for _, want := range []string{"rules/ecs:DescribeSecurityGroupAttribute", "enis/ecs:DescribeNetworkInterfaces"} {
		if !parts[want] {
			t.Errorf("missing lacks %s: %+v", want, s.Missing)
		}
	}
	if strings.Contains(stdout+stderr, cliSecret) || strings.Contains(stdout+stderr, cliToken) {
		t.Fatal("a secret was printed")
	}
}

func TestSnapshotUsageErrors(t *testing.T) {
	e := newLiveEnv(t)
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"no --live":       {[]string{"snapshot", "-o", "x.json"}, "add --live"},
		"no -o":           {[]string{"snapshot", "--live", "--gateway", "gw-1", "--region", "cn-hangzhou"}, "-o FILE is required"},
		"no gateway":      {[]string{"snapshot", "--live", "-o", filepath.Join(e.dir, "x.json")}, "--gateway is required"},
		"bad endpoint":    {[]string{"snapshot", "--live", "-o", filepath.Join(e.dir, "x.json"), "--gateway", "gw-1", "--region", "cn-hangzhou", "--aliyun-endpoint", "127.0.0.1:80"}, "not a base URL"},
		"unknown profile": {[]string{"snapshot", "--live", "-o", filepath.Join(e.dir, "x.json"), "--gateway", "gw-1", "--profile", "nope"}, "config"},
	} {
		t.Run(name, func(t *testing.T) {
			code, _, stderr := runLive(tc.args...)
			if code != ExitInput || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, tc.want)
			}
		})
	}
	t.Run("no credentials", func(t *testing.T) {
		t.Setenv(aliyun.EnvAccessKeyID, "")
		t.Setenv(aliyun.EnvAccessKeySecret, "")
		code, _, stderr := runLive(e.args("-o", filepath.Join(e.dir, "x.json"))...)
		if code != ExitInput || !strings.Contains(stderr, "no Alibaba Cloud credentials found") {
			t.Errorf("exit %d: %s", code, stderr)
		}
	})
}

func TestSnapshotRedact(t *testing.T) {
	e := newLiveEnv(t)
	plain := filepath.Join(e.dir, "plain.json")
	red := filepath.Join(e.dir, "red.json")
	mapping := filepath.Join(e.dir, "map.json")
	if code, _, stderr := runLive(e.args("-o", plain)...); code != 0 {
		t.Fatal(stderr)
	}
	if code, _, stderr := runLive(e.args("-o", red, "--redact", "--redact-map", mapping)...); code != 0 {
		t.Fatal(stderr)
	}
	data, _ := os.ReadFile(red)
	for _, secretish := range []string{"gw-3f9a", "sg-nodes", "sg-gw", "i-node1", "eni-1", "vpc-prod", "np-gpu", "orders", "shop",
		"ack-nodes", "cn-hangzhou.192.168", "prod-gateway", "mse gateway", "sgr-1", "pl-office"} {
		if bytes.Contains(data, []byte(secretish)) {
			t.Errorf("redacted snapshot still contains %q", secretish)
		}
	}
	r := readSnapshot(t, red)
	p := readSnapshot(t, plain)
	var m map[string]string
	mb, _ := os.ReadFile(mapping)
	if err := json.Unmarshal(mb, &m); err != nil || m["sg-nodes"] == "" {
		t.Fatalf("mapping: %v %v", err, m)
	}
	// Same shape, references consistent: mapping the plain snapshot's
	// references gives the redacted ones.
	if len(r.Nodes) != len(p.Nodes) || len(r.SecurityGroups) != len(p.SecurityGroups) || len(r.Services) != len(p.Services) {
		t.Fatal("redaction changed the shape")
	}
	if r.Gateway.Authorizations[0].SecurityGroupID != m["sg-nodes"] || r.Gateway.SecurityGroupID != m["sg-gw"] {
		t.Errorf("authorization or gateway group not mapped consistently")
	}
	for i, n := range p.Nodes {
		for j, en := range n.ENIs {
			for k, g := range en.SecurityGroupIDs {
				if r.Nodes[i].ENIs[j].SecurityGroupIDs[k] != m[g] {
					t.Errorf("ENI group %s not mapped to %s", g, m[g])
				}
			}
			if strings.Join(r.Nodes[i].ENIs[j].IPs, ",") != strings.Join(en.IPs, ",") {
				t.Error("IPs must be kept")
			}
		}
	}
	for i, sv := range p.Services {
		for j, ep := range sv.Endpoints {
			if ep.Node != "" && r.Services[i].Endpoints[j].Node != m[ep.Node] {
				t.Errorf("endpoint node %s → %s, want %s", ep.Node, r.Services[i].Endpoints[j].Node, m[ep.Node])
			}
		}
	}
	for _, g := range p.SecurityGroups {
		for _, rule := range g.Rules {
			if rule.SourceGroupID != "" && !strings.HasPrefix(m[rule.SourceGroupID], "sg-") {
				t.Errorf("rule source %s not mapped to a group placeholder", rule.SourceGroupID)
			}
		}
	}
}

type reportJSON struct {
	Summary struct {
		Endpoints, Reachable, Blocked, Unknown int
	}
	Endpoints []struct {
		Service, IP, Verdict, Config string
		DecidedByHealthCheck         bool
	}
	Skipped []struct{ Check, Reason string }
}

func diagnoseJSON(t *testing.T, file string) (int, reportJSON) {
	t.Helper()
	code, stdout, stderr := run(t, "", "diagnose", file, "-o", "json")
	var r reportJSON
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("diagnose %s: exit %d, %v\nstdout: %s\nstderr: %s", file, code, err, stdout, stderr)
	}
	return code, r
}

// A live snapshot diagnoses; one collected without rule permissions does
// not come out clean: its verdicts are unknown and the exit code is not 0.
func TestLiveSnapshotDiagnoses(t *testing.T) {
	e := newLiveEnv(t)
	// One gateway vSwitch: the CIDR rules for 192.168.0.0/24 then decide.
	e.cloud.Cloud.GatewayVSwitches = []string{"vsw-a"}
	full := filepath.Join(e.dir, "full.json")
	if code, _, stderr := runLive(e.args("-o", full)...); code != 0 {
		t.Fatal(stderr)
	}
	_, r := diagnoseJSON(t, full)
	if r.Summary.Endpoints != 5 {
		t.Fatalf("diagnose saw %d endpoints, want 5: %+v", r.Summary.Endpoints, r)
	}
	verdicts := map[string]string{}
	for _, ep := range r.Endpoints {
		verdicts[ep.Service+" "+ep.IP] = ep.Verdict
	}
	want := map[string]string{
		"billing 192.168.1.30":     "reachable", // enterprise group, CIDR rule for the gateway's vSwitch
		"shop/payments 172.20.3.5": "reachable", // trunk member ENI found by IP, CIDR rule
		"shop/orders 172.20.1.10":  "blocked",   // Terway secondary ENI whose group lacks 8080
		"shop/legacy 172.20.1.11":  "blocked",   // same ENI, named targetPort 7000
		"shop/orders 172.20.2.5":   "unknown",   // sg-extra has a rule whose priority is not a number: its rules are incomplete
	}
	for k, v := range want {
		if verdicts[k] != v {
			t.Errorf("%s: verdict %q, want %q", k, verdicts[k], v)
		}
	}

	e.cloud.Faults.Deny = map[string]bool{aliyun.ActionDescribeSecurityGroupAttribute: true}
	partial := filepath.Join(e.dir, "partial.json")
	if code, _, stderr := runLive(e.args("-o", partial)...); code != ExitInconclusive {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	code, r := diagnoseJSON(t, partial)
	if code == ExitOK {
		t.Errorf("diagnose of a snapshot without rules exited 0")
	}
	// Every verdict is unknown but those the gateway's own health check
	// decides (billing passes it, orders 172.20.1.10 fails it).
	decided := 0
	for _, ep := range r.Endpoints {
		switch {
		case ep.DecidedByHealthCheck:
			decided++
		case ep.Verdict != "unknown":
			t.Errorf("%s %s %s although no rule could be read", ep.Service, ep.IP, ep.Verdict)
		}
	}
	if decided != 2 || r.Summary.Unknown != 3 {
		t.Errorf("without rules: %+v, %d decided by the health check; want 2 decided, the rest unknown", r.Summary, decided)
	}
}

// A whole part missing (the nodes, for want of RBAC) skips the checks that
// need it, with the reason.
func TestLiveSnapshotWithoutNodesSkipsChecks(t *testing.T) {
	e := newLiveEnv(t)
	e.kube.Deny["nodes"] = true
	file := filepath.Join(e.dir, "nonodes.json")
	code, _, stderr := runLive(e.args("-o", file)...)
	if code != ExitInconclusive || !strings.Contains(stderr, `the RBAC role needs "list nodes"`) {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	s := readSnapshot(t, file)
	if !slices.ContainsFunc(s.Missing, func(m snapshot.MissingPart) bool { return m.Part == snapshot.PartNodes && len(m.IDs) == 0 }) {
		t.Fatalf("nodes not marked missing: %+v", s.Missing)
	}
	code, r := diagnoseJSON(t, file)
	if code == ExitOK {
		t.Errorf("diagnose without node data exited 0")
	}
	// Every check of the catalog that needs the nodes is skipped.
	needNodes := 0
	for _, c := range checks.All() {
		if slices.Contains(c.Requires, diagnose.InputNodes) {
			needNodes++
		}
	}
	if len(r.Skipped) < needNodes {
		t.Errorf("skipped %+v: %d checks need the nodes", r.Skipped, needNodes)
	}
	needsNodes := map[string]bool{}
	for _, c := range checks.All() {
		needsNodes[c.Name] = slices.Contains(c.Requires, diagnose.InputNodes)
	}
	for _, sk := range r.Skipped {
		// Checks that need probes may be skipped for that first; the others
		// that need nodes must say the nodes are missing.
		if needsNodes[sk.Check] && !strings.Contains(sk.Reason, "nodes could not be collected") && !strings.Contains(sk.Reason, "no probes") {
			t.Errorf("skipped %s: %q does not say the nodes are missing", sk.Check, sk.Reason)
		}
	}
	for _, ep := range r.Endpoints {
		if ep.Verdict == "reachable" && !ep.DecidedByHealthCheck {
			t.Errorf("%s %s reachable without node data", ep.Service, ep.IP)
		}
	}
}

// The cluster is chosen as kubectl chooses it: $KUBECONFIG, --context.
func TestSnapshotKubeconfigSelection(t *testing.T) {
	e := newLiveEnv(t)
	t.Setenv("KUBECONFIG", e.kubeconfig)
	args := []string{"snapshot", "--live", "--aliyun-endpoint", e.cloud.URL, "--region", "cn-hangzhou", "--gateway", "gw-3f9a"}
	file := filepath.Join(e.dir, "env.json")
	if code, _, stderr := runLive(append(args, "-o", file)...); code != 0 {
		t.Fatalf("$KUBECONFIG: exit %d: %s", code, stderr)
	}
	if s := readSnapshot(t, file); len(s.Nodes) != 3 {
		t.Errorf("$KUBECONFIG: %d nodes", len(s.Nodes))
	}
	file = filepath.Join(e.dir, "elsewhere.json")
	code, _, stderr := runLive(append(args, "--context", "elsewhere", "-o", file)...)
	if code != ExitInconclusive || !strings.Contains(stderr, "127.0.0.1:1") {
		t.Fatalf("--context elsewhere: exit %d: %s", code, stderr)
	}
	code, _, stderr = runLive(append(args, "--context", "nope", "-o", file)...)
	if code != ExitInconclusive || !strings.Contains(stderr, `context "nope" does not exist`) {
		t.Fatalf("--context nope: exit %d: %s", code, stderr)
	}
}

func TestSnapshotRAMPolicy(t *testing.T) {
	code, stdout, _ := runLive("snapshot", "--ram-policy")
	var p struct {
		Version   string
		Statement []struct {
			Effect   string
			Action   []string
			Resource string
		}
	}
	if err := json.Unmarshal([]byte(stdout), &p); code != 0 || err != nil {
		t.Fatalf("exit %d, %v: %s", code, err, stdout)
	}
	if len(p.Statement) != 1 || p.Statement[0].Effect != "Allow" || !slices.Equal(p.Statement[0].Action, aliyun.PolicyActions) {
		t.Errorf("policy %+v", p)
	}
	for _, a := range p.Statement[0].Action {
		verb := a[strings.Index(a, ":")+1:]
		if !strings.HasPrefix(verb, "Describe") && !strings.HasPrefix(verb, "List") && !strings.HasPrefix(verb, "Get") {
			t.Errorf("%s is not a read-only action", a)
		}
	}
}

// clearReadTimes blanks the times a collection records (capturedAt, and
// when each gateway health check was read), which differ between runs.
func clearReadTimes(s *snapshot.Snapshot) {
	s.CapturedAt = ""
	for i := range s.Services {
		if h := s.Services[i].HealthCheck; h != nil {
			h.At = ""
		}
	}
}
