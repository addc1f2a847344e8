package probe

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestParseTargets(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"10.0.0.5:8080"}, "10.0.0.5:8080"},
		{[]string{"10.0.0.5:8000-8002"}, "10.0.0.5:8000 10.0.0.5:8001 10.0.0.5:8002"},
		{[]string{"10.0.0.5:443,80,8000-8001"}, "10.0.0.5:443 10.0.0.5:80 10.0.0.5:8000 10.0.0.5:8001"},
		{[]string{"[fd00::5]:8080"}, "[fd00::5]:8080"},
		{[]string{"[FD00:0::5]:1-2"}, "[fd00::5]:1 [fd00::5]:2"},
		{[]string{"[fe80::1%eth0]:22"}, "[fe80::1%eth0]:22"},
		{[]string{"Backend.Internal:5432", "b:1"}, "backend.internal:5432 b:1"},
		{[]string{"h:65535"}, "h:65535"},
	} {
		got, err := ParseTargets(tc.args)
		if err != nil {
			t.Errorf("ParseTargets(%q): %v", tc.args, err)
			continue
		}
		if s := targetsString(got); s != tc.want {
			t.Errorf("ParseTargets(%q) = %s, want %s", tc.args, s, tc.want)
		}
	}
}

func TestParseTargetsErrors(t *testing.T) {
	for _, tc := range []struct{ arg, want string }{
		{"", "empty target"},
		{"10.0.0.5", "missing port"},
		{"10.0.0.5:", "missing port after ':'"},
		{":80", "missing host"},
		{"fd00::5:80", "IPv6 addresses need brackets"},
		{"[fd00::5]", "missing port after ']'"},
		{"[fd00::5:80", "missing ']'"},
		{"[10.0.0.1]:80", "not an IPv6 address"},
		{"10.0.0.256:80", "not a valid IPv4 address"},
		{"10.0.0.5:0", "port 0 out of range 1-65535"},
		{"10.0.0.5:65536", "port 65536 out of range"},
		{"10.0.0.5:http", `port "http" is not a number`},
		{"10.0.0.5:90-80", "port range 90-80 is reversed"},
		{"10.0.0.5:80-", "empty port"},
		{"10.0.0.5:80,,81", "empty port in list"},
		{"10.0.0.5:+80", "is not a number"},
		{"bad_host!:80", "invalid character '!'"},
		{"-bad.example:80", "may not start or end with '-'"},
		{"a..b:80", "empty or over-long"},
	} {
		_, err := ParseTargets([]string{"ok:1", tc.arg})
		if err == nil {
			t.Errorf("ParseTargets(%q) succeeded, want error containing %q", tc.arg, tc.want)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, tc.want) || !strings.Contains(msg, fmt.Sprintf("argument 2 %q", tc.arg)) {
			t.Errorf("ParseTargets(%q) error = %q, want it to name argument 2 and contain %q", tc.arg, msg, tc.want)
		}
	}
}

func TestParseTargetsReportsEveryError(t *testing.T) {
	_, err := ParseTargets([]string{"a", "ok:1", "b:0", "c:x"})
	if err == nil {
		t.Fatal("want an error")
	}
	msg := err.Error()
	for _, want := range []string{"3 problems", `argument 1 "a"`, `argument 3 "b:0"`, `argument 4 "c:x"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
}

func TestParseTargetsLimit(t *testing.T) {
	defer func(old int) { targetLimit = old }(targetLimit)
	targetLimit = 1000
	if _, err := ParseTargets([]string{"a:1-600", "b:1-600"}); err == nil || !strings.Contains(err.Error(), `argument 2 "b:1-600": expands to too many targets in total (more than 1000)`) {
		t.Errorf("err = %v, want the target limit named", err)
	}
	if _, err := ParseTargetFile("t.txt", strings.NewReader("a:1-600\nb:1-600\n")); err == nil || !strings.Contains(err.Error(), "t.txt:2:") {
		t.Errorf("err = %v, want the target limit at t.txt:2", err)
	}
	if ts, err := ParseTargets([]string{"a:1-500", "b:1-500"}); err != nil || len(ts) != 1000 {
		t.Errorf("exactly the limit: %d targets, %v", len(ts), err)
	}
}

func TestParseTargetFile(t *testing.T) {
	const file = `# backends of shop/orders
10.0.0.5:8080   # primary
  10.0.0.6:8080 [fd00::7]:9000-9001

db.internal:5432
`
	got, err := ParseTargetFile("targets.txt", strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	want := "10.0.0.5:8080 10.0.0.6:8080 [fd00::7]:9000 [fd00::7]:9001 db.internal:5432"
	if s := targetsString(got); s != want {
		t.Errorf("got %s, want %s", s, want)
	}
}

func TestParseTargetFileErrors(t *testing.T) {
	const file = "10.0.0.5:8080\n\n10.0.0.6 # no port\n10.0.0.7:99999\n"
	_, err := ParseTargetFile("targets.txt", strings.NewReader(file))
	if err == nil {
		t.Fatal("want an error")
	}
	msg := err.Error()
	for _, want := range []string{`targets.txt:3: "10.0.0.6": missing port`, `targets.txt:4: "10.0.0.7:99999": port 99999 out of range`} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	var lines []string
	for i := range 50 {
		lines = append(lines, fmt.Sprintf("junk%d", i))
	}
	_, err = ParseTargetFile("junk.bin", strings.NewReader(strings.Join(lines, "\n")))
	if err == nil || !strings.Contains(err.Error(), "50 problems") || !strings.Contains(err.Error(), "… and 30 more errors") ||
		strings.Contains(err.Error(), "junk.bin:21:") {
		t.Errorf("50 bad lines: %v, want the first 20 and a count of the rest", err)
	}
}

func targetsString(ts []Target) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = t.String()
	}
	return strings.Join(s, " ")
}

// FuzzParseTargets checks that parsing never panics, that every target it
// returns is valid, and that a target's string form parses back to itself.
func FuzzParseTargets(f *testing.F) {
	for _, seed := range []string{"10.0.0.5:8080", "h:1-3", "[fd00::1]:80,443", "[fe80::1%eth0]:22", "a:", "[::1", "x:1-0", "host.example:65535"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		if strings.Count(spec, "-") > 0 && len(spec) > 64 {
			return // keep huge expansions out of the fuzzer's memory
		}
		targets, err := ParseTargets([]string{spec})
		if err != nil {
			return
		}
		for _, target := range targets {
			if target.Host == "" || target.Port < 1 || target.Port > 65535 {
				t.Fatalf("%q gave invalid target %+v", spec, target)
			}
			back, err := ParseTargets([]string{target.String()})
			if err != nil || len(back) != 1 || back[0] != target {
				t.Fatalf("%q: %v does not round-trip: %v, %v", spec, target, back, err)
			}
		}
	})
}

// FuzzParseTargetFile checks that any file content either parses into valid
// targets or fails with errors that name the file and a line.
func FuzzParseTargetFile(f *testing.F) {
	for _, seed := range []string{"10.0.0.5:8080 # c\n\n[fd00::1]:1-2\n", "#only\n", "a\nb:0\n", "\x00\xff:1\n", "h:1,2,3 h:4"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, content string) {
		if strings.Count(content, "-") > 0 && len(content) > 64 {
			return
		}
		targets, err := ParseTargetFile("f.txt", strings.NewReader(content))
		if err != nil {
			if !strings.Contains(err.Error(), "f.txt:") {
				t.Fatalf("error without file:line: %v", err)
			}
			return
		}
		for _, target := range targets {
			if target.Host == "" || target.Port < 1 || target.Port > 65535 {
				t.Fatalf("invalid target %+v", target)
			}
		}
	})
}

func TestRoundDuration(t *testing.T) {
	cases := []struct {
		in   time.Duration
		want string
	}{
		{412, "412ns"},
		{1_234_567, "1.23ms"},
		{45_678_000_000, "45.7s"},
		{123_456_789_000, "2m3.457s"},
	}
	for _, c := range cases {
		if got := RoundDuration(c.in).String(); got != c.want {
			t.Errorf("RoundDuration(%d) = %s, want %s", c.in, got, c.want)
		}
	}
}
