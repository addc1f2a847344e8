package snapshot

import (
	"fmt"
	"strconv"
	"strings"
)

// PortRange is a parsed "START/END" port range. The ECS form "-1/-1" (all
// ports, used with ICMP, GRE and ALL) is represented by All.
type PortRange struct {
	Start, End int
	All        bool
}

// AllPorts is the "-1/-1" range.
var AllPorts = PortRange{Start: -1, End: -1, All: true}

// ParsePortRange parses "START/END" with 1 <= START <= END <= 65535, or "-1/-1".
// The error says what was expected, for the validator to place on a line.
func ParsePortRange(s string) (PortRange, error) {
	s = strings.TrimSpace(s)
	start, end, ok := strings.Cut(s, "/")
	if !ok {
		if strings.Contains(s, "-") && !strings.HasPrefix(s, "-") {
			return PortRange{}, fmt.Errorf("%q is not START/END; write %q", s, strings.Replace(s, "-", "/", 1))
		}
		return PortRange{}, fmt.Errorf("%q is not START/END (e.g. 8080/8080, 1/65535, or -1/-1 for all ports)", s)
	}
	if start == "-1" && end == "-1" {
		return AllPorts, nil
	}
	lo, err1 := strconv.Atoi(start)
	hi, err2 := strconv.Atoi(end)
	if err1 != nil || err2 != nil {
		return PortRange{}, fmt.Errorf("%q is not START/END with whole numbers (e.g. 8080/8080)", s)
	}
	if lo < 1 || lo > 65535 || hi < 1 || hi > 65535 {
		return PortRange{}, fmt.Errorf("%q is out of range: ports are 1..65535 (or -1/-1 for all)", s)
	}
	if lo > hi {
		return PortRange{}, fmt.Errorf("%q is reversed: START must not exceed END", s)
	}
	return PortRange{Start: lo, End: hi}, nil
}

// Contains reports whether port is inside the range.
func (r PortRange) Contains(port int) bool {
	return r.All || (port >= r.Start && port <= r.End)
}

// String formats the range as the API does: "START/END" or "-1/-1".
func (r PortRange) String() string {
	if r.All {
		return "-1/-1"
	}
	return strconv.Itoa(r.Start) + "/" + strconv.Itoa(r.End)
}

// Full reports whether the range spans every TCP/UDP port (1/65535 or -1/-1).
func (r PortRange) Full() bool { return r.All || (r.Start == 1 && r.End == 65535) }
