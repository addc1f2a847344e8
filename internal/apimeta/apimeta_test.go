package apimeta

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestSplitWords(t *testing.T) {
	for _, tc := range []struct {
		line string
		want []string
		err  string
	}{
		{"a b  c", []string{"a", "b", "c"}, ""},
		{`--Description 'gwdoctor: MSE gateway to shop/orders'`, []string{"--Description", "gwdoctor: MSE gateway to shop/orders"}, ""},
		{`'it'\''s'`, []string{"it's"}, ""},
		{`"a \"b\" \$c"`, []string{`a "b" $c`}, ""},
		{`a\ b`, []string{"a b"}, ""},
		{`x''`, []string{"x"}, ""},
		{`--body '{"a":[1]}'`, []string{"--body", `{"a":[1]}`}, ""},
		{"a <b>", nil, "unquoted '<'"},
		{"a > b", nil, "unquoted '>'"},
		{"a; b", nil, "unquoted ';'"},
		{"a | b", nil, "unquoted '|'"},
		{"a & b", nil, "unquoted '&'"},
		{"a $HOME", nil, "unquoted '$'"},
		{"a `id`", nil, "unquoted '`'"},
		{`"$(id)"`, nil, "expands"},
		{"a *", nil, "file-name pattern"},
		{"a #c", nil, "comment"},
		{"a ~", nil, "home directory"},
		{"'a", nil, "unterminated single"},
		{`"a`, nil, "unterminated double"},
		{"a\nb", nil, "unquoted '\\n'"},
		{`a\`, nil, "trailing backslash"},
	} {
		got, err := SplitWords(tc.line)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: error %v, want %q", tc.line, err, tc.err)
		case tc.err == "" && (err != nil || !reflect.DeepEqual(got, tc.want)):
			t.Errorf("%q: %q, %v; want %q", tc.line, got, err, tc.want)
		}
	}
}

func TestLoadDerivesListFieldsFromDeprecationNotes(t *testing.T) {
	c, err := Load(filepath.Join("..", "..", "testdata", "aliyun-api"))
	if err != nil {
		t.Fatal(err)
	}
	a, ok := c.Lookup("ecs", "AuthorizeSecurityGroup")
	if !ok {
		t.Fatal("AuthorizeSecurityGroup missing")
	}
	p, err := a.Param("Permissions.2.SourceGroupId")
	if err != nil || p.Deprecated {
		t.Fatalf("Permissions.2.SourceGroupId: %+v, %v", p, err)
	}
	if p, err := a.Param("SourceGroupId"); err != nil || !p.Deprecated {
		t.Fatalf("top-level SourceGroupId should be deprecated: %+v, %v", p, err)
	}
	for _, bad := range []string{"Permissions", "Permissions.0.PortRange", "Permissions.1.Nope", "Nope"} {
		if _, err := a.Param(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if a, vals, ok := c.LookupROA("cs", "PUT", "/clusters/c1/nodepools/np1"); !ok || a.Name != "ModifyClusterNodePool" || vals["NodepoolId"] != "np1" {
		t.Fatalf("ROA lookup: %v %v %v", a, vals, ok)
	}
	if _, _, ok := c.LookupROA("cs", "PUT", "/clusters/c1/nodepools"); ok {
		t.Fatal("a shorter path matched")
	}
}
