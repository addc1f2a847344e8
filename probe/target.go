package probe

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/hashicorp/go-multierror"

	"github.com/gwdoctor/gwdoctor/internal/words"
)

// MaxTargets bounds how many targets the parsers expand, so a typo such as
// a thousand lines of host:1-65535 fails with an error instead of exhausting
// memory. Callers apply their own, usually lower, limit on top.
const MaxTargets = 1 << 20

// targetLimit is MaxTargets, lowered by tests.
var targetLimit = MaxTargets

// maxReportedErrors caps how many parse errors are listed (a binary file
// given by mistake would otherwise produce one per line).
const maxReportedErrors = 20

// Target is one TCP endpoint to probe. Host is an IP address literal (in
// canonical form, IPv6 without brackets, possibly with a zone) or a host name
// (lower case).
type Target struct {
	Host string
	Port int
}

// String formats the target as host:port, bracketing IPv6 addresses.
func (t Target) String() string { return net.JoinHostPort(t.Host, strconv.Itoa(t.Port)) }

// ParseTargets parses command-line target specifications:
//
//	host:port            10.0.0.5:8080, db.internal:5432
//	host:from-to         10.0.0.5:8000-8010
//	host:list            10.0.0.5:80,443,8000-8010
//	[v6]:port            [fd00::5]:8080, [fe80::1%eth0]:22
//
// Targets come back in the order given, ranges expanded in ascending order.
// Every bad argument is reported, each naming its position and text.
func ParseTargets(args []string) ([]Target, error) {
	var targets []Target
	var errs []error
	for i, arg := range args {
		got, err := parseSpec(arg, targetLimit-len(targets))
		if err != nil {
			if errors.Is(err, errTooMany) {
				err = fmt.Errorf("%w (more than %d)", err, targetLimit)
			}
			errs = append(errs, fmt.Errorf("argument %d %q: %w", i+1, arg, err))
			if errors.Is(err, errTooMany) {
				break
			}
			continue
		}
		targets = append(targets, got...)
	}
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	return targets, nil
}

// ParseTargetFile parses a target list: one or more target specifications
// (as for ParseTargets) per line, separated by spaces; blank lines and
// everything from a '#' to the end of a line are ignored. Every error names
// name:line.
func ParseTargetFile(name string, r io.Reader) ([]Target, error) {
	var targets []Target
	var errs []error
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	line := 0
scan:
	for sc.Scan() {
		line++
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		for _, field := range strings.Fields(text) {
			got, err := parseSpec(field, targetLimit-len(targets))
			if err != nil {
				if errors.Is(err, errTooMany) {
					err = fmt.Errorf("%w (more than %d)", err, targetLimit)
				}
				errs = append(errs, fmt.Errorf("%s:%d: %q: %w", name, line, field, err))
				if errors.Is(err, errTooMany) {
					break scan
				}
				continue
			}
			targets = append(targets, got...)
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("%s:%d: %w", name, line+1, err))
	}
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	return targets, nil
}

var errTooMany = errors.New("expands to too many targets in total")

// parseSpec parses one host:ports specification, expanding at most limit
// targets.
func parseSpec(spec string, limit int) ([]Target, error) {
	host, ports, err := splitSpec(spec)
	if err != nil {
		return nil, err
	}
	host, err = normalizeHost(host)
	if err != nil {
		return nil, err
	}
	var targets []Target
	for part := range strings.SplitSeq(ports, ",") {
		from, to, err := parsePortRange(part)
		if err != nil {
			return nil, err
		}
		if to-from+1 > limit-len(targets) {
			return nil, errTooMany
		}
		for p := from; p <= to; p++ {
			targets = append(targets, Target{Host: host, Port: p})
		}
	}
	return targets, nil
}

func splitSpec(spec string) (host, ports string, err error) {
	if spec == "" {
		return "", "", errors.New("empty target (want host:port or host:from-to)")
	}
	if strings.HasPrefix(spec, "[") {
		end := strings.IndexByte(spec, ']')
		if end < 0 {
			return "", "", errors.New("missing ']' after IPv6 address")
		}
		host, rest := spec[1:end], spec[end+1:]
		if !strings.HasPrefix(rest, ":") || rest == ":" {
			return "", "", errors.New("missing port after ']' (want [v6addr]:port)")
		}
		if _, err := netip.ParseAddr(host); err != nil || !strings.Contains(host, ":") {
			return "", "", fmt.Errorf("%q in brackets is not an IPv6 address", host)
		}
		return host, rest[1:], nil
	}
	i := strings.LastIndexByte(spec, ':')
	switch {
	case i < 0:
		return "", "", errors.New("missing port (want host:port or host:from-to)")
	case strings.Count(spec, ":") > 1:
		return "", "", errors.New("IPv6 addresses need brackets: [addr]:port")
	case i == 0:
		return "", "", errors.New("missing host before ':'")
	case i == len(spec)-1:
		return "", "", errors.New("missing port after ':'")
	}
	return spec[:i], spec[i+1:], nil
}

// normalizeHost canonicalises IP literals and lower-cases names, so the same
// host written two ways is resolved and reported once.
func normalizeHost(host string) (string, error) {
	if addr, err := netip.ParseAddr(host); err == nil {
		return addr.String(), nil
	}
	if looksLikeIPv4(host) {
		return "", fmt.Errorf("%q is not a valid IPv4 address", host)
	}
	if len(host) > 253 {
		return "", errors.New("host name longer than 253 characters")
	}
	for label := range strings.SplitSeq(strings.TrimSuffix(host, "."), ".") {
		if label == "" || len(label) > 63 {
			return "", fmt.Errorf("host %q: empty or over-long (>63) label", host)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return "", fmt.Errorf("host %q: a label may not start or end with '-'", host)
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", fmt.Errorf("host %q: invalid character %q", host, c)
			}
		}
	}
	return strings.ToLower(host), nil
}

// looksLikeIPv4 reports dotted digits, so "10.0.0.256" is called a bad
// address instead of being looked up as a host name.
func looksLikeIPv4(host string) bool {
	return strings.Trim(host, "0123456789.") == "" && strings.Contains(host, ".")
}

func parsePortRange(s string) (from, to int, err error) {
	if s == "" {
		return 0, 0, errors.New("empty port in list")
	}
	a, b, isRange := strings.Cut(s, "-")
	if from, err = parsePort(a); err != nil {
		return 0, 0, err
	}
	if !isRange {
		return from, from, nil
	}
	if to, err = parsePort(b); err != nil {
		return 0, 0, err
	}
	if to < from {
		return 0, 0, fmt.Errorf("port range %s is reversed (want from-to with from <= to)", s)
	}
	return from, to, nil
}

func parsePort(s string) (int, error) {
	if s == "" {
		return 0, errors.New("empty port (ports are 1-65535)")
	}
	n, err := strconv.Atoi(s)
	if err != nil || strings.ContainsAny(s, "+-") {
		return 0, fmt.Errorf("port %q is not a number", s)
	}
	if n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %d out of range 1-65535", n)
	}
	return n, nil
}

// joinErrors aggregates every problem into one error, one per line, capped
// at maxReportedErrors.
func joinErrors(errs []error) error {
	var result *multierror.Error
	for i, err := range errs {
		if i == maxReportedErrors {
			result = multierror.Append(result, fmt.Errorf("… and %s", words.Count(len(errs)-i, "more error", "more errors")))
			break
		}
		result = multierror.Append(result, err)
	}
	result.ErrorFormat = func(es []error) string {
		if len(es) == 1 {
			return es[0].Error()
		}
		lines := make([]string, len(es))
		for i, e := range es {
			lines[i] = e.Error()
		}
		return fmt.Sprintf("%d problems:\n  %s", len(errs), strings.Join(lines, "\n  ")) //words:never-one (one is returned above)
	}
	return result
}
