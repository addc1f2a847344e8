package render

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/gwdoctor/gwdoctor/diagnose"
)

// JSON writes the report in the stable schema, streamed: the top level one
// field per line, then one endpoint row and one finding per line (grep- and
// jq-friendly, and a 100,000-endpoint report never exists in memory as
// text). Rows and findings are encoded by hand into a buffered writer; the
// small, rare parts go through encoding/json. The bytes equal
// encoding/json's (HTML not escaped) once whitespace is compacted: the
// test TestStreamedJSONEqualsEncodingJSON holds every field to that, so a
// field added to the report but not to this encoder fails it.
func JSON(w io.Writer, r *diagnose.Report) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	e := &jsonStream{w: bw, buf: make([]byte, 0, 4096)}
	e.raw("{\n  \"schemaVersion\": ")
	e.buf = strconv.AppendInt(e.buf, int64(r.SchemaVersion), 10)
	e.field("gateway", r.Gateway)
	if r.Source != nil {
		e.field("source", r.Source)
	}
	e.field("summary", r.Summary)
	e.field("causes", r.Causes)
	e.raw(",\n  \"endpoints\": ")
	if r.Endpoints == nil {
		e.raw("null")
	} else {
		e.raw("[")
		for i := range r.Endpoints {
			if i > 0 {
				e.raw(",")
			}
			e.raw("\n    ")
			e.endpoint(&r.Endpoints[i])
			e.flushIfFull()
		}
		e.close(len(r.Endpoints))
	}
	e.raw(",\n  \"findings\": ")
	if r.Findings == nil {
		e.raw("null")
	} else {
		e.raw("[")
		for i := range r.Findings {
			if i > 0 {
				e.raw(",")
			}
			e.raw("\n    ")
			e.finding(&r.Findings[i])
			e.flushIfFull()
		}
		e.close(len(r.Findings))
	}
	e.field("skipped", r.Skipped)
	if len(r.CheckErrors) > 0 {
		e.field("checkErrors", r.CheckErrors)
	}
	if r.Filter != nil {
		e.field("filter", r.Filter)
	}
	if r.Baseline != nil {
		e.field("baseline", r.Baseline)
	}
	e.raw("\n}\n")
	if e.err == nil {
		_, e.err = bw.Write(e.buf)
	}
	if e.err != nil {
		return e.err
	}
	return bw.Flush()
}

type jsonStream struct {
	w   *bufio.Writer
	buf []byte
	err error
}

func (e *jsonStream) raw(s string) { e.buf = append(e.buf, s...) }

func (e *jsonStream) flushIfFull() {
	if len(e.buf) < 32<<10 || e.err != nil {
		return
	}
	_, e.err = e.w.Write(e.buf)
	e.buf = e.buf[:0]
}

func (e *jsonStream) close(n int) {
	if n > 0 {
		e.raw("\n  ")
	}
	e.raw("]")
}

// field writes a top-level field through encoding/json (small parts only).
func (e *jsonStream) field(name string, v any) {
	e.raw(",\n  ")
	e.buf = appendJSONString(e.buf, name)
	e.raw(": ")
	e.buf = appendMarshal(e.buf, v)
}

func appendMarshal(b []byte, v any) []byte {
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only unsupported values fail (NaN, channels); the report has none.
		return append(b, "null"...)
	}
	return append(b, bytes.TrimRight(out.Bytes(), "\n")...)
}

// key writes ,"name": (the comma unless first).
func (e *jsonStream) key(first bool, name string) {
	if !first {
		e.buf = append(e.buf, ',')
	}
	e.buf = append(e.buf, '"')
	e.buf = append(e.buf, name...)
	e.buf = append(e.buf, '"', ':')
}

func (e *jsonStream) str(first bool, name, v string) {
	e.key(first, name)
	e.buf = appendJSONString(e.buf, v)
}

func (e *jsonStream) strOmit(name, v string) {
	if v != "" {
		e.str(false, name, v)
	}
}

func (e *jsonStream) strings(name string, xs []string) {
	e.key(false, name)
	e.buf = appendStrings(e.buf, xs)
}

func (e *jsonStream) stringsOmit(name string, xs []string) {
	if len(xs) > 0 {
		e.strings(name, xs)
	}
}

func (e *jsonStream) boolean(name string, v bool) {
	e.key(false, name)
	e.buf = strconv.AppendBool(e.buf, v)
}

func (e *jsonStream) integer(name string, v int) {
	e.key(false, name)
	e.buf = strconv.AppendInt(e.buf, int64(v), 10)
}

// endpoint encodes one row: fields in EndpointResult's order, omitempty as tagged.
func (e *jsonStream) endpoint(x *diagnose.EndpointResult) {
	e.buf = append(e.buf, '{')
	e.str(true, "service", x.Service)
	e.str(false, "ip", x.IP)
	e.integer("port", x.Port)
	e.strOmit("pod", x.Pod)
	e.strOmit("node", x.Node)
	e.strOmit("kind", x.Kind)
	e.strOmit("virtualNode", x.VirtualNode)
	e.strOmit("eni", x.ENI)
	e.stringsOmit("groups", x.Groups)
	e.strOmit("resolution", x.Resolution)
	e.boolean("ready", x.Ready)
	e.str(false, "config", x.Config)
	e.strOmit("reason", x.Reason)
	e.str(false, "probe", x.Probe)
	e.strOmit("probeFrom", x.ProbeFrom)
	if x.RTTMs != 0 {
		e.key(false, "rttMs")
		e.buf = appendFloat(e.buf, x.RTTMs)
	}
	e.strOmit("healthCheck", x.HealthCheck)
	e.strOmit("healthCheckAt", x.HealthCheckAt)
	if x.DecidedByHealthCheck {
		e.boolean("decidedByHealthCheck", true)
	}
	e.str(false, "verdict", x.Verdict)
	if x.DecidingRule != nil {
		e.key(false, "decidingRule")
		e.ruleID(x.DecidingRule)
	}
	e.stringsOmit("notes", x.Notes)
	if len(x.Pieces) > 0 { // rare: zone-partial endpoints only
		e.key(false, "pieces")
		e.buf = appendMarshal(e.buf, x.Pieces)
	}
	e.stringsOmit("findingIds", x.FindingIDs)
	e.buf = append(e.buf, '}')
}

func (e *jsonStream) ruleID(r *diagnose.RuleID) {
	e.buf = append(e.buf, '{')
	e.str(true, "securityGroupId", r.SecurityGroupID)
	e.strOmit("ruleId", r.RuleID)
	e.integer("index", r.Index)
	e.buf = append(e.buf, '}')
}

// finding encodes one finding: fields in Finding's order.
func (e *jsonStream) finding(f *diagnose.Finding) {
	e.buf = append(e.buf, '{')
	e.str(true, "id", f.ID)
	e.str(false, "code", f.Code)
	e.str(false, "check", f.Check)
	e.key(false, "severity")
	if f.Severity == nil {
		e.raw("null")
	} else {
		e.buf = appendJSONString(e.buf, f.Severity.String())
	}
	e.strings("subjects", f.Subjects)
	e.stringsOmit("services", f.Services)
	e.strOmit("attribute", f.Attribute)
	if a := f.Affected; a != nil {
		e.key(false, "affected")
		e.buf = append(e.buf, '{')
		e.key(true, "count")
		e.buf = strconv.AppendInt(e.buf, int64(a.Count), 10)
		e.strings("endpoints", a.Endpoints)
		e.buf = append(e.buf, '}')
	}
	e.str(false, "message", f.Message)
	e.strings("evidence", f.Evidence)
	if len(f.Chain) > 0 {
		e.key(false, "chain")
		e.buf = append(e.buf, '[')
		for i := range f.Chain {
			l := &f.Chain[i]
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.buf = append(e.buf, '{')
			e.str(true, "kind", l.Kind)
			e.str(false, "id", l.ID)
			e.strOmit("detail", l.Detail)
			if l.Broken {
				e.boolean("broken", true)
			}
			e.buf = append(e.buf, '}')
		}
		e.buf = append(e.buf, ']')
	}
	e.key(false, "remediation")
	e.buf = append(e.buf, '{')
	first := true
	if len(f.Remediation.Steps) > 0 {
		e.key(true, "steps")
		e.buf = appendStrings(e.buf, f.Remediation.Steps)
		first = false
	}
	if len(f.Remediation.Commands) > 0 {
		e.key(first, "commands")
		e.buf = appendStrings(e.buf, f.Remediation.Commands)
	}
	e.buf = append(e.buf, '}')
	e.strOmit("status", f.Status)
	e.buf = append(e.buf, '}')
}

func appendStrings(b []byte, xs []string) []byte {
	if xs == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as encoding/json does with HTML escaping off:
// quotes, backslashes and control characters escaped, U+2028/U+2029 too,
// invalid UTF-8 replaced by U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendFloat formats a float64 as encoding/json does (ES6 number format).
func appendFloat(b []byte, f float64) []byte {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return append(b, "null"...) // encoding/json would fail; never in a report
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}
