package verify

import (
	"bytes"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/internal/testenv"
)

func ep(svc, pod, ip string, port int, verdict string, ready bool) diagnose.EndpointResult {
	return diagnose.EndpointResult{Service: svc, Pod: pod, IP: ip, Port: port, Verdict: verdict, Ready: ready, Config: "deny", Reason: "default-deny"}
}

func finding(code string, sev diagnose.Severity, subjects ...string) diagnose.Finding {
	c, _ := diagnose.LookupCode(code)
	return diagnose.Finding{Code: code, Check: c.Slug, Severity: diagnose.Sev(sev), Subjects: subjects, Message: c.Title}
}

// report builds a report the way diagnose.Run leaves it (summary included)
// and, with a baseline, annotated the way the CLI annotates it.
func report(eps []diagnose.EndpointResult, fs []diagnose.Finding, base *diagnose.Report) *diagnose.Report {
	r := &diagnose.Report{Endpoints: eps, Findings: fs, Source: &diagnose.SourceInfo{Kind: "file", Name: "now.yaml"}}
	if r.Findings == nil {
		r.Findings = []diagnose.Finding{}
	}
	if base != nil {
		r.CompareBaseline(base, &diagnose.SourceInfo{Kind: "file", Name: "before.yaml"}, nil)
	}
	return r
}

func statuses(v *Verification) map[string]string {
	m := map[string]string{}
	for _, e := range v.Endpoints {
		m[e.Label()] = e.Status
	}
	return m
}

func TestEvaluateAgainstBaseline(t *testing.T) {
	base := report([]diagnose.EndpointResult{
		ep("shop/orders", "orders-1", "10.0.0.1", 8080, diagnose.VerdictReachable, true),
		ep("shop/cart", "cart-1", "10.0.0.2", 8080, diagnose.VerdictReachable, true),
		ep("shop/erp", "", "10.0.0.3", 8080, diagnose.VerdictBlocked, true),
		ep("shop/ads", "ads-1", "10.0.0.4", 8080, diagnose.VerdictReachable, true),
	}, []diagnose.Finding{finding(diagnose.CodeWrongNode, diagnose.Error, "shop/erp 10.0.0.3:8080")}, nil)

	cases := []struct {
		name   string
		cur    []diagnose.EndpointResult
		fs     []diagnose.Finding
		result string
		want   map[string]string
	}{
		{
			name: "everything that worked still works; erp still broken but not required",
			cur: []diagnose.EndpointResult{
				ep("shop/orders", "orders-1", "10.0.0.1", 8080, diagnose.VerdictReachable, true),
				ep("shop/cart", "cart-2", "10.0.0.9", 8080, diagnose.VerdictReachable, true), // rollout
				ep("shop/erp", "", "10.0.0.3", 8080, diagnose.VerdictBlocked, true),
				ep("shop/ads", "ads-1", "10.0.0.4", 8080, diagnose.VerdictReachable, true),
			},
			fs:     []diagnose.Finding{finding(diagnose.CodeWrongNode, diagnose.Error, "shop/erp 10.0.0.3:8080")},
			result: Pass,
			want: map[string]string{"shop/orders 10.0.0.1:8080": StatusPass, "shop/cart 10.0.0.9:8080": StatusPass,
				"shop/erp 10.0.0.3:8080": StatusSkipped, "shop/ads 10.0.0.4:8080": StatusPass},
		},
		{
			name: "a moved pod is blocked, a replacement not ready, a service emptied",
			cur: []diagnose.EndpointResult{
				ep("shop/orders", "orders-1", "10.0.1.1", 8080, diagnose.VerdictBlocked, true),
				ep("shop/cart", "cart-2", "10.0.0.9", 8080, diagnose.VerdictReachable, false),
				ep("shop/erp", "", "10.0.0.3", 8080, diagnose.VerdictBlocked, true),
			},
			fs:     []diagnose.Finding{finding(diagnose.CodeWrongNode, diagnose.Error, "shop/erp 10.0.0.3:8080"), finding(diagnose.CodeWrongNode, diagnose.Error, "shop/orders 10.0.1.1:8080")},
			result: Fail,
			want: map[string]string{"shop/orders 10.0.1.1:8080": StatusFail, "shop/cart 10.0.0.9:8080": StatusFail,
				"shop/erp 10.0.0.3:8080": StatusSkipped, "shop/ads 10.0.0.4:8080": StatusFail},
		},
		{
			name: "unknown where it must be reachable",
			cur: []diagnose.EndpointResult{
				ep("shop/orders", "orders-1", "10.0.0.1", 8080, diagnose.VerdictUnknown, true),
				ep("shop/cart", "cart-1", "10.0.0.2", 8080, diagnose.VerdictReachable, true),
				ep("shop/erp", "", "10.0.0.3", 8080, diagnose.VerdictUnknown, true),
				ep("shop/ads", "ads-1", "10.0.0.4", 8080, diagnose.VerdictReachable, true),
			},
			result: Undecidable,
			want: map[string]string{"shop/orders 10.0.0.1:8080": StatusUndecidable, "shop/cart 10.0.0.2:8080": StatusPass,
				"shop/erp 10.0.0.3:8080": StatusSkipped, "shop/ads 10.0.0.4:8080": StatusPass},
		},
		{
			name: "all reachable but a new error finding",
			cur: []diagnose.EndpointResult{
				ep("shop/orders", "orders-1", "10.0.0.1", 8080, diagnose.VerdictReachable, true),
				ep("shop/cart", "cart-1", "10.0.0.2", 8080, diagnose.VerdictReachable, true),
				ep("shop/ads", "ads-1", "10.0.0.4", 8080, diagnose.VerdictReachable, true),
			},
			fs:     []diagnose.Finding{finding(diagnose.CodeAuthorizationSync, diagnose.Error, "sg-a")},
			result: Fail,
			want: map[string]string{"shop/orders 10.0.0.1:8080": StatusPass, "shop/cart 10.0.0.2:8080": StatusPass,
				"shop/ads 10.0.0.4:8080": StatusPass},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := Evaluate(base, report(c.cur, c.fs, base))
			if v.Result != c.result || v.ExitCode() != map[string]int{Pass: 0, Fail: 1, Undecidable: 3}[c.result] {
				t.Errorf("result %s (exit %d), want %s", v.Result, v.ExitCode(), c.result)
			}
			got := statuses(v)
			if len(got) != len(c.want) {
				t.Errorf("endpoints %v, want %v", got, c.want)
			}
			for k, s := range c.want {
				if got[k] != s {
					t.Errorf("%s: %s, want %s", k, got[k], s)
				}
			}
			for _, e := range v.Endpoints {
				if (e.Status == StatusFail || e.Status == StatusUndecidable) && e.Cause == "" {
					t.Errorf("%s fails without a cause", e.Label())
				}
			}
			if len(v.Warnings) == 0 || !strings.Contains(v.Warnings[0], "910 s") {
				t.Errorf("the stateful-connection warning is missing: %v", v.Warnings)
			}
		})
	}
}

func TestEvaluateWithoutBaseline(t *testing.T) {
	cur := report([]diagnose.EndpointResult{
		ep("shop/orders", "orders-1", "10.0.0.1", 8080, diagnose.VerdictReachable, true),
		ep("shop/erp", "", "10.0.0.3", 8080, diagnose.VerdictBlocked, true),
	}, []diagnose.Finding{finding(diagnose.CodeWrongNode, diagnose.Error, "shop/erp 10.0.0.3:8080")}, nil)
	v := Evaluate(nil, cur)
	if v.Result != Fail || v.Summary.Required != 2 || v.Summary.NewErrors != 1 {
		t.Fatalf("without a baseline: %+v", v.Summary)
	}
	if e := v.Endpoints[1]; !strings.HasPrefix(e.Cause, "GWD102 wrong-node:") {
		t.Errorf("cause %q should name the finding about the endpoint", e.Cause)
	}
}

func TestTransitions(t *testing.T) {
	base := report([]diagnose.EndpointResult{ep("shop/orders", "orders-1", "10.0.0.1", 8080, diagnose.VerdictReachable, true)}, nil, nil)
	broken := report([]diagnose.EndpointResult{ep("shop/orders", "orders-1", "10.0.0.1", 8080, diagnose.VerdictBlocked, true)},
		[]diagnose.Finding{finding(diagnose.CodeWrongNode, diagnose.Error, "shop/orders")}, base)
	fixed := report([]diagnose.EndpointResult{ep("shop/orders", "orders-1", "10.0.0.1", 8080, diagnose.VerdictReachable, true)}, nil, base)
	got := Transitions(Evaluate(base, broken), Evaluate(base, fixed))
	want := []string{
		"endpoint shop/orders 10.0.0.1:8080: blocked → reachable",
		"finding GWD102 wrong-node on shop/orders fixed",
		"result: fail → pass",
	}
	if !slices.Equal(got, want) {
		t.Errorf("transitions %q, want %q", got, want)
	}
	if same := Transitions(Evaluate(base, fixed), Evaluate(base, fixed)); len(same) != 0 {
		t.Errorf("no change, yet %q", same)
	}
}

// junitDoc is the JUnit shape CI systems read, declared independently of
// the writer's types: Jenkins' junit plugin and GitLab read testsuites >
// testsuite > testcase[@classname,@name,@time] with failure/error/skipped
// children carrying @message and @type.
type junitDoc struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Errors   int    `xml:"errors,attr"`
		Skipped  int    `xml:"skipped,attr"`
		Time     string `xml:"time,attr"`
		Cases    []struct {
			ClassName string `xml:"classname,attr"`
			Name      string `xml:"name,attr"`
			Time      string `xml:"time,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Type    string `xml:"type,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
			Error *struct {
				Message string `xml:"message,attr"`
				Type    string `xml:"type,attr"`
			} `xml:"error"`
			Skipped *struct {
				Message string `xml:"message,attr"`
			} `xml:"skipped"`
		} `xml:"testcase"`
		SystemOut string `xml:"system-out"`
	} `xml:"testsuite"`
}

func TestJUnitShape(t *testing.T) {
	base := report([]diagnose.EndpointResult{
		ep("shop/orders", "orders-1", "10.0.0.1", 8080, diagnose.VerdictReachable, true),
		ep("shop/cart", "cart-1", "10.0.0.2", 8080, diagnose.VerdictReachable, true),
		ep("shop/erp", "", "10.0.0.3", 8080, diagnose.VerdictBlocked, true),
		ep("shop/pay", "pay-1", "10.0.0.4", 8443, diagnose.VerdictReachable, true),
	}, nil, nil)
	cur := report([]diagnose.EndpointResult{
		ep("shop/orders", "orders-1", "10.0.0.1", 8080, diagnose.VerdictBlocked, true),
		ep("shop/cart", "cart-1", "10.0.0.2", 8080, diagnose.VerdictReachable, true),
		ep("shop/erp", "", "10.0.0.3", 8080, diagnose.VerdictBlocked, true),
		ep("shop/pay", "pay-1", "10.0.0.4", 8443, diagnose.VerdictUnknown, true),
	}, []diagnose.Finding{
		finding(diagnose.CodeWrongNode, diagnose.Error, "shop/orders 10.0.0.1:8080"),
		finding(diagnose.CodeAuthorizationSync, diagnose.Error, "sg-a", "sg-a/sgr-1"),
	}, base)
	v := Evaluate(base, cur)
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, JUnit(v, 1500*time.Millisecond, time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC))); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), `<?xml version="1.0" encoding="UTF-8"?>`) {
		t.Errorf("no XML header:\n%s", buf.String())
	}
	var doc junitDoc
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, buf.String())
	}
	if len(doc.Suites) != 1 {
		t.Fatalf("%d suites", len(doc.Suites))
	}
	s := doc.Suites[0]
	// 4 endpoints + 2 new error findings (the wrong-node one names a
	// required endpoint too: the endpoint case and the finding case both fail).
	if s.Tests != 6 || len(s.Cases) != 6 || s.Failures != 3 || s.Errors != 1 || s.Skipped != 1 || s.Time != "1.500" {
		t.Errorf("suite counts tests=%d cases=%d failures=%d errors=%d skipped=%d time=%s", s.Tests, len(s.Cases), s.Failures, s.Errors, s.Skipped, s.Time)
	}
	if doc.Tests != s.Tests || doc.Failures != s.Failures || doc.Errors != s.Errors {
		t.Errorf("testsuites totals differ from the suite's")
	}
	if root, _, _ := strings.Cut(buf.String()[strings.Index(buf.String(), "<testsuites"):], ">"); strings.Contains(root, "skipped=") {
		t.Errorf("<testsuites> carries skipped, which junit-10.xsd rejects: %s", root)
	}
	byName := map[string]int{}
	for i, c := range s.Cases {
		byName[c.ClassName+" "+c.Name] = i
		if c.Time == "" || c.ClassName == "" || c.Name == "" {
			t.Errorf("case %+v lacks classname, name or time", c)
		}
	}
	orders := s.Cases[byName["shop/orders 10.0.0.1:8080"]]
	if orders.Failure == nil || orders.Failure.Type != "blocked" || !strings.HasPrefix(orders.Failure.Message, "blocked: GWD102 wrong-node") {
		t.Errorf("orders: %+v", orders.Failure)
	}
	if pay := s.Cases[byName["shop/pay 10.0.0.4:8443"]]; pay.Error == nil || !strings.HasPrefix(pay.Error.Message, "unknown: ") {
		t.Errorf("pay: %+v", pay.Error)
	}
	if erp := s.Cases[byName["shop/erp 10.0.0.3:8080"]]; erp.Skipped == nil || erp.Failure != nil {
		t.Errorf("erp: not required, must be skipped: %+v", erp)
	}
	if cart := s.Cases[byName["shop/cart 10.0.0.2:8080"]]; cart.Failure != nil || cart.Error != nil || cart.Skipped != nil {
		t.Errorf("cart passes: %+v", cart)
	}
	if f, ok := byName[FindingsClass+" GWD109 authorization-out-of-sync"]; !ok || s.Cases[f].Failure == nil {
		t.Errorf("no failing case for the new GWD109 finding: %v", byName)
	}
	if !strings.Contains(s.SystemOut, "910 s") {
		t.Errorf("suite system-out lacks the stateful warning: %q", s.SystemOut)
	}
}

// TestJUnitFindingCasesAreStable: a finding's test case is named by code,
// slug, services and grouping key, so the same cause keeps its name when
// its endpoints change (a rollout); the failure body carries the fix
// command.
func TestJUnitFindingCasesAreStable(t *testing.T) {
	sev := diagnose.Sev(diagnose.Error)
	mk := func(ips ...string) *diagnose.Finding {
		f := &diagnose.Finding{Code: diagnose.CodeWrongNode, Check: "wrong-node", Severity: sev, Services: []string{"shop/orders"},
			Attribute: "sg-pool-b", Message: "blocked", Evidence: []string{"node in sg-pool-b"},
			Remediation: diagnose.Remediation{Steps: []string{"authorize sg-pool-b"}, Commands: []string{"aliyun mse AddSecurityGroupRule --region cn-hangzhou --GatewayUniqueId gw-1 --SecurityGroupId sg-pool-b --PortRange 8080/8080"}}}
		for _, ip := range ips {
			f.Subjects = append(f.Subjects, "shop/orders "+ip+":8080")
		}
		return f
	}
	a, b := FindingCaseName(mk("10.0.0.1", "10.0.0.2")), FindingCaseName(mk("10.0.9.7"))
	if a != b || a != "GWD102 wrong-node shop/orders [sg-pool-b]" {
		t.Errorf("names %q and %q: want one stable name without endpoints", a, b)
	}
	other := mk("10.0.0.1")
	other.Attribute = "sg-pool-c"
	if FindingCaseName(other) == a {
		t.Errorf("two causes (sg-pool-b, sg-pool-c) share the name %q", a)
	}
	body := findingBody(mk("10.0.0.1"))
	for _, want := range []string{"blocked", "node in sg-pool-b", "1. authorize sg-pool-b", "$ aliyun mse AddSecurityGroupRule --region cn-hangzhou"} {
		if !strings.Contains(body, want) {
			t.Errorf("failure body lacks %q:\n%s", want, body)
		}
	}
}

// TestJUnitValidatesAgainstJenkinsXSD validates real output (every status:
// pass, failure, error, skipped, a finding case, properties, system-out)
// against Jenkins' junit-10.xsd (testdata/README.md says where it is from)
// with libxml2's xmllint: a real XSD validator, which Go's standard library
// lacks; CI installs it (libxml2-utils).
func TestJUnitValidatesAgainstJenkinsXSD(t *testing.T) {
	testenv.NeedTools(t, "xmllint")
	base := report([]diagnose.EndpointResult{
		ep("shop/orders", "orders-1", "10.0.0.1", 8080, diagnose.VerdictReachable, true),
		ep("shop/cart", "cart-1", "10.0.0.2", 8080, diagnose.VerdictReachable, true),
		ep("shop/erp", "", "10.0.0.3", 8080, diagnose.VerdictBlocked, true),
		ep("shop/pay", "pay-1", "10.0.0.4", 8443, diagnose.VerdictReachable, true),
	}, nil, nil)
	cur := report([]diagnose.EndpointResult{
		ep("shop/orders", "orders-1", "10.0.0.1", 8080, diagnose.VerdictBlocked, true),
		ep("shop/cart", "cart-1", "10.0.0.2", 8080, diagnose.VerdictReachable, true),
		ep("shop/erp", "", "10.0.0.3", 8080, diagnose.VerdictBlocked, true),
		ep("shop/pay", "pay-1", "10.0.0.4", 8443, diagnose.VerdictUnknown, true),
	}, []diagnose.Finding{
		finding(diagnose.CodeWrongNode, diagnose.Error, "shop/orders 10.0.0.1:8080 <&>\"'"),
	}, base)
	for name, v := range map[string]*Verification{"with baseline": Evaluate(base, cur), "without": Evaluate(nil, cur)} {
		var buf bytes.Buffer
		if err := WriteJUnit(&buf, JUnit(v, 1500*time.Millisecond, time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC))); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "junit.xml")
		os.WriteFile(path, buf.Bytes(), 0o644)
		out, err := exec.Command("xmllint", "--noout", "--schema", "testdata/junit-10.xsd", path).CombinedOutput()
		if err != nil {
			t.Errorf("%s: junit-10.xsd rejects the output: %v\n%s\n%s", name, err, out, buf.String())
		}
	}
	// The validator is not a rubber stamp: the old root attribute fails.
	bad := filepath.Join(t.TempDir(), "bad.xml")
	os.WriteFile(bad, []byte(`<testsuites skipped="1"><testsuite name="x" tests="0" failures="0" errors="0"/></testsuites>`), 0o644)
	if out, err := exec.Command("xmllint", "--noout", "--schema", "testdata/junit-10.xsd", bad).CombinedOutput(); err == nil {
		t.Errorf("xmllint accepted skipped on <testsuites>: %s", out)
	}
}
