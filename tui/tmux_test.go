package tui_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gwdoctor/gwdoctor/collect/aliyun"
	"github.com/gwdoctor/gwdoctor/internal/fakecloud"
	"github.com/gwdoctor/gwdoctor/internal/testenv"
)

// tmuxSession runs a command in a detached tmux session on a private server
// (its own socket), so the test never touches the user's tmux.
type tmuxSession struct {
	t      *testing.T
	socket string
}

func (s *tmuxSession) tmux(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", s.socket}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (s *tmuxSession) capture() string { return s.tmux("capture-pane", "-p", "-t", "gwd") }

// send types keys: tmux key names (Enter, Down, Tab) or literal text.
func (s *tmuxSession) send(keys ...string) {
	s.tmux(append([]string{"send-keys", "-t", "gwd"}, keys...)...)
}

func (s *tmuxSession) literal(text string) { s.tmux("send-keys", "-t", "gwd", "-l", text) }

// waitFor polls the screen until every want is on it.
func (s *tmuxSession) waitFor(what string, wants ...string) string {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var screen string
	for time.Now().Before(deadline) {
		screen = s.capture()
		ok := true
		for _, w := range wants {
			if !strings.Contains(screen, w) {
				ok = false
				break
			}
		}
		if ok {
			return screen
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("%s: the screen never showed %q:\n%s", what, wants, screen)
	return ""
}

var buildOnce struct {
	sync.Once
	bin string
	err error
	out []byte
}

// gwdoctorBinary builds gwdoctor once for the package's terminal tests.
func gwdoctorBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gwdoctor-tui-test-")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.bin = filepath.Join(dir, "gwdoctor")
		buildOnce.out, buildOnce.err = exec.Command("go", "build", "-o", buildOnce.bin, "github.com/gwdoctor/gwdoctor/cmd/gwdoctor").CombinedOutput()
	})
	if buildOnce.err != nil {
		t.Fatalf("go build: %v\n%s", buildOnce.err, buildOnce.out)
	}
	return buildOnce.bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildOnce.bin != "" {
		os.RemoveAll(filepath.Dir(buildOnce.bin))
	}
	os.Exit(code)
}

// startTUI runs gwdoctor with args in a 120×40 tmux pane, in dir, with env
// (NAME=value), through a wrapper that writes the exit status to the
// returned file and keeps the pane for reading.
func startTUI(t *testing.T, dir string, env []string, args ...string) (*tmuxSession, string) {
	t.Helper()
	testenv.NeedTools(t, "tmux", "go")
	bin := gwdoctorBinary(t)
	rc := filepath.Join(dir, "exit-status")
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = fmt.Sprintf("%q", a)
	}
	script := fmt.Sprintf("cd %q && %q %s; echo $? > %q; sleep 60", dir, bin, strings.Join(quoted, " "), rc)
	s := &tmuxSession{t: t, socket: filepath.Join(dir, "tmux.sock")}
	cmd := []string{"-f", "/dev/null", "new-session", "-d", "-s", "gwd", "-x", "120", "-y", "40", "-e", "TERM=xterm-256color"}
	for _, e := range env {
		cmd = append(cmd, "-e", e)
	}
	s.tmux(append(cmd, "sh", "-c", script)...)
	t.Cleanup(func() { exec.Command("tmux", "-S", s.socket, "kill-server").Run() })
	return s, rc
}

// quitWithZero presses q and waits for the exit status 0.
func (s *tmuxSession) quitWithZero(rc string) {
	s.t.Helper()
	s.send("q")
	deadline := time.Now().Add(10 * time.Second)
	for {
		data, err := os.ReadFile(rc)
		if err == nil && strings.TrimSpace(string(data)) != "" {
			if got := strings.TrimSpace(string(data)); got != "0" {
				s.t.Fatalf("gwdoctor tui exited %s after q", got)
			}
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("gwdoctor tui did not exit after q:\n%s", s.capture())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestRealTerminal runs the gwdoctor binary's TUI on the demo under tmux at
// 120×40 and goes where a newcomer goes: find the service broken by the
// wrong node, read the cause and the command, copy it, export, quit with 0.
func TestRealTerminal(t *testing.T) {
	dir := t.TempDir()
	s, rc := startTUI(t, dir, nil, "tui", "--demo")

	screen := s.waitFor("first screen", "gw-demo3f9a", "SERVICES", "BROKEN", "shop/orders")
	if !strings.Contains(screen, "wrong-node") {
		t.Errorf("the services list does not name the wrong-node cause:\n%s", screen)
	}

	// Filter to the cause, open the service's findings, then the detail.
	s.send("/")
	s.literal("wrong-node")
	s.send("Enter")
	s.waitFor("filter", "SERVICES 1 of", "/wrong-node")
	s.send("Enter")
	s.waitFor("findings", "▶ FINDINGS shop/orders", "GWD102 wrong-node")
	s.send("Enter")
	screen = s.waitFor("detail", "▶ DETAIL GWD102 wrong-node", "BREAKS HERE", "aliyun mse AddSecurityGroupRule")
	for _, want := range []string{"BROKEN  shop/orders", "--region cn-hangzhou", "gw-demo3f9a --SecurityGroupId sg-pool-b", "Path", "Fix"} {
		if !strings.Contains(screen, want) {
			t.Errorf("detail screen lacks %q:\n%s", want, screen)
		}
	}

	s.send("c")
	s.waitFor("copy", "to the clipboard by OSC 52")
	s.send("e")
	screen = s.waitFor("export", "report exported as Markdown to")
	exports, _ := filepath.Glob(filepath.Join(dir, "gwdoctor-gw-demo3f9a-*.md"))
	if len(exports) != 1 {
		t.Fatalf("exports in %s: %v\n%s", dir, exports, screen)
	}
	if data, err := os.ReadFile(exports[0]); err != nil || !strings.Contains(string(data), "wrong-node") {
		t.Errorf("export %s: %v, wrong-node missing", exports[0], err)
	}

	s.send("?")
	s.waitFor("help", "How to read this screen")
	// Wait for esc to land before q: ESC and a key in the same read are alt+key.
	s.send("Escape")
	s.waitFor("help closed", "▶ DETAIL")
	s.quitWithZero(rc)
}

// TestRealTerminalLive runs gwdoctor tui --live under tmux against the fake
// Alibaba Cloud and Kubernetes APIs on loopback: the collection's steps and
// result appear, r collects again and compares, q exits 0.
func TestRealTerminalLive(t *testing.T) {
	dir := t.TempDir()
	c, k := fakecloud.Shop()
	cloud, kube := fakecloud.NewAliyun(c), fakecloud.NewKube(k)
	t.Cleanup(cloud.Close)
	t.Cleanup(kube.Close)
	kubeconfig, err := kube.WriteKubeconfig(dir, "prod")
	if err != nil {
		t.Fatal(err)
	}
	env := []string{
		"HOME=" + dir, "KUBECONFIG=",
		aliyun.EnvAccessKeyID + "=LTAI5tTuiTestKey01", aliyun.EnvAccessKeySecret + "=tui-secret-Never-Printed",
		aliyun.EnvECSMetadataDisabled + "=true", aliyun.EnvRegion + "=",
	}
	s, rc := startTUI(t, dir, env, "tui", "--live", "--aliyun-endpoint", cloud.URL, "--kubeconfig", kubeconfig,
		"--context", "prod", "--region", "cn-hangzhou", "--gateway", "gw-3f9a")
	screen := s.waitFor("collected", "gw-3f9a (prod-gateway)", "live cn-hangzhou/gw-3f9a", "▶ SERVICES", "BROKEN", "enter: its findings")
	if strings.Contains(screen, "tui-secret") {
		t.Fatalf("the secret is on screen:\n%s", screen)
	}
	calls := cloud.TotalCalls()
	s.send("r")
	s.waitFor("re-collected", "re-collected in")
	if cloud.TotalCalls() <= calls {
		t.Errorf("r did not call the cloud again (%d calls before, %d after)", calls, cloud.TotalCalls())
	}
	s.quitWithZero(rc)
}
