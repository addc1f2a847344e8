package tui_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// TestRealTerminal runs the gwdoctor binary's TUI on the demo under tmux at
// 120×40 and goes where a newcomer goes: find the service broken by the
// wrong node, read the cause and the command, copy it, export, quit with 0.
func TestRealTerminal(t *testing.T) {
	testenv.NeedTools(t, "tmux", "go")
	dir := t.TempDir()
	bin := filepath.Join(dir, "gwdoctor")
	build := exec.Command("go", "build", "-o", bin, "github.com/gwdoctor/gwdoctor/cmd/gwdoctor")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	rc := filepath.Join(dir, "exit-status")
	// The wrapper records the exit status, then keeps the pane so the
	// test can read it.
	script := fmt.Sprintf("cd %q && %q tui --demo; echo $? > %q; sleep 60", dir, bin, rc)
	s := &tmuxSession{t: t, socket: filepath.Join(dir, "tmux.sock")}
	s.tmux("-f", "/dev/null", "new-session", "-d", "-s", "gwd", "-x", "120", "-y", "40", "-e", "TERM=xterm-256color", "sh", "-c", script)
	t.Cleanup(func() { exec.Command("tmux", "-S", s.socket, "kill-server").Run() })

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
	for _, want := range []string{"BROKEN  shop/orders", "--GatewayUniqueId gw-demo3f9a", "--SecurityGroupId sg-pool-b", "Path", "Fix"} {
		if !strings.Contains(screen, want) {
			t.Errorf("detail screen lacks %q:\n%s", want, screen)
		}
	}

	s.send("c")
	s.waitFor("copy", "copied to the clipboard (OSC 52): aliyun mse AddSecurityGroupRule")
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
	s.send("q")
	deadline := time.Now().Add(10 * time.Second)
	for {
		data, err := os.ReadFile(rc)
		if err == nil && strings.TrimSpace(string(data)) != "" {
			if got := strings.TrimSpace(string(data)); got != "0" {
				t.Fatalf("gwdoctor tui exited %s after q", got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gwdoctor tui did not exit after q:\n%s", s.capture())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
