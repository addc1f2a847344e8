package verify

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gwdoctor/gwdoctor/diagnose"
)

// JUnit XML in the shape Jenkins (junit plugin), GitLab (artifacts:reports:junit)
// and most CI systems read: <testsuites> holding one <testsuite> whose
// <testcase classname name time> elements carry <failure>, <error> or
// <skipped> children with message and type attributes.

// JUnitSuites is the document root.
type JUnitSuites struct {
	XMLName  xml.Name `xml:"testsuites"`
	Name     string   `xml:"name,attr"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	// No skipped count here: Jenkins' junit-10.xsd allows it on
	// <testsuite> only (testdata/junit-10.xsd).
	Time   string       `xml:"time,attr"`
	Suites []JUnitSuite `xml:"testsuite"`
}

// JUnitSuite is one verification run.
type JUnitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []JUnitProperty `xml:"properties>property,omitempty"`
	Cases      []JUnitCase     `xml:"testcase"`
	SystemOut  string          `xml:"system-out,omitempty"`
}

// JUnitProperty is a name/value pair of the suite.
type JUnitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// JUnitCase is one endpoint (classname = service, name = ip:port) or one new
// error finding (classname = gwdoctor.findings).
type JUnitCase struct {
	ClassName string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *JUnitProblem `xml:"failure,omitempty"`
	Error     *JUnitProblem `xml:"error,omitempty"`
	Skipped   *JUnitSkipped `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

// JUnitProblem is a failure or an error: message and type attributes, details as text.
type JUnitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// JUnitSkipped marks a case that was not required.
type JUnitSkipped struct {
	Message string `xml:"message,attr"`
}

// FindingsClass is the classname of the test cases for new error findings.
const FindingsClass = "gwdoctor.findings"

// JUnit builds the document for v; elapsed is the whole run's duration and
// at the time it started.
func JUnit(v *Verification, elapsed time.Duration, at time.Time) *JUnitSuites {
	secs := fmt.Sprintf("%.3f", elapsed.Seconds())
	suite := JUnitSuite{Name: "gwdoctor verify", Time: secs, SystemOut: "warning: " + StatefulWarning}
	if !at.IsZero() {
		suite.Timestamp = at.UTC().Format("2006-01-02T15:04:05")
	}
	if v.Source != nil {
		suite.Name += " " + v.Source.Name
		suite.Properties = append(suite.Properties, JUnitProperty{Name: "source", Value: v.Source.Kind + " " + v.Source.Name})
	}
	if v.Baseline != nil {
		suite.Properties = append(suite.Properties, JUnitProperty{Name: "baseline", Value: v.Baseline.Name})
	}
	suite.Properties = append(suite.Properties,
		JUnitProperty{Name: "result", Value: v.Result},
		JUnitProperty{Name: "checks", Value: fmt.Sprint(v.Checks)})
	for _, e := range v.Endpoints {
		c := JUnitCase{ClassName: e.Service, Name: e.Endpoint, Time: "0"}
		detail := e.Why
		if e.Pod != "" {
			detail = "pod " + e.Pod + "; " + detail
		}
		if e.Baseline != "" {
			detail += "; baseline: " + e.Baseline
		}
		switch e.Status {
		case StatusFail:
			c.Failure = &JUnitProblem{Message: e.State + ": " + e.Cause, Type: e.State, Text: detail}
			suite.Failures++
		case StatusUndecidable:
			c.Error = &JUnitProblem{Message: "unknown: " + e.Cause, Type: "undecidable", Text: detail}
			suite.Errors++
		case StatusSkipped:
			c.Skipped = &JUnitSkipped{Message: e.Why}
			suite.Skipped++
		default:
			c.SystemOut = e.State + "; " + detail
		}
		suite.Cases = append(suite.Cases, c)
	}
	for _, f := range v.NewErrors {
		suite.Cases = append(suite.Cases, JUnitCase{ClassName: FindingsClass, Name: FindingCaseName(&f), Time: "0",
			Failure: &JUnitProblem{Message: f.Code + " " + f.Check + ": " + f.Message, Type: f.Check, Text: findingBody(&f)}})
		suite.Failures++
	}
	suite.Tests = len(suite.Cases)
	return &JUnitSuites{Name: "gwdoctor", Tests: suite.Tests, Failures: suite.Failures, Errors: suite.Errors,
		Time: secs, Suites: []JUnitSuite{suite}}
}

// FindingCaseName names a finding's test case so that CI tracks it across
// runs: code and slug, the services, and the grouping key (what the
// endpoints share: the ENI's groups, the rule, the port) — never the
// endpoint list, which changes with every rollout.
func FindingCaseName(f *diagnose.Finding) string {
	parts := []string{f.Code, f.Check}
	if len(f.Services) > 0 {
		parts = append(parts, strings.Join(f.Services, ","))
	}
	if f.Attribute != "" {
		parts = append(parts, "["+f.Attribute+"]")
	}
	return strings.Join(parts, " ")
}

// findingBody is the failure text: what is wrong, the evidence, and the
// fix with its commands, so the CI page says what to run.
func findingBody(f *diagnose.Finding) string {
	lines := []string{f.Message, "", "evidence:"}
	for _, e := range f.Evidence {
		lines = append(lines, "  - "+e)
	}
	if len(f.Remediation.Steps) > 0 || len(f.Remediation.Commands) > 0 {
		lines = append(lines, "", "fix:")
		for i, s := range f.Remediation.Steps {
			lines = append(lines, fmt.Sprintf("  %d. %s", i+1, s))
		}
		for _, c := range f.Remediation.Commands {
			lines = append(lines, "  $ "+c)
		}
	}
	return strings.Join(lines, "\n")
}

// WriteJUnit writes the document with the XML header.
func WriteJUnit(w io.Writer, doc *JUnitSuites) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
