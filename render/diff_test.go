package render

import (
	"strings"
	"testing"

	"github.com/gwdoctor/gwdoctor/diff"
)

func TestExplanationsGroupedByCause(t *testing.T) {
	var exs []diff.Explanation
	for _, ip := range []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"} {
		s := "shop/orders " + ip + ":8080"
		exs = append(exs, diff.Explanation{Subject: s, Text: s + " broke (reachable → blocked) because rule sg-a/sgr-1 removed [C1]"})
	}
	exs = append(exs, diff.Explanation{Subject: "shop/cart 10.0.0.9:8080", Text: "shop/cart 10.0.0.9:8080 broke (reachable → blocked) because pod cart-1 moved [C2]"})
	r := &diff.Result{Result: diff.ResultBroken, Explanations: exs}
	var b strings.Builder
	if err := WriteDiff(Terminal(&b), r, FormatText); err != nil { // not a terminal: plain text
		t.Fatal(err)
	}
	want := "✗ 5 endpoints (shop/orders 10.0.0.1:8080, shop/orders 10.0.0.2:8080, shop/orders 10.0.0.3:8080 and 2 more) broke (reachable → blocked) because rule sg-a/sgr-1 removed [C1]"
	if !strings.Contains(b.String(), want) || !strings.Contains(b.String(), "✗ shop/cart 10.0.0.9:8080 broke") {
		t.Errorf("text:\n%s", b.String())
	}
	b.Reset()
	if err := WriteDiff(&b, r, FormatMarkdown); err != nil {
		t.Fatal(err)
	}
	if strings.Count(b.String(), "\n- ") != 2 {
		t.Errorf("markdown: want 2 grouped items:\n%s", b.String())
	}
}
