package snapshot

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// The fast YAML reader handles the block-style YAML that Marshal writes and
// that people write by hand (block mappings and sequences, plain and quoted
// one-line scalars, one-line flow collections, comments) in one pass over
// the bytes. goccy/go-yaml needs about 100 times the file size in memory
// and a second per few megabytes; this reader makes a 40 MB snapshot
// loadable. Anything outside that subset (anchors, tags, block scalars,
// multi-line scalars, tabs, odd indentation, syntax errors) makes it give up
// with errNotFast, and the file goes to goccy/go-yaml, which then decides.
// Plain scalars are typed by goccy's own token rules, so both readers agree;
// FuzzFastYAML checks that they build the same tree.

var errNotFast = errors.New("not in the fast YAML subset")

type yamlLine struct {
	num    int32 // 1-based line number
	indent int   // leading spaces
	text   string
}

type fastYAML struct {
	lines []yamlLine
	i     int
	alloc nodeAlloc
	stack []field
	depth int

	splitLine int32 // line where split gave up
	typed     map[string]typedScalar
}

// notFastError says where the fast reader gave up.
type notFastError struct{ line int32 }

func (e *notFastError) Error() string { return errNotFast.Error() }
func (e *notFastError) Unwrap() error { return errNotFast }

func parseFastYAML(data []byte) (n *node, err error) {
	f := &fastYAML{}
	defer func() {
		if errors.Is(err, errNotFast) {
			line := f.splitLine
			if f.i < len(f.lines) && line == 0 {
				line = f.lines[f.i].num
			}
			n, err = nil, &notFastError{line: line}
		}
	}()
	if err := f.split(data); err != nil {
		return nil, err
	}
	if len(f.lines) == 0 {
		return nil, errNotFast
	}
	if f.lines[0].indent != 0 {
		return nil, errNotFast
	}
	root, err := f.block(0)
	if err != nil {
		return nil, err
	}
	if f.i != len(f.lines) {
		return nil, errNotFast
	}
	return root, nil
}

// split cuts the document into non-blank, non-comment lines.
func (f *fastYAML) split(data []byte) error {
	f.lines = make([]yamlLine, 0, bytes.Count(data, []byte("\n"))+1)
	num := int32(0)
	for len(data) > 0 {
		num++
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		indent := 0
		for indent < len(line) && line[indent] == ' ' {
			indent++
		}
		text := line[indent:]
		if len(text) == 0 || text[0] == '#' {
			continue
		}
		f.splitLine = num
		if bytes.IndexByte(line, '\t') >= 0 || bytes.IndexByte(line, '\r') >= 0 {
			return errNotFast
		}
		switch text[0] {
		case '%', '?', '&', '*', '!', '|', '>', '@', '`':
			return errNotFast
		}
		if bytes.HasPrefix(text, []byte("---")) || bytes.HasPrefix(text, []byte("...")) {
			return errNotFast
		}
		f.lines = append(f.lines, yamlLine{num: num, indent: indent, text: string(text)})
	}
	f.splitLine = 0
	return nil
}

func isDash(text string) bool {
	return text == "-" || strings.HasPrefix(text, "- ")
}

// block reads the mapping or sequence whose first line is the current one.
func (f *fastYAML) block(indent int) (*node, error) {
	f.depth++
	defer func() { f.depth-- }()
	if f.depth > maxDepth {
		return nil, errNotFast
	}
	if isDash(f.lines[f.i].text) {
		return f.sequence(indent)
	}
	return f.mapping(indent)
}

func (f *fastYAML) sequence(indent int) (*node, error) {
	first := f.lines[f.i]
	n := f.alloc.new(kindSeq, first.num, int32(indent+1))
	mark := len(f.stack)
	for f.i < len(f.lines) && f.lines[f.i].indent == indent && isDash(f.lines[f.i].text) {
		l := f.lines[f.i]
		rest := strings.TrimLeft(l.text[1:], " ")
		inner := indent + len(l.text) - len(rest)
		var item *node
		var err error
		switch {
		case rest == "" || rest[0] == '#':
			f.i++
			if f.i < len(f.lines) && f.lines[f.i].indent > indent {
				item, err = f.block(f.lines[f.i].indent)
			} else {
				item = f.alloc.new(kindNull, l.num, int32(indent+1))
			}
		case isDash(rest) || isMappingLine(rest):
			// "- key: value" or "- - x": the rest of the line opens a block
			// at its own column.
			f.lines[f.i] = yamlLine{num: l.num, indent: inner, text: rest}
			item, err = f.block(inner)
		default:
			item, err = f.inline(rest, l.num, inner+1)
			f.i++
			if err == nil && f.i < len(f.lines) && f.lines[f.i].indent > indent {
				err = errNotFast // a multi-line scalar
			}
		}
		if err != nil {
			return nil, err
		}
		f.stack = append(f.stack, field{value: item})
	}
	if f.i < len(f.lines) && f.lines[f.i].indent > indent {
		return nil, errNotFast
	}
	n.kids = f.alloc.fields(f.stack[mark:])
	f.stack = f.stack[:mark]
	return n, nil
}

// isMappingLine reports whether text starts with "key:" followed by a space
// or the end of the line, for a plain key.
func isMappingLine(text string) bool {
	_, _, ok := splitKey(text)
	return ok
}

// splitKey cuts "key: rest" for keys made of letters, digits and _.-/
func splitKey(text string) (key, rest string, ok bool) {
	i := 0
	for i < len(text) {
		c := text[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '/' || (c == '-' && i > 0) {
			i++
			continue
		}
		break
	}
	if i == 0 || i >= len(text) || text[i] != ':' {
		return "", "", false
	}
	if i+1 < len(text) && text[i+1] != ' ' {
		return "", "", false
	}
	return text[:i], strings.TrimLeft(text[i+1:], " "), true
}

func (f *fastYAML) mapping(indent int) (*node, error) {
	first := f.lines[f.i]
	n := f.alloc.new(kindMap, first.num, int32(indent+1))
	mark := len(f.stack)
	for f.i < len(f.lines) && f.lines[f.i].indent == indent && !isDash(f.lines[f.i].text) {
		l := f.lines[f.i]
		key, rest, ok := splitKey(l.text)
		if !ok {
			return nil, errNotFast
		}
		var val *node
		var err error
		if rest == "" || rest[0] == '#' {
			f.i++
			switch {
			case f.i < len(f.lines) && f.lines[f.i].indent > indent:
				val, err = f.block(f.lines[f.i].indent)
			case f.i < len(f.lines) && f.lines[f.i].indent == indent && isDash(f.lines[f.i].text):
				val, err = f.sequence(indent) // "key:\n- a" at the key's own indent
			default:
				val = f.alloc.new(kindNull, l.num, int32(indent+len(key)+2))
			}
		} else {
			col := indent + len(l.text) - len(rest) + 1
			val, err = f.inline(rest, l.num, col)
			f.i++
			if err == nil && f.i < len(f.lines) && f.lines[f.i].indent > indent {
				err = errNotFast
			}
		}
		if err != nil {
			return nil, err
		}
		f.stack = append(f.stack, field{key: f.alloc.str([]byte(key)), line: l.num, col: int32(indent + 1), value: val})
	}
	if f.i < len(f.lines) && f.lines[f.i].indent > indent {
		return nil, errNotFast
	}
	n.kids = f.alloc.fields(f.stack[mark:])
	f.stack = f.stack[:mark]
	return n, nil
}

// inline reads a value that sits on one line after "key: " or "- ".
func (f *fastYAML) inline(text string, line int32, col int) (*node, error) {
	p := &flowParser{f: f, text: text, line: line, col0: col}
	n, err := p.value(false)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos < len(p.text) && !p.atComment() {
		return nil, errNotFast
	}
	return n, nil
}

type flowParser struct {
	f     *fastYAML
	text  string
	pos   int
	line  int32
	col0  int
	depth int
}

func (p *flowParser) skipSpace() {
	for p.pos < len(p.text) && p.text[p.pos] == ' ' {
		p.pos++
	}
}

// atComment: '#' starts a comment only after a space (or at the start).
func (p *flowParser) atComment() bool {
	return p.pos < len(p.text) && p.text[p.pos] == '#' && (p.pos == 0 || p.text[p.pos-1] == ' ')
}

func (p *flowParser) col() int32 {
	return int32(p.col0 + utf8.RuneCountInString(p.text[:p.pos]))
}

func (p *flowParser) value(inFlow bool) (*node, error) {
	if p.pos >= len(p.text) {
		return nil, errNotFast
	}
	switch c := p.text[p.pos]; c {
	case '"':
		return p.doubleQuoted()
	case '\'':
		return p.singleQuoted()
	case '[', '{':
		return p.collection(c)
	case '&', '*', '!', '|', '>', '%', '@', '`', '?', ']', '}', ',', '#':
		return nil, errNotFast
	case '-', ':':
		if p.pos+1 >= len(p.text) || p.text[p.pos+1] == ' ' || (inFlow && strings.IndexByte(",[]{}", p.text[p.pos+1]) >= 0) {
			return nil, errNotFast
		}
	}
	return p.plain(inFlow)
}

func (p *flowParser) plain(inFlow bool) (*node, error) {
	start := p.pos
	col := p.col()
	for p.pos < len(p.text) {
		c := p.text[p.pos]
		if c == ':' && (p.pos+1 == len(p.text) || p.text[p.pos+1] == ' ' || (inFlow && strings.IndexByte(",[]{}", p.text[p.pos+1]) >= 0)) {
			if inFlow {
				break // a flow mapping key ends here
			}
			return nil, errNotFast // "a: b: c"
		}
		if c == '#' && p.pos > start && p.text[p.pos-1] == ' ' {
			break
		}
		if inFlow && (c == ',' || c == ']' || c == '}' || c == '[' || c == '{') {
			break
		}
		p.pos++
	}
	value := strings.TrimRight(p.text[start:p.pos], " ")
	if value == "" {
		return nil, errNotFast
	}
	return p.f.plainScalar(value, p.line, col)
}

// plainScalar types a plain scalar exactly as goccy/go-yaml does.
func (f *fastYAML) plainScalar(value string, line, col int32) (*node, error) {
	c := value[0]
	if len(value) > 5 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
		n := f.alloc.new(kindString, line, col)
		n.str = value
		return n, nil
	}
	if len(value) <= 32 {
		if c, ok := f.typed[value]; ok {
			n := f.alloc.new(c.kind, line, col)
			n.str = c.str
			return n, nil
		}
	}
	n, err := f.typePlain(value, line, col)
	if err == nil && len(value) <= 32 && len(f.typed) < 1<<16 {
		if f.typed == nil {
			f.typed = map[string]typedScalar{}
		}
		f.typed[value] = typedScalar{n.kind, n.str}
	}
	return n, err
}

// typedScalar caches how goccy types a short plain scalar: a large file
// repeats the same few (ports, protocols, true).
type typedScalar struct {
	kind nodeKind
	str  string
}

func (f *fastYAML) typePlain(value string, line, col int32) (*node, error) {
	tk := token.New(value, value, &token.Position{Line: int(line), Column: int(col)})
	var an ast.Node
	switch tk.Type {
	case token.NullType, token.ImplicitNullType:
		an = ast.Null(tk)
	case token.BoolType:
		an = ast.Bool(tk)
	case token.IntegerType, token.BinaryIntegerType, token.OctetIntegerType, token.HexIntegerType:
		an = ast.Integer(tk)
	case token.FloatType:
		an = ast.Float(tk)
	case token.InfinityType:
		an = ast.Infinity(tk)
	case token.NanType:
		an = ast.Nan(tk)
	case token.StringType:
		n := f.alloc.new(kindString, line, col)
		n.str = f.alloc.str([]byte(value))
		return n, nil
	default:
		return nil, errNotFast
	}
	n := f.alloc.new(kindNull, line, col)
	if !scalarFromAST(an, n) {
		return nil, errNotFast
	}
	return n, nil
}

func (p *flowParser) doubleQuoted() (*node, error) {
	col := p.col()
	p.pos++
	var b []byte
	start := p.pos
	for p.pos < len(p.text) {
		c := p.text[p.pos]
		switch c {
		case '"':
			var s string
			if b == nil {
				s = p.text[start:p.pos]
			} else {
				s = string(b)
			}
			p.pos++
			n := p.f.alloc.new(kindString, p.line, col)
			n.str = s
			return n, nil
		case '\\':
			if b == nil {
				b = append([]byte(nil), p.text[start:p.pos]...)
			}
			if p.pos+1 >= len(p.text) {
				return nil, errNotFast
			}
			e := p.text[p.pos+1]
			p.pos += 2
			switch e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'n':
				b = append(b, '\n')
			case 't':
				b = append(b, '\t')
			case 'r':
				b = append(b, '\r')
			case 'x', 'u', 'U':
				width := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
				if p.pos+width > len(p.text) {
					return nil, errNotFast
				}
				v, err := strconv.ParseUint(p.text[p.pos:p.pos+width], 16, 32)
				if err != nil || (v >= 0xd800 && v <= 0xdfff) || v > utf8.MaxRune {
					return nil, errNotFast
				}
				p.pos += width
				b = utf8.AppendRune(b, rune(v))
			default:
				return nil, errNotFast
			}
		default:
			if b != nil {
				b = append(b, c)
			}
			p.pos++
		}
	}
	return nil, errNotFast // unterminated or multi-line
}

func (p *flowParser) singleQuoted() (*node, error) {
	col := p.col()
	p.pos++
	var b strings.Builder
	for p.pos < len(p.text) {
		c := p.text[p.pos]
		if c == '\'' {
			if p.pos+1 < len(p.text) && p.text[p.pos+1] == '\'' {
				b.WriteByte('\'')
				p.pos += 2
				continue
			}
			p.pos++
			n := p.f.alloc.new(kindString, p.line, col)
			n.str = b.String()
			return n, nil
		}
		b.WriteByte(c)
		p.pos++
	}
	return nil, errNotFast
}

// collection reads a one-line flow sequence [a, b] or mapping {k: v}.
func (p *flowParser) collection(open byte) (*node, error) {
	p.depth++
	if p.depth > maxDepth {
		return nil, errNotFast
	}
	kind, closer := kindSeq, byte(']')
	if open == '{' {
		kind, closer = kindMap, '}'
	}
	n := p.f.alloc.new(kind, p.line, p.col())
	p.pos++
	var kids []field
	for {
		p.skipSpace()
		if p.pos >= len(p.text) {
			return nil, errNotFast
		}
		if p.text[p.pos] == closer {
			p.pos++
			break
		}
		if len(kids) > 0 {
			if p.text[p.pos] != ',' {
				return nil, errNotFast
			}
			p.pos++
			p.skipSpace()
			if p.pos >= len(p.text) || p.text[p.pos] == closer || p.text[p.pos] == ',' {
				return nil, errNotFast // trailing or doubled comma
			}
		}
		if kind == kindSeq {
			v, err := p.value(true)
			if err != nil {
				return nil, err
			}
			p.skipSpace()
			if p.pos < len(p.text) && p.text[p.pos] == ':' {
				return nil, errNotFast // [a: b] is a mapping inside a sequence
			}
			kids = append(kids, field{value: v})
			continue
		}
		keyCol := p.col()
		k, err := p.value(true)
		if err != nil || k.kind != kindString {
			return nil, errNotFast
		}
		if p.pos >= len(p.text) || p.text[p.pos] != ':' || p.pos+1 >= len(p.text) || p.text[p.pos+1] != ' ' {
			return nil, errNotFast
		}
		p.pos++
		p.skipSpace()
		v, err := p.value(true)
		if err != nil {
			return nil, err
		}
		kids = append(kids, field{key: k.str, line: p.line, col: keyCol, value: v})
	}
	p.depth--
	n.kids = kids
	return n, nil
}
