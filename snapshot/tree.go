package snapshot

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// node is the format-neutral document tree both readers produce: every value
// keeps the line and column it came from, so problems found later (by the
// decoder or by validation) can be placed in the file.
type node struct {
	kind nodeKind
	line int32
	col  int32
	// str is the string value; for numbers a literal strconv parses
	// ("8080", "0.4", "1e3", "+Inf"); for booleans "true" or "false".
	str  string
	kids []field // mapping entries in document order (duplicates kept), or sequence items (key "")
}

type field struct {
	key       string
	line, col int32
	value     *node
}

// number returns a number node's value as an int64 when it is a whole
// number that fits, and as a float64.
func (n *node) number() (i int64, isInt bool, f float64) {
	if v, err := strconv.ParseInt(n.str, 10, 64); err == nil {
		return v, true, float64(v)
	}
	f, err := strconv.ParseFloat(n.str, 64)
	if err != nil && !math.IsInf(f, 0) {
		return 0, false, math.NaN()
	}
	if f == math.Trunc(f) && math.Abs(f) < 1<<63 {
		return int64(f), true, f
	}
	return 0, false, f
}

type nodeKind uint8

const (
	kindNull nodeKind = iota
	kindString
	kindNumber
	kindBool
	kindSeq
	kindMap
)

// describe names what a node is, for "expected X, got Y" messages.
func (n *node) describe() string {
	switch n.kind {
	case kindNull:
		return "null"
	case kindString:
		return fmt.Sprintf("the string %s", quoteShort(n.str))
	case kindNumber:
		return "the number " + n.str
	case kindBool:
		return n.str
	case kindSeq:
		return "a list"
	case kindMap:
		return "an object"
	}
	return "a value"
}

func quoteShort(s string) string {
	if len(s) > 60 {
		cut := 60
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut]) + "…"
	}
	return strconv.Quote(s)
}

// nodeAlloc hands out nodes and field slices from slabs: a large snapshot
// has millions of them.
type nodeAlloc struct {
	slab   []node
	fslab  []field
	intern map[string]string
}

func (a *nodeAlloc) new(kind nodeKind, line, col int32) *node {
	if len(a.slab) == 0 {
		a.slab = make([]node, 4096)
	}
	n := &a.slab[0]
	a.slab = a.slab[1:]
	n.kind, n.line, n.col = kind, line, col
	return n
}

// fields returns a copy of fs in slab memory.
func (a *nodeAlloc) fields(fs []field) []field {
	if len(fs) == 0 {
		return nil
	}
	if len(fs) > 512 {
		return append([]field(nil), fs...)
	}
	if len(a.fslab) < len(fs) {
		a.fslab = make([]field, 8192)
	}
	out := a.fslab[:len(fs):len(fs)]
	a.fslab = a.fslab[len(fs):]
	copy(out, fs)
	return out
}

// str returns b as a string, sharing one copy of short repeated strings
// (keys, protocols, node names): it saves most of a large file's allocations.
func (a *nodeAlloc) str(b []byte) string {
	if len(b) > 32 {
		return string(b)
	}
	if s, ok := a.intern[string(b)]; ok {
		return s
	}
	s := string(b)
	if a.intern == nil {
		a.intern = make(map[string]string, 1024)
	}
	if len(a.intern) < 1<<17 {
		a.intern[s] = s
	}
	return s
}

// maxDepth bounds nesting: the snapshot schema is 6 levels deep, and a
// recursive reader must not exhaust the stack on "[[[[…".
const maxDepth = 64

// syntaxError is a reader failure at a position.
type syntaxError struct {
	line, col int
	msg       string
}

func (e *syntaxError) Error() string { return fmt.Sprintf("%d:%d: %s", e.line, e.col, e.msg) }

// jsonReader is a strict RFC 8259 reader producing nodes with positions.
type jsonReader struct {
	data      []byte
	pos       int
	line      int
	lineStart int
	alloc     nodeAlloc
	depth     int
	stack     []field // entries of the objects and lists being read
}

func parseJSONTree(data []byte) (*node, error) {
	r := &jsonReader{data: data, line: 1}
	r.skipSpace()
	n, err := r.value()
	if err != nil {
		return nil, err
	}
	r.skipSpace()
	if r.pos < len(r.data) {
		return nil, r.errf("unexpected %s after the end of the JSON document", r.what())
	}
	return n, nil
}

func (r *jsonReader) errf(format string, args ...any) error {
	return &syntaxError{line: r.line, col: r.pos - r.lineStart + 1, msg: fmt.Sprintf(format, args...)}
}

func (r *jsonReader) what() string {
	if r.pos >= len(r.data) {
		return "end of file"
	}
	c, _ := utf8.DecodeRune(r.data[r.pos:])
	return strconv.QuoteRune(c)
}

func (r *jsonReader) skipSpace() {
	for r.pos < len(r.data) {
		switch r.data[r.pos] {
		case ' ', '\t', '\r':
		case '\n':
			r.line++
			r.lineStart = r.pos + 1
		default:
			return
		}
		r.pos++
	}
}

func (r *jsonReader) value() (*node, error) {
	if r.pos >= len(r.data) {
		return nil, r.errf("unexpected end of file; the JSON document is truncated")
	}
	line, col := int32(r.line), int32(r.pos-r.lineStart+1)
	switch c := r.data[r.pos]; {
	case c == '{':
		return r.object(line, col)
	case c == '[':
		return r.array(line, col)
	case c == '"':
		s, err := r.string(false)
		if err != nil {
			return nil, err
		}
		n := r.alloc.new(kindString, line, col)
		n.str = s
		return n, nil
	case c == '-' || (c >= '0' && c <= '9'):
		return r.number(line, col)
	default:
		for _, lit := range [...]string{"true", "false", "null"} {
			if strings.HasPrefix(string(r.data[r.pos:min(len(r.data), r.pos+5)]), lit) {
				r.pos += len(lit)
				if lit == "null" {
					return r.alloc.new(kindNull, line, col), nil
				}
				n := r.alloc.new(kindBool, line, col)
				n.str = lit
				return n, nil
			}
		}
		return nil, r.errf("unexpected %s; expected a JSON value", r.what())
	}
}

func (r *jsonReader) enter() error {
	r.depth++
	if r.depth > maxDepth {
		return r.errf("nested more than %d levels deep", maxDepth) //words:never-one (a constant)
	}
	return nil
}

func (r *jsonReader) object(line, col int32) (*node, error) {
	if err := r.enter(); err != nil {
		return nil, err
	}
	n := r.alloc.new(kindMap, line, col)
	r.pos++
	r.skipSpace()
	if r.pos < len(r.data) && r.data[r.pos] == '}' {
		r.pos++
		r.depth--
		return n, nil
	}
	mark := len(r.stack)
	for {
		if r.pos >= len(r.data) || r.data[r.pos] != '"' {
			if r.pos >= len(r.data) {
				return nil, r.errf("unexpected end of file inside an object; the JSON document is truncated")
			}
			return nil, r.errf("unexpected %s; expected a quoted key", r.what())
		}
		kl, kc := int32(r.line), int32(r.pos-r.lineStart+1)
		key, err := r.string(true)
		if err != nil {
			return nil, err
		}
		r.skipSpace()
		if r.pos >= len(r.data) || r.data[r.pos] != ':' {
			return nil, r.errf("unexpected %s; expected ':' after key %q", r.what(), key)
		}
		r.pos++
		r.skipSpace()
		v, err := r.value()
		if err != nil {
			return nil, err
		}
		r.stack = append(r.stack, field{key: key, line: kl, col: kc, value: v})
		r.skipSpace()
		if r.pos >= len(r.data) {
			return nil, r.errf("unexpected end of file inside an object; the JSON document is truncated")
		}
		switch r.data[r.pos] {
		case ',':
			r.pos++
			r.skipSpace()
		case '}':
			r.pos++
			r.depth--
			n.kids = r.alloc.fields(r.stack[mark:])
			r.stack = r.stack[:mark]
			return n, nil
		default:
			return nil, r.errf("unexpected %s; expected ',' or '}'", r.what())
		}
	}
}

func (r *jsonReader) array(line, col int32) (*node, error) {
	if err := r.enter(); err != nil {
		return nil, err
	}
	n := r.alloc.new(kindSeq, line, col)
	r.pos++
	r.skipSpace()
	if r.pos < len(r.data) && r.data[r.pos] == ']' {
		r.pos++
		r.depth--
		return n, nil
	}
	mark := len(r.stack)
	for {
		v, err := r.value()
		if err != nil {
			return nil, err
		}
		r.stack = append(r.stack, field{value: v})
		r.skipSpace()
		if r.pos >= len(r.data) {
			return nil, r.errf("unexpected end of file inside a list; the JSON document is truncated")
		}
		switch r.data[r.pos] {
		case ',':
			r.pos++
			r.skipSpace()
		case ']':
			r.pos++
			r.depth--
			n.kids = r.alloc.fields(r.stack[mark:])
			r.stack = r.stack[:mark]
			return n, nil
		default:
			return nil, r.errf("unexpected %s; expected ',' or ']'", r.what())
		}
	}
}

// string reads a quoted string; keys are interned (a large file repeats a
// dozen keys millions of times), values only when very short.
func (r *jsonReader) string(intern bool) (string, error) {
	r.pos++ // opening quote
	start := r.pos
	// Fast path: no escapes.
	for r.pos < len(r.data) {
		c := r.data[r.pos]
		if c == '"' {
			var s string
			if intern || r.pos-start <= 8 {
				s = r.alloc.str(r.data[start:r.pos])
			} else {
				s = string(r.data[start:r.pos])
			}
			r.pos++
			return s, nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return "", r.errf("control character %q inside a string; escape it", rune(c))
		}
		r.pos++
	}
	buf := append([]byte(nil), r.data[start:r.pos]...)
	for r.pos < len(r.data) {
		c := r.data[r.pos]
		switch {
		case c == '"':
			r.pos++
			return string(buf), nil
		case c < 0x20:
			return "", r.errf("control character %q inside a string; escape it", rune(c))
		case c != '\\':
			buf = append(buf, c)
			r.pos++
			continue
		}
		if r.pos+1 >= len(r.data) {
			break
		}
		e := r.data[r.pos+1]
		r.pos += 2
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			cp, ok := r.hex4()
			if !ok {
				return "", r.errf(`invalid \u escape; expected four hex digits`)
			}
			if utf16.IsSurrogate(cp) {
				lo := rune(-1)
				if r.pos+1 < len(r.data) && r.data[r.pos] == '\\' && r.data[r.pos+1] == 'u' {
					save := r.pos
					r.pos += 2
					if l, ok := r.hex4(); ok {
						lo = l
					} else {
						r.pos = save
					}
				}
				cp = utf16.DecodeRune(cp, lo)
				if cp == utf8.RuneError {
					return "", r.errf(`invalid \u escape: unpaired UTF-16 surrogate`)
				}
			}
			buf = utf8.AppendRune(buf, cp)
		default:
			return "", r.errf("invalid escape \\%c inside a string", e)
		}
	}
	return "", r.errf("unexpected end of file inside a string; the JSON document is truncated")
}

func (r *jsonReader) hex4() (rune, bool) {
	if r.pos+4 > len(r.data) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(r.data[r.pos:r.pos+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	r.pos += 4
	return rune(v), true
}

func (r *jsonReader) number(line, col int32) (*node, error) {
	start := r.pos
	if r.data[r.pos] == '-' {
		r.pos++
	}
	digits := func() int {
		s := r.pos
		for r.pos < len(r.data) && r.data[r.pos] >= '0' && r.data[r.pos] <= '9' {
			r.pos++
		}
		return r.pos - s
	}
	intStart := r.pos
	nd := digits()
	if nd == 0 {
		return nil, r.errf("invalid number; expected a digit")
	}
	if nd > 1 && r.data[intStart] == '0' {
		return nil, r.errf("invalid number %q: leading zero", string(r.data[start:r.pos]))
	}
	if r.pos < len(r.data) && r.data[r.pos] == '.' {
		r.pos++
		if digits() == 0 {
			return nil, r.errf("invalid number; expected a digit after '.'")
		}
	}
	if r.pos < len(r.data) && (r.data[r.pos] == 'e' || r.data[r.pos] == 'E') {
		r.pos++
		if r.pos < len(r.data) && (r.data[r.pos] == '+' || r.data[r.pos] == '-') {
			r.pos++
		}
		if digits() == 0 {
			return nil, r.errf("invalid number; expected a digit in the exponent")
		}
	}
	n := r.alloc.new(kindNumber, line, col)
	n.str = r.alloc.str(r.data[start:r.pos]) // numbers repeat (ports, priorities)
	return n, nil
}
