package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gwdoctor/gwdoctor/diagnose"
)

var update = flag.Bool("update", false, "rewrite the golden files of the scenario tests")

// Scenario files (testdata/scenarios/NAME.yaml) carry their expectations in
// a leading comment block, read by this test:
//
//	# two lines telling the story
//	# expect: GWD102 GWD203     (every finding code, each once; "none" for none)
//	# exit: 1                   (the exit code of `gwdoctor diagnose FILE -o json`)
//	# args: --fail-on warning   (optional extra arguments)
//	# endpoint: NS/NAME IP:PORT VERDICT [CODE...]   (one line per endpoint)
//
// The endpoint lines state the truth independently of the code's output:
// per endpoint the verdict (reachable, blocked, unknown) and every code of
// an error or warning finding that names the endpoint among its subjects
// (for a blocked endpoint, its one root cause first), derived by hand from
// DESIGN.md and alibaba-semantics.md. TestScenarioTruth checks them against
// the report, apart from the golden files.
//
// The test runs each through the real CLI (Main, in-process) and asserts the
// exact set of codes, the exit code and the golden report NAME.golden.json
// (regenerate: go test ./internal/cli -run Scenarios -update).
type scenarioSpec struct {
	expect []string
	exit   int
	args   []string
	// endpoints is the stated truth by endpoint label ("ns/name ip:port"),
	// in file order.
	endpoints []endpointTruth
}

// endpointTruth is one "# endpoint:" line.
type endpointTruth struct {
	label   string
	verdict string
	codes   []string
}

func readScenarioSpec(t *testing.T, path string) scenarioSpec {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	spec := scenarioSpec{exit: -1}
	var sawExpect bool
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "#") {
			break
		}
		key, val, ok := strings.Cut(strings.TrimSpace(strings.TrimPrefix(line, "#")), ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		switch key {
		case "expect":
			sawExpect = true
			if val != "none" {
				spec.expect = strings.Fields(val)
			}
		case "exit":
			n, err := strconv.Atoi(val)
			if err != nil {
				t.Fatalf("%s: exit: %v", path, err)
			}
			spec.exit = n
		case "args":
			spec.args = strings.Fields(val)
		case "endpoint":
			fields := strings.Fields(val)
			if len(fields) < 3 {
				t.Fatalf("%s: %q: want '# endpoint: NS/NAME IP:PORT VERDICT [CODE...]'", path, line)
			}
			spec.endpoints = append(spec.endpoints, endpointTruth{label: fields[0] + " " + fields[1], verdict: fields[2], codes: fields[3:]})
		}
	}
	if !sawExpect || spec.exit < 0 {
		t.Fatalf("%s: the leading comment needs '# expect: CODES|none' and '# exit: N'", path)
	}
	return spec
}

// TestScenarioTruth checks every scenario's stated truth (its "# endpoint:"
// lines) against the report the CLI produces: every endpoint is stated, with
// its verdict and the exact set of error and warning codes naming it. It
// reads no golden file.
func TestScenarioTruth(t *testing.T) {
	t.Chdir("../..")
	files, err := filepath.Glob("testdata/scenarios/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		t.Run(name, func(t *testing.T) {
			spec := readScenarioSpec(t, path)
			var out, errw bytes.Buffer
			Main(append([]string{"diagnose", path, "-o", "json"}, spec.args...), strings.NewReader(""), &out, &errw)
			var r diagnose.Report
			if err := json.Unmarshal(out.Bytes(), &r); err != nil {
				t.Fatalf("not a report: %v\n%s", err, errw.String())
			}
			if len(spec.endpoints) == 0 {
				t.Fatalf("%s states no truth: add one '# endpoint: NS/NAME IP:PORT VERDICT [CODE...]' line per endpoint (testdata/scenarios/README.md)", path)
			}
			stated := map[string]endpointTruth{}
			for _, e := range spec.endpoints {
				if _, dup := stated[e.label]; dup {
					t.Errorf("endpoint %s stated twice", e.label)
				}
				stated[e.label] = e
			}
			for _, e := range r.Endpoints {
				label := e.Service + " " + diagnose.JoinHostPort(e.IP, e.Port)
				want, ok := stated[label]
				if !ok {
					t.Errorf("endpoint %s (verdict %s) is in the report but its truth is not stated", label, e.Verdict)
					continue
				}
				delete(stated, label)
				if e.Verdict != want.verdict {
					t.Errorf("endpoint %s: verdict %s, the truth is %s", label, e.Verdict, want.verdict)
				}
				var got []string
				for _, f := range r.Findings {
					if f.Level() >= diagnose.Warning && slices.Contains(f.Subjects, label) && !slices.Contains(got, f.Code) {
						got = append(got, f.Code)
					}
				}
				slices.Sort(got)
				wantCodes := slices.Sorted(slices.Values(want.codes))
				if !slices.Equal(got, wantCodes) {
					t.Errorf("endpoint %s: findings naming it %v, the truth is %v", label, got, wantCodes)
				}
				if want.verdict == diagnose.VerdictBlocked && (len(want.codes) == 0 || !slices.Contains(causeCodes, want.codes[0])) {
					t.Errorf("endpoint %s: a blocked endpoint's truth must name its root cause first (one of %v)", label, causeCodes)
				}
			}
			for label := range stated {
				t.Errorf("endpoint %s is stated but not in the report", label)
			}
		})
	}
}

// causeCodes explain why an endpoint is blocked; every blocked endpoint must
// be the subject of exactly one finding with one of them.
var causeCodes = []string{
	diagnose.CodeMissingAuthorization, diagnose.CodeWrongNode, diagnose.CodeMultipleGroups, diagnose.CodePortChanged,
	diagnose.CodeServiceDown, diagnose.CodeGroupTypeMismatch, diagnose.CodeDenyRuleShadows, diagnose.CodeVPCMismatch,
	diagnose.CodeAuthorizationSync, diagnose.CodeTrafficFiltered, diagnose.CodeGatewayEgress, diagnose.CodeZonePartial,
}

func TestScenarios(t *testing.T) {
	t.Chdir("../..")
	files, err := filepath.Glob("testdata/scenarios/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	seen := map[string]bool{}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		t.Run(name, func(t *testing.T) {
			spec := readScenarioSpec(t, path)
			var out, errw bytes.Buffer
			code := Main(append([]string{"diagnose", path, "-o", "json"}, spec.args...), strings.NewReader(""), &out, &errw)
			if code != spec.exit {
				t.Errorf("exit %d, want %d; stderr: %s", code, spec.exit, errw.String())
			}
			var r diagnose.Report
			if err := json.Unmarshal(out.Bytes(), &r); err != nil {
				t.Fatalf("not a report: %v\n%s", err, errw.String())
			}
			var got []string
			for _, f := range r.Findings {
				if !slices.Contains(got, f.Code) {
					got = append(got, f.Code)
				}
				seen[f.Code] = true
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(spec.expect))
			if !slices.Equal(got, want) {
				t.Errorf("codes %v, want exactly %v", got, want)
				for _, f := range r.Findings {
					t.Logf("  %s %s: %s", f.Code, f.Severity, f.Message)
				}
			}
			if len(r.CheckErrors) > 0 {
				t.Errorf("check errors: %+v", r.CheckErrors)
			}
			assertOneCausePerBlockedEndpoint(t, &r)
			if len(spec.expect) == 0 && (r.Summary.Errors > 0 || r.Summary.Warnings > 0) {
				t.Errorf("a healthy scenario has %d errors and %d warnings", r.Summary.Errors, r.Summary.Warnings)
			}
			golden := strings.TrimSuffix(path, ".yaml") + ".golden.json"
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			wantJSON, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run: go test ./internal/cli -run Scenarios -update)", err)
			}
			if !bytes.Equal(out.Bytes(), wantJSON) {
				t.Errorf("report differs from %s (review the diff, then -update):\n%s", golden, firstDiff(string(wantJSON), out.String()))
			}
		})
	}
	// Every catalog code has a scenario that triggers it.
	for _, c := range diagnose.Catalog {
		if !seen[c.ID] {
			t.Errorf("no scenario triggers %s %s", c.ID, c.Slug)
		}
	}
}

// assertOneCausePerBlockedEndpoint: a blocked endpoint is explained by the
// most specific cause, once.
func assertOneCausePerBlockedEndpoint(t *testing.T, r *diagnose.Report) {
	t.Helper()
	for _, e := range r.Endpoints {
		if e.Verdict != diagnose.VerdictBlocked {
			continue
		}
		label := e.Service + " " + diagnose.JoinHostPort(e.IP, e.Port)
		var causes []string
		for _, f := range r.Findings {
			if slices.Contains(causeCodes, f.Code) && f.Level() == diagnose.Error && slices.Contains(f.Subjects, label) {
				causes = append(causes, f.Code)
			}
		}
		if len(causes) != 1 {
			t.Errorf("blocked endpoint %s is explained by %v, want exactly one cause", label, causes)
		}
	}
}

// firstDiff shows the first differing line with a little context.
func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + strconv.Itoa(i+1) + ":\n  want: " + w + "\n  got:  " + g
		}
	}
	return "(only trailing differences)"
}
