package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gwdoctor/gwdoctor/collect/aliyun"
	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/internal/fakecloud"
)

// diagnose --live against an ACK cluster with a virtual node (the
// Serverless fake): the ECI pod whose annotation names an unauthorized group
// is blocked and explained as an ECI pod (its group, the annotation, that a
// running pod's group cannot change; no node-pool advice), the node-pool pod
// keeps the node wording, and the eci-profile default that changed to an
// unauthorized group is warned about (GWD304).
func TestDiagnoseLiveServerless(t *testing.T) {
	e := newLiveEnv(t) // credentials, HOME and KUBECONFIG as for Shop
	c, k := fakecloud.Serverless()
	e.cloud, e.kube = fakecloud.NewAliyun(c), fakecloud.NewKube(k)
	t.Cleanup(e.cloud.Close)
	t.Cleanup(e.kube.Close)
	var err error
	if e.kubeconfig, err = e.kube.WriteKubeconfig(e.dir, "prod"); err != nil {
		t.Fatal(err)
	}
	args := e.liveArgs("diagnose", "-o", "json")
	for i := range args {
		if args[i] == "gw-3f9a" {
			args[i] = c.GatewayID
		}
	}
	code, out, stderr := runLive(args...)
	if code != ExitFindings {
		t.Fatalf("exit %d, want %d; stderr: %s", code, ExitFindings, stderr)
	}
	var r diagnose.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	verdicts := map[string]string{}
	for _, ep := range r.Endpoints {
		verdicts[ep.IP] = ep.Verdict
	}
	for ip, want := range map[string]string{"172.20.1.10": "reachable", "172.20.5.7": "blocked", "172.20.5.8": "reachable"} {
		if verdicts[ip] != want {
			t.Errorf("%s: verdict %q, want %q", ip, verdicts[ip], want)
		}
	}
	var sawECI, sawDrift bool
	for _, f := range r.Findings {
		text := strings.Join(append(append([]string{f.Message}, f.Evidence...), f.Remediation.Steps...), "\n")
		switch f.Code {
		case diagnose.CodeWrongNode:
			sawECI = true
			for _, want := range []string{"ECI pod orders-eci-1", "eci-2ze1", "virtual-kubelet-cn-hangzhou-h", "sg-eci", "k8s.aliyun.com/eci-security-group", "cannot be changed"} {
				if !strings.Contains(text, want) {
					t.Errorf("ECI finding does not say %q:\n%s", want, text)
				}
			}
			for _, bad := range []string{"node pool", "affinity", "node selector"} {
				if strings.Contains(strings.ToLower(text), bad) {
					t.Errorf("ECI finding says %q:\n%s", bad, text)
				}
			}
			if !strings.Contains(strings.Join(f.Remediation.Commands, "\n"), "--SecurityGroupId sg-eci ") {
				t.Errorf("no command authorizing sg-eci: %v", f.Remediation.Commands)
			}
		case diagnose.CodeServerlessDrift:
			sawDrift = true
			if !strings.Contains(f.Message, "sg-eci-new") || !strings.Contains(text, "eci-profile") {
				t.Errorf("drift finding does not name the new default and its source:\n%s", text)
			}
		}
	}
	if !sawECI || !sawDrift {
		t.Errorf("findings: ECI wrong-node %v, serverless-default-drift %v; got %+v", sawECI, sawDrift, r.Findings)
	}

	// Without the permission to read the ConfigMap and the cluster's
	// detail the run goes on: the parts are reported, the ECI pod is still
	// explained, and the drift cannot be told (no default known).
	e.kube.Deny["configmaps"] = true
	e.cloud.Faults.Deny = map[string]bool{aliyun.ActionDescribeClusterDetail: true}
	code, out, stderr = runLive(args...)
	if code != ExitFindings {
		t.Fatalf("forbidden defaults: exit %d, want %d; stderr: %s", code, ExitFindings, stderr)
	}
	if !strings.Contains(stderr, "configmaps") || !strings.Contains(stderr, aliyun.ActionDescribeClusterDetail) {
		t.Errorf("stderr does not report the unread defaults: %s", stderr)
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	for _, f := range r.Findings {
		if f.Code == diagnose.CodeServerlessDrift {
			t.Errorf("drift reported without a known default: %s", f.Message)
		}
	}
}
