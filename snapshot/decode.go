package snapshot

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// decoder turns a node tree into the snapshot structs, strictly: unknown and
// duplicate keys, wrong types and nulls where an object is needed are all
// recorded as problems (with the node's position) and decoding carries on,
// so one pass reports everything.
type decoder struct {
	problems []*Problem
	path     []pathSeg
	failed   map[string]bool // paths whose value could not be decoded
	visits   int
	budget   int // bound on values decoded: YAML aliases can expand exponentially
	aborted  bool
	// truncated: maxProblems reached; the rest of the input was not checked.
	truncated bool
}

type pathSeg struct {
	key   string
	index int // -1 for keys
}

func (d *decoder) pathString() string {
	var b strings.Builder
	for i, s := range d.path {
		if s.index >= 0 {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.index))
			b.WriteByte(']')
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.key)
	}
	return b.String()
}

func (d *decoder) addAt(line, col int32, msg string) {
	if len(d.problems) >= maxProblems {
		d.aborted, d.truncated = true, true
		return
	}
	d.problems = append(d.problems, &Problem{Line: int(line), Column: int(col), Path: d.pathString(), Message: msg})
}

// fail records a value that could not be decoded: validation problems about
// the same path (or below it) would only repeat the decoder's complaint.
func (d *decoder) fail(n *node, msg string) {
	d.addAt(n.line, n.col, msg)
	d.markFailed(d.pathString())
}

func (d *decoder) markFailed(path string) {
	if d.failed == nil {
		d.failed = map[string]bool{}
	}
	d.failed[path] = true
}

type structInfo struct {
	byKey map[string]int // JSON key -> field index
	keys  []string       // in declaration order, for suggestions
}

var structInfos sync.Map // reflect.Type -> *structInfo

func infoFor(t reflect.Type) *structInfo {
	if si, ok := structInfos.Load(t); ok {
		return si.(*structInfo)
	}
	si := &structInfo{byKey: map[string]int{}}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		si.byKey[name] = i
		si.keys = append(si.keys, name)
	}
	structInfos.Store(t, si)
	return si
}

func (d *decoder) decode(n *node, v reflect.Value) {
	if d.aborted {
		return
	}
	d.visits++
	if d.visits > d.budget {
		d.aborted = true
		d.addAt(n.line, n.col, "too many values after expanding YAML aliases; the file expands far beyond its size (an alias bomb?)")
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.decodeStruct(n, v)
	case reflect.Slice:
		switch n.kind {
		case kindNull:
			v.SetZero()
		case kindSeq:
			if len(n.kids) == 0 {
				v.SetZero() // an empty list and no list are the same: nil
				return
			}
			s := reflect.MakeSlice(v.Type(), len(n.kids), len(n.kids))
			for i, item := range n.kids {
				d.path = append(d.path, pathSeg{index: i})
				d.decode(item.value, s.Index(i))
				d.path = d.path[:len(d.path)-1]
			}
			v.Set(s)
		case kindString:
			d.fail(n, fmt.Sprintf("expected a list, got %s; write [%s]", n.describe(), n.str))
		default:
			d.fail(n, "expected a list, got "+n.describe())
		}
	case reflect.Pointer:
		if n.kind == kindNull {
			v.SetZero()
			return
		}
		p := reflect.New(v.Type().Elem())
		d.decode(n, p.Elem())
		v.Set(p)
	case reflect.String:
		switch n.kind {
		case kindString:
			v.SetString(n.str)
		case kindNull:
			v.SetString("")
		case kindNumber, kindBool:
			if len(d.path) > 0 && d.path[len(d.path)-1].key == "portRange" && n.kind == kindNumber {
				// A lone port: the fix is a range, not quotes.
				d.fail(n, fmt.Sprintf("expected START/END, got %s; write \"%s/%s\"", n.describe(), n.str, n.str))
				return
			}
			d.fail(n, fmt.Sprintf("expected a string, got %s; quote it: %q", n.describe(), n.str))
		default:
			d.fail(n, "expected a string, got "+n.describe())
		}
	case reflect.Int:
		switch {
		case n.kind == kindNull:
			v.SetInt(0)
		case n.kind == kindNumber:
			if i, ok, _ := n.number(); ok {
				v.SetInt(i)
			} else {
				d.fail(n, fmt.Sprintf("expected a whole number, got %s", n.str))
			}
		case n.kind == kindString:
			if _, err := strconv.Atoi(strings.TrimSpace(n.str)); err == nil {
				d.fail(n, fmt.Sprintf("expected a number, got %s; write %s without quotes", n.describe(), strings.TrimSpace(n.str)))
			} else {
				d.fail(n, "expected a whole number, got "+n.describe())
			}
		default:
			d.fail(n, "expected a whole number, got "+n.describe())
		}
	case reflect.Float64:
		switch n.kind {
		case kindNumber:
			_, _, f := n.number()
			v.SetFloat(f)
		case kindNull:
			v.SetFloat(0)
		default:
			d.fail(n, "expected a number, got "+n.describe())
		}
	case reflect.Bool:
		switch n.kind {
		case kindBool:
			v.SetBool(n.str == "true")
		case kindNull:
			v.SetBool(false)
		case kindString:
			if t := strings.ToLower(strings.TrimSpace(n.str)); t == "true" || t == "false" {
				d.fail(n, fmt.Sprintf("expected true or false, got %s; write %s without quotes", n.describe(), t))
				return
			}
			d.fail(n, "expected true or false, got "+n.describe())
		default:
			d.fail(n, "expected true or false, got "+n.describe())
		}
	default:
		d.fail(n, "internal: no decoder for "+v.Type().String())
	}
}

func (d *decoder) decodeStruct(n *node, v reflect.Value) {
	switch n.kind {
	case kindMap:
	case kindNull:
		d.fail(n, "expected an object, got null")
		return
	default:
		d.fail(n, "expected an object, got "+n.describe())
		return
	}
	si := infoFor(v.Type())
	var seen map[string]int32 // key -> line of first occurrence
	seenSmall := make([]field, 0, 16)
	firstLine := func(key string) (int32, bool) {
		if seen != nil {
			l, ok := seen[key]
			return l, ok
		}
		for _, f := range seenSmall {
			if f.key == key {
				return f.line, true
			}
		}
		return 0, false
	}
	remember := func(f field) {
		if seen == nil && len(seenSmall) < 16 {
			seenSmall = append(seenSmall, f)
			return
		}
		if seen == nil {
			seen = make(map[string]int32, 32)
			for _, s := range seenSmall {
				seen[s.key] = s.line
			}
		}
		seen[f.key] = f.line
	}
	for _, f := range n.kids {
		if d.aborted {
			return
		}
		d.path = append(d.path, pathSeg{key: f.key, index: -1})
		if first, dup := firstLine(f.key); dup {
			d.addAt(f.line, f.col, fmt.Sprintf("duplicate key %q (first at line %d); each key may appear once", f.key, first))
		} else {
			remember(f)
			if idx, ok := si.byKey[f.key]; ok {
				d.decode(f.value, v.Field(idx))
			} else {
				msg := fmt.Sprintf("unknown key %q", f.key)
				if s := suggestKey(f.key, si.keys); s != "" {
					msg += fmt.Sprintf("; did you mean %q?", s)
					// The intended field is absent: do not also report it as required.
					d.path[len(d.path)-1].key = s
					d.markFailed(d.pathString())
					d.path[len(d.path)-1].key = f.key
				} else {
					msg += "; expected one of: " + strings.Join(si.keys, ", ")
				}
				d.addAt(f.line, f.col, msg)
			}
		}
		d.path = d.path[:len(d.path)-1]
	}
}

// suggestKey returns the known key nearest to an unknown one, or "".
func suggestKey(key string, known []string) string {
	lower := strings.ToLower(key)
	for _, k := range known {
		if strings.ToLower(k) == lower {
			return k
		}
	}
	best, bestDist := "", -1
	for _, k := range known {
		dist := editDistance(lower, strings.ToLower(k))
		if bestDist < 0 || dist < bestDist {
			best, bestDist = k, dist
		}
	}
	// Typos rarely change the first letter; a one-letter slip anywhere counts.
	sameStart := best != "" && len(lower) > 0 && lower[0] == strings.ToLower(best)[0]
	switch {
	case bestDist == 1 && len(key) > 1,
		bestDist == 2 && len(key) >= 5 && sameStart,
		bestDist == 3 && len(key) >= 10 && sameStart:
		return best
	}
	// A shortened key: "groups" for "securityGroups", "cidr" for "sourceCidr".
	if len(lower) >= 4 {
		for _, k := range known {
			lk := strings.ToLower(k)
			if strings.HasSuffix(lk, lower) || strings.HasPrefix(lk, lower) {
				return k
			}
		}
	}
	return ""
}

// editDistance is the Levenshtein distance between two short strings.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 30 // keys that long are not typos of ours
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// knownKeys lists the keys of a struct type, sorted, for documentation and tests.
func knownKeys(t reflect.Type) []string {
	keys := append([]string(nil), infoFor(t).keys...)
	sort.Strings(keys)
	return keys
}
