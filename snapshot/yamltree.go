package snapshot

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// parseYAMLTree reads YAML with goccy/go-yaml's parser and converts its AST
// into our node tree. Duplicate keys are let through the parser so that the
// decoder can report every one of them, not just the first.
func parseYAMLTree(data []byte) (root *node, nodes int, err error) {
	defer func() {
		// The parser is third-party code fed untrusted input: a panic in it
		// must become an error, never take the tool down.
		if r := recover(); r != nil {
			root, err = nil, &syntaxError{line: 1, col: 1, msg: fmt.Sprintf("the YAML parser failed on this input (%v)", r)}
		}
	}()
	f, perr := parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey())
	if perr != nil {
		return nil, 0, yamlSyntaxError(perr)
	}
	var body ast.Node
	for _, doc := range f.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		if _, isComment := doc.Body.(*ast.CommentGroupNode); isComment {
			continue
		}
		if body != nil {
			tk := doc.Body.GetToken()
			return nil, 0, &syntaxError{line: posLine(tk), col: posCol(tk), msg: "a second YAML document; a snapshot file holds exactly one"}
		}
		body = doc.Body
	}
	if body == nil {
		return nil, 0, nil
	}
	c := &yamlConverter{anchors: map[string]*node{}}
	root, err = c.convert(body, 0)
	return root, c.count, err
}

func yamlSyntaxError(err error) error {
	var ye yaml.Error
	if errors.As(err, &ye) {
		tk := ye.GetToken()
		return &syntaxError{line: posLine(tk), col: posCol(tk), msg: "invalid YAML: " + ye.GetMessage()}
	}
	return &syntaxError{line: 1, col: 1, msg: "invalid YAML: " + err.Error()}
}

func posLine(tk *token.Token) int {
	if tk == nil || tk.Position == nil {
		return 1
	}
	return max(tk.Position.Line, 1)
}

func posCol(tk *token.Token) int {
	if tk == nil || tk.Position == nil {
		return 1
	}
	return max(tk.Position.Column, 1)
}

type yamlConverter struct {
	alloc   nodeAlloc
	anchors map[string]*node
	count   int
}

func (c *yamlConverter) errAt(n ast.Node, format string, args ...any) error {
	tk := n.GetToken()
	return &syntaxError{line: posLine(tk), col: posCol(tk), msg: fmt.Sprintf(format, args...)}
}

func (c *yamlConverter) newNode(kind nodeKind, from ast.Node) *node {
	c.count++
	tk := from.GetToken()
	return c.alloc.new(kind, int32(posLine(tk)), int32(posCol(tk)))
}

func (c *yamlConverter) convert(an ast.Node, depth int) (*node, error) {
	if depth > maxDepth {
		return nil, c.errAt(an, "nested more than %d levels deep", maxDepth) //words:never-one (a constant)
	}
	switch v := an.(type) {
	case nil:
		return nil, &syntaxError{line: 1, col: 1, msg: "invalid YAML: missing value"}
	case *ast.NullNode, *ast.StringNode, *ast.LiteralNode, *ast.BoolNode, *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		n := c.newNode(kindNull, v)
		scalarFromAST(v, n)
		return n, nil
	case *ast.TagNode:
		return c.convertTag(v, depth)
	case *ast.AnchorNode:
		inner, err := c.convert(v.Value, depth+1)
		if err != nil {
			return nil, err
		}
		if v.Name != nil {
			c.anchors[v.Name.GetToken().Value] = inner
		}
		return inner, nil
	case *ast.AliasNode:
		name := ""
		if v.Value != nil {
			name = v.Value.GetToken().Value
		}
		target, ok := c.anchors[name]
		if !ok {
			return nil, c.errAt(v, "alias *%s names no anchor defined before it", name)
		}
		return target, nil
	case *ast.SequenceNode:
		n := c.newNode(kindSeq, v)
		n.kids = make([]field, 0, len(v.Values))
		for _, item := range v.Values {
			in, err := c.convert(item, depth+1)
			if err != nil {
				return nil, err
			}
			n.kids = append(n.kids, field{value: in})
		}
		return n, nil
	case *ast.MappingNode:
		return c.convertMapping(v, v.Values, depth)
	case *ast.MappingValueNode:
		return c.convertMapping(v, []*ast.MappingValueNode{v}, depth)
	case *ast.DocumentNode:
		return c.convert(v.Body, depth)
	}
	return nil, c.errAt(an, "unsupported YAML construct (%s)", an.Type())
}

func (c *yamlConverter) convertTag(v *ast.TagNode, depth int) (*node, error) {
	tag := ""
	if v.Start != nil {
		tag = v.Start.Value
	}
	inner, err := c.convert(v.Value, depth+1)
	if err != nil {
		return nil, err
	}
	switch tag {
	case "!!str":
		if inner.kind == kindSeq || inner.kind == kindMap {
			return nil, c.errAt(v, "!!str on a collection")
		}
		s := c.newNode(kindString, v)
		s.str = inner.str
		if inner.kind == kindNull {
			s.str = ""
		}
		return s, nil
	case "!!int", "!!float", "!!bool", "!!null", "!!map", "!!seq":
		return inner, nil
	}
	return nil, c.errAt(v, "unsupported YAML tag %s; a snapshot uses plain values", tag)
}

func (c *yamlConverter) convertMapping(an ast.Node, values []*ast.MappingValueNode, depth int) (*node, error) {
	n := c.newNode(kindMap, an)
	if len(values) > 0 && values[0] != nil && values[0].Key != nil {
		tk := values[0].Key.GetToken()
		n.line, n.col = int32(posLine(tk)), int32(posCol(tk))
	}
	var merged []field
	for _, mv := range values {
		if mv == nil || mv.Key == nil {
			continue
		}
		if mv.Key.IsMergeKey() {
			src, err := c.convert(mv.Value, depth+1)
			if err != nil {
				return nil, err
			}
			sources := []field{{value: src}}
			if src.kind == kindSeq {
				sources = src.kids
			}
			for _, s := range sources {
				if s.value.kind != kindMap {
					return nil, c.errAt(mv.Value, "merge key << needs an object or a list of objects")
				}
				merged = append(merged, s.value.kids...)
			}
			continue
		}
		key, err := c.keyText(mv.Key)
		if err != nil {
			return nil, err
		}
		val, err := c.convert(mv.Value, depth+1)
		if err != nil {
			return nil, err
		}
		tk := mv.Key.GetToken()
		n.kids = append(n.kids, field{key: key, line: int32(posLine(tk)), col: int32(posCol(tk)), value: val})
	}
	// Merged keys fill in what the mapping does not set itself; among merge
	// sources the first one wins (YAML merge-key semantics).
	if len(merged) > 0 {
		present := make(map[string]bool, len(n.kids)+len(merged))
		for _, f := range n.kids {
			present[f.key] = true
		}
		for _, mf := range merged {
			if !present[mf.key] {
				present[mf.key] = true
				n.kids = append(n.kids, mf)
			}
		}
	}
	return n, nil
}

func (c *yamlConverter) keyText(k ast.MapKeyNode) (string, error) {
	switch kv := k.(type) {
	case *ast.StringNode:
		return kv.Value, nil
	case *ast.MappingKeyNode:
		return "", c.errAt(k, "complex mapping keys (?) are not supported; use plain keys")
	case *ast.TagNode, *ast.AnchorNode, *ast.AliasNode:
		inner, err := c.convert(kv, 0)
		if err != nil {
			return "", err
		}
		if inner.kind == kindSeq || inner.kind == kindMap {
			return "", c.errAt(k, "a key must be a plain word")
		}
		return inner.str, nil
	case ast.ScalarNode:
		return kv.GetToken().Value, nil
	}
	return "", c.errAt(k, "a key must be a plain word")
}

// scalarFromAST fills n from a goccy scalar node; it reports false for
// anything that is not a scalar. Numbers keep a literal strconv reads:
// YAML also writes 0x1f, 0o17 and 1_000.
func scalarFromAST(an ast.Node, n *node) bool {
	switch v := an.(type) {
	case *ast.NullNode:
		n.kind = kindNull
	case *ast.StringNode:
		n.kind, n.str = kindString, v.Value
	case *ast.LiteralNode:
		n.kind = kindString
		if v.Value != nil {
			n.str = v.Value.Value
		}
	case *ast.BoolNode:
		n.kind, n.str = kindBool, strconv.FormatBool(v.Value)
	case *ast.IntegerNode:
		n.kind = kindNumber
		switch x := v.Value.(type) {
		case int64:
			n.str = strconv.FormatInt(x, 10)
		case uint64:
			n.str = strconv.FormatUint(x, 10)
		default:
			n.str = "NaN"
		}
	case *ast.FloatNode:
		n.kind, n.str = kindNumber, strconv.FormatFloat(v.Value, 'g', -1, 64)
	case *ast.InfinityNode:
		n.kind, n.str = kindNumber, strconv.FormatFloat(v.Value, 'g', -1, 64)
	case *ast.NanNode:
		n.kind, n.str = kindNumber, "NaN"
	default:
		return false
	}
	return true
}
