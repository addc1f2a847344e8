package snapshot

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestExampleYAMLAndJSONAreTheSameSnapshot(t *testing.T) {
	y, err := Load("testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	j, err := Load("testdata/example.json")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(y, j) {
		t.Fatalf("example.yaml and example.json differ:\n%+v\n%+v", y, j)
	}
	if y.Gateway.ID != "gw-3f9a" || len(y.Services[0].Endpoints) != 1 || !y.Services[0].Endpoints[0].IsReady() ||
		!y.Services[0].HealthCheck.IsEnabled() || y.Services[0].HealthCheck.Status != HealthHealthy {
		t.Fatalf("example content not read: %+v", y)
	}
}

// trickySnapshot holds strings a YAML writer can get wrong.
func trickySnapshot() *Snapshot {
	s := genSnapshot(3, 4, 3, 2, 3)
	no := false
	s.Services[0].Endpoints[0].Ready = &no
	s.Services[1].Endpoints[1].Ready = nil
	on, off := true, false
	s.Services[0].HealthCheck = &HealthCheck{Enabled: &on, Status: HealthUnhealthy,
		UnhealthyEndpoints: []string{s.Services[0].Endpoints[1].IP + ":8080", "[fd00::1]:443"}, At: "2026-11-28T10:00:02+08:00"}
	s.Services[1].HealthCheck = &HealthCheck{Enabled: &off}
	for i, d := range []string{"", "true", "null", "~", "123", "0x10", "1e3", "-1/-1", ": x", "a: b", "#c", " lead", "trail ",
		"it's", `say "hi"`, "back\\slash", "line\nbreak", "tab\there", "\x00nul\x7f", "负载均衡", "emoji 🚀", "\u2028sep\u0085", "yes", "No", "[x]", "{y}", "*a", "&b", "!t", "|", ">", "%d", "@", "`"} {
		s.SecurityGroups[i%3].Rules[i%4].Description = d
		s.SecurityGroups[i%3].Name = d
	}
	s.Probes = []Probe{{Target: "[fd00::1]:443", State: "filtered", RTTMs: 1e21, At: "2026-11-28T10:00:05+08:00", Attempts: 3, Error: "i/o timeout"},
		{Target: "svc.local:80", State: "open", RTTMs: 5e-7}}
	s.Missing = []MissingPart{{Part: PartProbes, IDs: []string{"a", "b"}, Error: "forbidden", Action: "ecs:DescribeInstances"}}
	return s
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    *Snapshot
	}{{"example", mustLoad(t, "testdata/example.yaml")}, {"tricky strings", trickySnapshot()}, {"generated", genSnapshot(10, 10, 20, 5, 8)}} {
		if err := tc.s.Validate(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for _, f := range []Format{JSON, YAML} {
			out, err := Marshal(tc.s, f)
			if err != nil {
				t.Fatal(err)
			}
			back, err := Parse("round."+f.String(), out)
			if err != nil {
				t.Fatalf("%s %v: %v\n%s", tc.name, f, err, out)
			}
			if !reflect.DeepEqual(tc.s, back) {
				t.Fatalf("%s %v: round trip changed the snapshot\n%s", tc.name, f, out)
			}
			again, _ := Marshal(back, f)
			if !bytes.Equal(out, again) {
				t.Fatalf("%s %v: second encoding differs", tc.name, f)
			}
		}
	}
}

func mustLoad(t *testing.T, path string) *Snapshot {
	t.Helper()
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The fast block-style reader and goccy/go-yaml must read a Marshal-ed
// snapshot identically; this also proves Marshal output takes the fast path.
func TestMarshalledYAMLTakesTheFastPath(t *testing.T) {
	out, err := Marshal(trickySnapshot(), YAML)
	if err != nil {
		t.Fatal(err)
	}
	fast, err := parseFastYAML(out)
	if err != nil {
		t.Fatalf("fast reader gave up on Marshal output: %v", err)
	}
	slow, _, err := parseYAMLTree(out)
	if err != nil {
		t.Fatal(err)
	}
	if d := treeDiff(fast, slow, ""); d != "" {
		t.Fatalf("readers disagree: %s", d)
	}
}

func TestMalformedInput(t *testing.T) {
	example, err := os.ReadFile("testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	exampleJSON, err := os.ReadFile("testdata/example.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string // the whole error text
	}{
		{"empty", nil, "x: 1 problem:\nx: the file is empty; expected a snapshot (YAML or JSON) starting with version: 1"},
		{"blank", []byte(" \n\t\n"), "x: 1 problem:\nx: the file is empty; expected a snapshot (YAML or JSON) starting with version: 1"},
		{"comments only", []byte("# nothing\n# here\n"), "x: 1 problem:\nx: the file holds no YAML document (only comments?); expected a snapshot starting with version: 1"},
		{"binary", []byte("version: 1\n\xff\xfe\x00\x01"), "x: 1 problem:\nx:2: the file contains NUL bytes (a binary file?); expected a YAML or JSON snapshot"},
		{"not UTF-8", []byte("version: 1\nregion: \xff\n"), "x: 1 problem:\nx:2: the file is not UTF-8 text (a binary file?); expected a YAML or JSON snapshot"},
		{"truncated YAML", example[:bytes.Index(example, []byte(`description: "mse gateway`))+20],
			"x: 1 problem:\nx:39: invalid YAML: could not find end character of double-quoted text"},
		{"truncated JSON", exampleJSON[:bytes.Index(exampleJSON, []byte(`"nodes"`))],
			"x: 1 problem:\nx:58: invalid JSON: unexpected end of file inside an object; the JSON document is truncated"},
		{"JSON syntax", []byte("{\n  \"version\": 1,\n  \"gateway\": {\"id\": \"gw\",}\n}"),
			"x: 1 problem:\nx:3: invalid JSON: unexpected '}'; expected a quoted key"},
		{"JSON trailing data", []byte(`{"version": 1} {}`), "x: 1 problem:\nx:1: invalid JSON: unexpected '{' after the end of the JSON document"},
		{"deep YAML", []byte("version: " + strings.Repeat("[", 100000)), "x: 1 problem:\nx:1: "},
		{"deep JSON", []byte("{\"a\":" + strings.Repeat("[", 100000)), "x: 1 problem:\nx:1: invalid JSON: nested more than 64 levels deep"},
		{"two YAML documents", []byte("version: 1\n---\nversion: 1\n"), "x: 1 problem:\nx:3: a second YAML document; a snapshot file holds exactly one"},
		{"scalar document", []byte("hello\n"), "x: 1 problem:\nx:1: the top level is the string \"hello\"; expected an object with version: 1, gateway: …"},
		{"tab indentation", []byte("version: 1\ngateway:\n\tid: x\n"), ""},
		{"alias bomb", aliasBomb(), "x: 3 problems:\nx:4: region: expected a string, got a list\nx:4: nodes[24].enis[145].ips[120]: too many values after expanding YAML aliases; the file expands far beyond its size (an alias bomb?)\nx:5: capturedAt: expected a string, got a list"},
		{"unknown YAML tag", []byte("version: !custom 1\n"), "x: 1 problem:\nx:1: unsupported YAML tag !custom; a snapshot uses plain values"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse("x", tc.data)
			if err == nil || s != nil {
				t.Fatalf("got %v, %v; want an error and no snapshot", s, err)
			}
			if len(Problems(err)) == 0 {
				t.Fatalf("no problems in %v", err)
			}
			if tc.want != "" && !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("error:\n%s\nwant:\n%s", err, tc.want)
			}
		})
	}
}

// aliasBomb expands to 200^3 values if followed naively.
func aliasBomb() []byte {
	rep := func(item string) string { return "[" + strings.TrimSuffix(strings.Repeat(item+", ", 200), ", ") + "]" }
	return []byte("version: 1\ngateway: {id: gw, securityGroupId: sg}\nsecurityGroups: [{id: sg}]\n" +
		"region: &ips " + rep("10.0.0.1") + "\n" +
		"capturedAt: &enis " + rep("{id: e, ips: *ips}") + "\n" +
		"nodes: " + rep("{name: n, enis: *enis}") + "\n")
}

func TestManyProblemsAtOnce(t *testing.T) {
	for _, name := range []string{"testdata/bad/many.yaml", "testdata/bad/many.json"} {
		_, err := Load(name)
		want, rerr := os.ReadFile(name + ".err")
		if rerr != nil {
			t.Fatal(rerr)
		}
		if err == nil || err.Error()+"\n" != string(want) {
			t.Errorf("%s: error:\n%v\nwant:\n%s", name, err, want)
		}
	}
}

func TestValidateInMemory(t *testing.T) {
	s := &Snapshot{Version: 1, Gateway: Gateway{ID: "gw", SecurityGroupID: "sg-x"},
		SecurityGroups: []SecurityGroup{{ID: "sg-x", Rules: []Rule{{Direction: "ingress", PortRange: "80-81"}}}}}
	err := s.Validate()
	ps := Problems(err)
	if len(ps) != 1 || ps[0].Line != 0 || ps[0].File != "" || ps[0].Path != "securityGroups[0].rules[0].portRange" {
		t.Fatalf("problems = %+v", ps)
	}
	want := "snapshot: 1 problem:\nsecurityGroups[0].rules[0].portRange: \"80-81\" is not START/END; write \"80/81\""
	if err.Error() != want {
		t.Fatalf("error:\n%s\nwant:\n%s", err, want)
	}
	s.SecurityGroups[0].Rules[0].PortRange = "80/81"
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if s.SecurityGroups[0].Type != GroupTypeNormal || s.SecurityGroups[0].Rules[0].Protocol != ProtocolTCP {
		t.Fatalf("Validate did not normalise: %+v", s.SecurityGroups[0])
	}
}

func TestSaveAndLoad(t *testing.T) {
	dir := t.TempDir()
	s := mustLoad(t, "testdata/example.yaml")
	for _, name := range []string{"a.json", "b.yaml", "c.YML"} {
		path := filepath.Join(dir, name)
		if err := Save(path, s); err != nil {
			t.Fatal(err)
		}
		back := mustLoad(t, path)
		if !reflect.DeepEqual(s, back) {
			t.Fatalf("%s: saved snapshot differs", name)
		}
	}
	if err := Save(filepath.Join(dir, "d.txt"), s); err == nil || !strings.Contains(err.Error(), ".json, .yaml or .yml") {
		t.Fatalf("unknown extension: %v", err)
	}
	if err := Save(filepath.Join(dir, "missing-dir", "e.json"), s); err == nil {
		t.Fatal("saving into a missing directory succeeded")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Fatalf("temporary file left behind: %s", e.Name())
		}
	}
}

func TestLoadErrors(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v does not wrap fs.ErrNotExist", err)
	}
	if !strings.Contains(err.Error(), "nope.yaml: cannot read the snapshot: no such file or directory") {
		t.Fatalf("missing file: %v", err)
	}
	// A sparse file just over the limit is refused before it is read.
	big := filepath.Join(t.TempDir(), "big.json")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = Load(big)
	if err == nil || !strings.Contains(err.Error(), "snapshots larger than 256 MiB are refused") {
		t.Fatalf("oversized file: %v", err)
	}
}

// Fifty megabytes of valid content, and of garbage, load or fail cleanly.
func TestFiftyMegabyteFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("large files") //testenv:not-environment (-short asked for it)
	}
	dir := t.TempDir()
	s := largeSnapshot()
	valid := filepath.Join(dir, "valid.json")
	if err := Save(valid, s); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(valid); st.Size() < 45<<20 {
		t.Fatalf("generated file is only %d bytes", st.Size())
	}
	start := time.Now()
	got := mustLoad(t, valid)
	t.Logf("valid.json: %v", time.Since(start))
	if len(got.Services)*len(got.Services[0].Endpoints) != 100_000 {
		t.Fatal("large snapshot lost endpoints")
	}

	// Garbage text: 50 MB of lines that are no snapshot.
	line := []byte("lorem ipsum: [dolor, {sit: amet}] consectetur # adipiscing\n")
	garbage := bytes.Repeat(line, 50<<20/len(line))
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"garbage.yaml", garbage, "garbage.yaml:1: this 50.0 MiB YAML file uses a construct outside the block style gwdoctor writes"},
		{"garbage.json", append([]byte("{"), garbage...), "garbage.json:1: invalid JSON: unexpected 'l'; expected a quoted key"},
		{"endless.yaml", bytes.Repeat([]byte("a: b\n"), 2<<20), "endless.yaml: 10001 problems:\nendless.yaml: stopped after 10000 problems; the rest was not checked: fix these first\nendless.yaml:1: a: unknown key \"a\""},
	} {
		path := filepath.Join(dir, tc.name)
		if err := os.WriteFile(path, tc.data, 0o644); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err := Load(path)
		t.Logf("%s: %v", tc.name, time.Since(start))
		if err == nil {
			t.Fatalf("%s loaded", tc.name)
		}
		msg := strings.ReplaceAll(err.Error(), dir+"/", "")
		if !strings.Contains(msg, tc.want) {
			t.Fatalf("%s: %.600s\nwant it to contain: %s", tc.name, msg, tc.want)
		}
	}
}

func TestErrorOutputIsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: 1\ngateway: {id: gw, securityGroupId: sg}\nsecurityGroups:\n  - id: sg\n    rules:\n")
	for i := 0; i < 2000; i++ {
		b.WriteString("      - {direction: sideways}\n")
	}
	_, err := Parse("many.yaml", []byte(b.String()))
	if n := len(Problems(err)); n != 4000 {
		t.Fatalf("%d problems, want 4000 (direction and portRange per rule)", n)
	}
	text := err.Error()
	if lines := strings.Count(text, "\n"); lines > maxPrintedProblems+2 {
		t.Fatalf("error text has %d lines", lines)
	}
	if !strings.HasPrefix(text, "many.yaml: 4000 problems:\n") || !strings.HasSuffix(text, "… and 3500 more problems") {
		t.Fatalf("error text: %.200s … %s", text, text[len(text)-80:])
	}
}
