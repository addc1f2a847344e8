package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/gwdoctor/gwdoctor/internal/testenv"
	"github.com/gwdoctor/gwdoctor/lab"
)

// labMain runs gwdoctor in-process: exit code, stdout, stderr.
func labMain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errw bytes.Buffer
	code := Main(args, strings.NewReader(""), &out, &errw)
	return code, out.String(), errw.String()
}

func TestLabNeedsRoot(t *testing.T) {
	saved := labGeteuid
	labGeteuid = func() int { return 1000 }
	t.Cleanup(func() { labGeteuid = saved })
	good := filepath.Join(t.TempDir(), "good.yaml")
	os.WriteFile(good, []byte(labTestSnapshot("192.168.0.0/24")), 0o644)
	for _, args := range [][]string{{"lab", "up", good}, {"lab", "down"}, {"lab", "status"}} {
		code, _, errw := labMain(t, args...)
		if code != ExitInput || !strings.Contains(errw, "needs root") {
			t.Errorf("%v as non-root: exit %d, stderr %q; want exit 2 saying it needs root", args, code, errw)
		}
	}
}

// TestLabRejectsBadInput runs as a non-root user without ip or nft on PATH:
// bad input is reported as such whatever the machine lacks.
func TestLabRejectsBadInput(t *testing.T) {
	useLabStateDir(t)
	saved := labGeteuid
	labGeteuid = func() int { return 1000 }
	t.Cleanup(func() { labGeteuid = saved })
	t.Setenv("PATH", t.TempDir())
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("version: 1\ngateway: {id: gw, securityGroupId: sg-gw}\nnodez: []\n"), 0o644)
	ipv6 := filepath.Join(t.TempDir(), "v6.yaml")
	os.WriteFile(ipv6, []byte(labTestSnapshot("2001:db8::5")), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"lab", "up", bad}, "nodez"},
		{[]string{"lab", "up", ipv6}, "IPv6"},
		{[]string{"lab", "--prefix", "Bad_Prefix", "status"}, "--prefix"},
		{[]string{"lab", "status", "-o", "yaml"}, "want text or json"},
		{[]string{"lab", "--prefix", "gwnone-", "exec", "--", "true"}, "no lab with prefix gwnone-"},
	} {
		code, _, errw := labMain(t, c.args...)
		if code != ExitInput || !strings.Contains(errw, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 mentioning %q", c.args, code, errw, c.want)
		}
	}
}

// TestLabMissingToolsNamed: as root, a good snapshot on a machine without
// the lab's programs says which to install instead of failing obscurely.
func TestLabMissingToolsNamed(t *testing.T) {
	useLabStateDir(t)
	saved := labGeteuid
	labGeteuid = func() int { return 0 }
	t.Cleanup(func() { labGeteuid = saved })
	t.Setenv("PATH", t.TempDir())
	good := filepath.Join(t.TempDir(), "good.yaml")
	os.WriteFile(good, []byte(labTestSnapshot("192.168.0.0/24")), 0o644)
	code, _, errw := labMain(t, "lab", "up", good)
	if code != ExitInput || !strings.Contains(errw, "is not installed (apt-get install -y") {
		t.Errorf("lab up without ip/nft: exit %d, stderr %q; want exit 2 naming the package to install", code, errw)
	}
}

// TestLabExecResolvesGwdoctor: sudo resets PATH, so "gwdoctor" in a lab
// exec command and in the printed hint is this executable's path.
func TestLabExecResolvesGwdoctor(t *testing.T) {
	saved := selfExecutable
	t.Cleanup(func() { selfExecutable = saved })
	selfExecutable = func() (string, error) { return "/opt/my tools/gwdoctor", nil }
	if got := resolveSelf([]string{"gwdoctor", "diagnose", "x.yaml"}); strings.Join(got, "|") != "/opt/my tools/gwdoctor|diagnose|x.yaml" {
		t.Errorf("resolveSelf(gwdoctor …) = %q", got)
	}
	for _, other := range [][]string{{"bash"}, {"./gwdoctor", "x"}, {"ip", "addr"}} {
		if got := resolveSelf(other); strings.Join(got, "|") != strings.Join(other, "|") {
			t.Errorf("resolveSelf(%q) = %q: only a bare gwdoctor is replaced", other, got)
		}
	}
	t.Setenv("SUDO_USER", "alice")
	var out bytes.Buffer
	printLab(&out, labState{Info: lab.Info{Prefix: "gwlab-"}, Emulated: "/run/gwdoctor-lab/gwlab-.snapshot.yaml"})
	want := "probe as the gateway: sudo '/opt/my tools/gwdoctor' lab exec --prefix gwlab- -- gwdoctor diagnose /run/gwdoctor-lab/gwlab-.snapshot.yaml --probe\n"
	if !strings.HasSuffix(out.String(), want) {
		t.Errorf("lab hint:\n%s\nwant it to end with\n%s", out.String(), want)
	}
	// The hint must run as typed: a POSIX shell splits it into the words meant.
	line := strings.TrimPrefix(strings.TrimSpace(want), "probe as the gateway: ")
	split, err := exec.Command("sh", "-c", "set -- "+line+`; for w in "$@"; do printf '%s\n' "$w"; done`).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Split(strings.TrimSpace(string(split)), "\n"); len(got) < 2 || got[1] != "/opt/my tools/gwdoctor" {
		t.Errorf("the shell reads the hint as %q; want the executable path as one word", got)
	}
}

func useLabStateDir(t *testing.T) {
	saved := labStateDir
	labStateDir = t.TempDir()
	t.Cleanup(func() { labStateDir = saved })
}

func labTestSnapshot(gatewayAddress string) string {
	return `version: 1
gateway:
  id: gw-lab
  vpcId: vpc-a
  securityGroupId: sg-gw
  addresses: [` + gatewayAddress + `]
securityGroups:
  - id: sg-gw
    vpcId: vpc-a
  - id: sg-nodes
    vpcId: vpc-a
    innerAccessPolicy: drop
    rules:
      - {id: r1, direction: ingress, policy: accept, priority: 1, protocol: TCP, portRange: 8080/8080, sourceGroupId: sg-gw}
nodes:
  - name: node-1
    instanceId: i-1
    vpcId: vpc-a
    enis:
      - {id: eni-1, primary: true, ips: [10.1.1.10], securityGroupIds: [sg-nodes]}
services:
  - name: orders
    namespace: shop
    endpoints:
      - {ip: 10.1.1.10, port: 8080}
      - {ip: 10.1.1.10, port: 8081}
`
}

// TestLabUpExecStatusDown drives the commands as an engineer would, and
// checks the machine is left as found.
func TestLabUpExecStatusDown(t *testing.T) {
	testenv.NeedNetns(t)
	useLabStateDir(t)
	prefix := lab.ProcessPrefix() + "c-"
	t.Cleanup(func() { lab.Down(context.Background(), prefix) })
	before := labHostState(t, prefix)
	file := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(file, []byte(labTestSnapshot("10.0.0.5")), 0o644); err != nil {
		t.Fatal(err)
	}

	code, out, errw := labMain(t, "lab", "--prefix", prefix, "up", file)
	if code != 0 {
		t.Fatalf("lab up: exit %d: %s", code, errw)
	}
	for _, want := range []string{"10.1.1.10:8080", "eni-1", "listening", prefix + "gw"} {
		if !strings.Contains(out, want) {
			t.Errorf("lab up output lacks %q:\n%s", want, out)
		}
	}
	firstPIDs := labStatus(t, prefix).HelperPIDs

	// The gateway's namespace holds the gateway's address, and from there
	// the security group shows: 8080 is authorized, 8081 is not.
	code, out, errw = labMain(t, "lab", "--prefix", prefix, "exec", "--", "ip", "-4", "-br", "addr", "show", "dev", "eth0")
	if code != 0 || !strings.Contains(out, "10.0.0.5/32") {
		t.Errorf("lab exec ip addr: exit %d, out %q, stderr %q", code, out, errw)
	}
	code, out, _ = labMain(t, "lab", "--prefix", prefix, "exec", "--", "sh", "-c", "echo in $GWDOCTOR_LAB; exit 7")
	if !strings.Contains(out, "in "+prefix) {
		t.Errorf("lab exec must set GWDOCTOR_LAB to the prefix: %q", out)
	}
	if code != 7 {
		t.Errorf("lab exec keeps the command's exit code: got %d, want 7", code)
	}
	for port, want := range map[string]int{"8080": 0, "8081": 1} {
		// bash's /dev/tcp with a short timeout: 0 = connected, else timeout.
		code, _, _ := labMain(t, "lab", "--prefix", prefix, "exec", "--", "timeout", "0.5", "bash", "-c", "exec 3<>/dev/tcp/10.1.1.10/"+port)
		if (code == 0) != (want == 0) {
			t.Errorf("connect to 10.1.1.10:%s from the gateway: exit %d, want success=%v", port, code, want == 0)
		}
	}

	// Up again replaces the lab: same namespaces, new helpers, old ones gone.
	if code, _, errw := labMain(t, "lab", "--prefix", prefix, "up", file); code != 0 {
		t.Fatalf("second lab up: exit %d: %s", code, errw)
	}
	st := labStatus(t, prefix)
	if !st.Healthy || len(st.Namespaces) != 3 {
		t.Errorf("after the second up: %+v", st)
	}
	for _, pid := range firstPIDs {
		if syscall.Kill(pid, 0) == nil && !labZombie(pid) {
			t.Errorf("helper %d of the replaced lab still runs", pid)
		}
	}

	code, out, errw = labMain(t, "lab", "--prefix", prefix, "down")
	if code != 0 || !strings.Contains(out, "is down") {
		t.Fatalf("lab down: exit %d, out %q, stderr %q", code, out, errw)
	}
	for _, pid := range st.HelperPIDs {
		if syscall.Kill(pid, 0) == nil && !labZombie(pid) {
			t.Errorf("helper %d still runs after lab down", pid)
		}
	}
	if after := labHostState(t, prefix); after != before {
		t.Errorf("lab up/down changed the machine:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if left, _ := filepath.Glob(filepath.Join(labStateDir, "*")); len(left) > 0 {
		t.Errorf("lab down left state files: %v", left)
	}
	if code, out, _ := labMain(t, "lab", "--prefix", prefix, "down"); code != 0 || !strings.Contains(out, "no lab") {
		t.Errorf("lab down with nothing up: exit %d, out %q", code, out)
	}
}

type labStatusEntry struct {
	Prefix     string   `json:"prefix"`
	Namespaces []string `json:"namespaces"`
	HelperPIDs []int    `json:"helperPids"`
	Healthy    bool     `json:"healthy"`
}

func labStatus(t *testing.T, prefix string) labStatusEntry {
	t.Helper()
	code, out, errw := labMain(t, "lab", "--prefix", prefix, "status", "-o", "json")
	if code != 0 {
		t.Fatalf("lab status: exit %d: %s", code, errw)
	}
	var st struct{ Labs []labStatusEntry }
	if err := json.Unmarshal([]byte(out), &st); err != nil || len(st.Labs) != 1 {
		t.Fatalf("lab status -o json: %v\n%s", err, out)
	}
	return st.Labs[0]
}

// labHostState is what up/down must leave as found: namespaces with the
// prefix, and host links with names a lab uses (other engineers' tests may
// change other things meanwhile).
func labHostState(t *testing.T, prefix string) string {
	t.Helper()
	names, err := lab.Namespaces(context.Background(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("namespaces " + strings.Join(names, ",") + "\n")
	out, err := exec.Command("ip", "-o", "link", "show").CombinedOutput()
	if err != nil {
		t.Fatalf("ip link: %v: %s", err, out)
	}
	labLink := regexp.MustCompile(`^\d+: (br0|eth0|gw|n\d+|gwl[0-9a-z-]*)[@:]`)
	for _, line := range strings.Split(string(out), "\n") {
		if m := labLink.FindStringSubmatch(line); m != nil {
			b.WriteString("link " + m[1] + "\n")
		}
	}
	return b.String()
}

func labZombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] == 'Z'
}

func TestLabStatusNamesLeftovers(t *testing.T) {
	testenv.NeedNetns(t)
	useLabStateDir(t)
	prefix := lab.ProcessPrefix() + "z-"
	t.Cleanup(func() { lab.Down(context.Background(), prefix) })
	// What a crash halfway through lab up leaves; and a namespace that only
	// looks alike, which must stay.
	for _, ns := range []string{prefix + "br", prefix + "gw", prefix + "n0", prefix + "x-gw"} {
		if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
			t.Fatalf("ip netns add: %v: %s", err, out)
		}
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "delete", prefix+"x-gw").Run() })
	code, out, errw := labMain(t, "lab", "status")
	if code != 0 || !strings.Contains(out, "leftover lab "+prefix+" ") || !strings.Contains(out, "gwdoctor lab down --prefix "+prefix+"\n") {
		t.Errorf("lab status: exit %d, stderr %q, out:\n%s", code, errw, out)
	}
	if code, out, _ := labMain(t, "lab", "--prefix", prefix, "down"); code != 0 || !strings.Contains(out, "removed 3 namespaces") {
		t.Errorf("lab down of a leftover: exit %d: %s", code, out)
	}
	if names, _ := lab.Namespaces(context.Background(), prefix); len(names) > 0 {
		t.Errorf("left: %v", names)
	}
	if out, _ := exec.Command("ip", "netns", "list").Output(); !strings.Contains(string(out), prefix+"x-gw") {
		t.Errorf("lab down --prefix %s removed %sx-gw, which belongs to no lab of that prefix", prefix, prefix)
	}
}
