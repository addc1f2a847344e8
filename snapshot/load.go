package snapshot

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxSize is the largest snapshot this package reads (256 MiB). A snapshot
// with 100,000 endpoints and 100,000 rules is about 50 MB.
const MaxSize = 256 << 20

// Load reads a snapshot file, YAML or JSON (told apart by content: JSON when
// the first non-blank byte is '{'), strictly, and validates it. On error the
// snapshot is nil and the error lists every problem (see Problems).
func Load(path string) (*Snapshot, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, ioProblem(path, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > MaxSize {
		return nil, tooLarge(path, st.Size())
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, ioProblem(path, err)
	}
	return Parse(path, data)
}

func ioProblem(path string, err error) error {
	msg := err.Error()
	var pe *fs.PathError
	if errors.As(err, &pe) {
		msg = pe.Err.Error()
	}
	return problemsError(path, []*Problem{{File: path, Message: "cannot read the snapshot: " + msg, cause: err}})
}

func tooLarge(name string, size int64) error {
	return problemsError(name, []*Problem{{File: name, Message: fmt.Sprintf(
		"the file is %s; snapshots larger than %d MiB are refused (is this the right file?)", sizeText(size), MaxSize>>20)}})
}

func sizeText(n int64) string {
	if n > MaxSize {
		return fmt.Sprintf("more than %d MiB", MaxSize>>20)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// Parse reads a snapshot from data; name is used in error messages.
func Parse(name string, data []byte) (*Snapshot, error) {
	fail := func(line, col int, msg string) (*Snapshot, error) {
		return nil, problemsError(name, []*Problem{{File: name, Line: line, Column: col, Message: msg}})
	}
	if len(data) > MaxSize {
		return nil, tooLarge(name, int64(len(data)))
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // UTF-8 byte order mark
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return fail(0, 0, "the file is empty; expected a snapshot (YAML or JSON) starting with version: 1")
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		line, col := lineCol(data, i)
		return fail(line, col, "the file contains NUL bytes (a binary file?); expected a YAML or JSON snapshot")
	}
	if !utf8.Valid(data) {
		i := firstInvalidUTF8(data)
		line, col := lineCol(data, i)
		return fail(line, col, "the file is not UTF-8 text (a binary file?); expected a YAML or JSON snapshot")
	}

	var root *node
	budget := math.MaxInt
	if trimmed[0] == '{' {
		r, err := parseJSONTree(data)
		if err != nil {
			var se *syntaxError
			if errors.As(err, &se) {
				return fail(se.line, se.col, "invalid JSON: "+se.msg)
			}
			return fail(0, 0, "invalid JSON: "+err.Error())
		}
		root = r
	} else {
		r, count, err := readYAML(name, data)
		if err != nil {
			var se *syntaxError
			if errors.As(err, &se) {
				return fail(se.line, se.col, se.msg)
			}
			return fail(0, 0, err.Error())
		}
		if r == nil {
			return fail(0, 0, "the file holds no YAML document (only comments?); expected a snapshot starting with version: 1")
		}
		root = r
		if count > 0 {
			budget = 4*count + 1_000_000
		}
	}
	if root.kind != kindMap {
		return fail(int(root.line), int(root.col), fmt.Sprintf(
			"the top level is %s; expected an object with version: 1, gateway: …", root.describe()))
	}

	s := &Snapshot{}
	d := &decoder{budget: budget}
	d.decode(root, reflect.ValueOf(s).Elem())
	problems := d.problems
	truncated := d.truncated
	if !d.aborted {
		v := newValidator(s)
		v.run()
		for _, p := range v.problems {
			if d.suppressed(p) {
				continue
			}
			if len(problems) >= maxProblems {
				truncated = true
				break
			}
			placeProblem(root, p)
			problems = append(problems, p)
		}
		truncated = truncated || v.truncated
	}
	if truncated {
		problems = append(problems, stoppedProblem())
	}
	if len(problems) > 0 {
		for _, p := range problems {
			p.File = name
		}
		return nil, problemsError(name, problems)
	}
	return s, nil
}

// suppressed reports whether a validation problem only echoes a value the
// decoder already rejected (or a reference into a collection it could not
// read whole).
func (d *decoder) suppressed(p *Problem) bool {
	if len(d.failed) == 0 {
		return false
	}
	path := p.Path
	for i := len(path); i > 0; i-- {
		if i == len(path) || path[i] == '.' || path[i] == '[' {
			if d.failed[path[:i]] {
				return true
			}
		}
	}
	if p.refTo != "" {
		// A reference dangles spuriously when the collection, one of its
		// elements, or an element's identifying key could not be decoded.
		for f := range d.failed {
			rest, ok := strings.CutPrefix(f, p.refTo)
			if !ok {
				continue
			}
			if rest == "" {
				return true
			}
			if rest[0] != '[' {
				continue
			}
			end := strings.IndexByte(rest, ']')
			switch rest[end+1:] {
			case "", ".id", ".name", ".instanceId":
				return true
			}
		}
	}
	return false
}

// placeProblem gives a validation problem the line and column of the value
// its path names, or of the nearest enclosing value that is in the file.
func placeProblem(root *node, p *Problem) {
	line, col, _ := locate(root, p.Path)
	p.Line, p.Column = line, col
	if p.see != "" {
		if l, _, exact := locate(root, p.see); exact && l > 0 && l != p.Line {
			p.Message += fmt.Sprintf(" (line %d)", l)
		}
	}
}

func locate(root *node, path string) (line, col int, exact bool) {
	n := root
	line, col = int(root.line), int(root.col)
	for path != "" {
		var seg string
		index := -1
		if path[0] == '[' {
			end := strings.IndexByte(path, ']')
			if end < 0 {
				return line, col, false
			}
			idx, err := strconv.Atoi(path[1:end])
			if err != nil {
				return line, col, false
			}
			index, path = idx, path[end+1:]
		} else {
			path = strings.TrimPrefix(path, ".")
			end := strings.IndexAny(path, ".[")
			if end < 0 {
				end = len(path)
			}
			seg, path = path[:end], path[end:]
		}
		switch {
		case index >= 0 && n.kind == kindSeq && index < len(n.kids):
			n = n.kids[index].value
			line, col = int(n.line), int(n.col)
		case index < 0 && n.kind == kindMap:
			found := false
			for i := range n.kids {
				if n.kids[i].key == seg {
					f := &n.kids[i]
					n, found = f.value, true
					line, col = int(f.line), int(f.col)
					break
				}
			}
			if !found {
				return line, col, false
			}
		default:
			return line, col, false
		}
		// Lists and objects are placed at their first entry; the key (or
		// list item) that holds them is a better line for the reader.
		if n.kind == kindSeq || n.kind == kindMap {
			if path == "" {
				return line, col, true
			}
		}
	}
	return line, col, true
}

func lineCol(data []byte, offset int) (int, int) {
	line := 1 + bytes.Count(data[:offset], []byte("\n"))
	start := bytes.LastIndexByte(data[:offset], '\n') + 1
	return line, utf8.RuneCount(data[start:offset]) + 1
}

func firstInvalidUTF8(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(data)
}

// slowYAMLLimit bounds the files handed to goccy/go-yaml, which needs about
// 100 bytes of memory per byte of YAML.
const slowYAMLLimit = 4 << 20

// readYAML reads with the fast block-style reader, and falls back to
// goccy/go-yaml for everything else YAML allows (and for the verdict on
// syntax errors).
func readYAML(name string, data []byte) (*node, int, error) {
	root, err := parseFastYAML(data)
	if err == nil {
		return root, 0, nil
	}
	var nf *notFastError
	if errors.As(err, &nf) && len(data) > slowYAMLLimit {
		return nil, 0, &syntaxError{line: int(max(nf.line, 1)), col: 1, msg: fmt.Sprintf(
			"this %s YAML file uses a construct outside the block style gwdoctor writes (anchors, tags, block or multi-line "+
				"scalars, tabs, CRLF line ends, unusual indentation, or a syntax error) near this line; YAML files over %d MiB "+
				"must use the plain block style: save the snapshot as JSON or rewrite that part", sizeText(int64(len(data))), slowYAMLLimit>>20)}
	}
	// goccy/go-yaml takes quadratic time on deep nesting (100,000 '[' take
	// seconds): refuse what no snapshot needs before handing it over.
	if line, deep := yamlTooDeep(data); deep {
		return nil, 0, &syntaxError{line: line, col: 1, msg: fmt.Sprintf("nested more than %d levels deep", maxDepth)} //words:never-one (a constant)
	}
	return parseYAMLTree(data)
}

// yamlTooDeep estimates YAML nesting from flow brackets outside quotes and
// comments, and from "- - -" runs at the start of a line.
func yamlTooDeep(data []byte) (line int, deep bool) {
	depth, line := 0, 1
	var quote byte
	atLineStart, dashes := true, 0
	for i := 0; i < len(data); i++ {
		c := data[i]
		if c == '\n' {
			line++
			atLineStart, dashes = true, 0
			continue // a quote stays open: quoted scalars may span lines
		}
		if quote != 0 {
			if c == '\\' && quote == '"' {
				i++
			} else if c == quote {
				quote = 0
			}
			continue
		}
		if atLineStart {
			switch {
			case c == ' ':
				continue
			case c == '-' && (i+1 == len(data) || data[i+1] == ' '):
				if dashes++; dashes > maxDepth {
					return line, true
				}
				continue
			default:
				atLineStart = false
			}
		}
		switch c {
		case '#':
			if i == 0 || data[i-1] == ' ' || data[i-1] == '\t' {
				for i+1 < len(data) && data[i+1] != '\n' {
					i++
				}
			}
		case '\'', '"':
			if i == 0 || strings.IndexByte(" \t[{,:-", data[i-1]) >= 0 {
				quote = c
			}
		case '[', '{':
			if depth++; depth > maxDepth {
				return line, true
			}
		case ']', '}':
			if depth > 0 {
				depth--
			}
		}
	}
	return line, false
}
