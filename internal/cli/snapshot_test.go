package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/gwdoctor/gwdoctor/collect"
	"github.com/gwdoctor/gwdoctor/collect/aliyun"
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

func run(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Main(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// readSnapshot decodes strictly: an unknown key is an error, as in the loader.
func readSnapshot(t *testing.T, path string) *snapshot.Snapshot {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s snapshot.Snapshot
	if strings.HasSuffix(path, ".yaml") {
		err = yaml.UnmarshalWithOptions(data, &s, yaml.Strict())
	} else {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		err = dec.Decode(&s)
	}
	if err != nil {
		t.Fatalf("%s does not load: %v", path, err)
	}
	return &s
}

func TestSnapshotLiveEndToEnd(t *testing.T) {
	e := newLiveEnv(t)
	file := filepath.Join(e.dir, "snap.json")
	code, stdout, stderr := run(e.args("-o", file)...)
	if code != 0 {
		t.Fatalf("exit %d\nstderr: %s", code, stderr)
	}
	if !strings.Contains(stderr, "wrote "+file+": 5 services, 5 endpoints, 3 nodes, 4 security groups, 2 authorizations") {
		t.Errorf("stderr = %q", stderr)
	}
	got := readSnapshot(t, file)

	// The command writes what the library collects.
	want, err := collect.Live(context.Background(), collect.Options{Region: "cn-hangzhou", GatewayID: "gw-3f9a", Endpoint: e.cloud.URL,
		Kubeconfig: e.kubeconfig, Context: "prod", Now: func() time.Time { return time.Now() }})
	if err != nil {
		t.Fatal(err)
	}
	got.CapturedAt, want.CapturedAt = "", ""
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	if !bytes.Equal(gb, wb) {
		t.Errorf("file differs from collect.Live:\n%s\n%s", gb, wb)
	}
	for _, secret := range []string{cliSecret, cliToken} {
		data, _ := os.ReadFile(file)
		if strings.Contains(stdout+stderr+string(data), secret) {
			t.Fatal("a secret was printed or saved")
		}
	}

	// YAML by extension, same content.
	yfile := filepath.Join(e.dir, "snap.yaml")
	if code, _, stderr := run(e.args("-o", yfile)...); code != 0 {
		t.Fatalf("yaml: exit %d: %s", code, stderr)
	}
	y := readSnapshot(t, yfile)
	y.CapturedAt = ""
	yb, _ := json.Marshal(y)
	if !bytes.Equal(yb, gb) {
		t.Errorf("YAML snapshot differs from JSON:\n%s\n%s", yb, gb)
	}
}

func TestSnapshotPartialExits3(t *testing.T) {
	e := newLiveEnv(t)
	e.cloud.Faults.Deny = map[string]bool{aliyun.ActionDescribeSecurityGroupAttribute: true, aliyun.ActionDescribeNetworkInterfaces: true}
	file := filepath.Join(e.dir, "partial.json")
	code, stdout, stderr := run(e.args("-o", file)...)
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
			code, _, stderr := run(tc.args...)
			if code != ExitInput || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, tc.want)
			}
		})
	}
	t.Run("no credentials", func(t *testing.T) {
		t.Setenv(aliyun.EnvAccessKeyID, "")
		t.Setenv(aliyun.EnvAccessKeySecret, "")
		code, _, stderr := run(e.args("-o", filepath.Join(e.dir, "x.json"))...)
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
	if code, _, stderr := run(e.args("-o", plain)...); code != 0 {
		t.Fatal(stderr)
	}
	if code, _, stderr := run(e.args("-o", red, "--redact", "--redact-map", mapping)...); code != 0 {
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
