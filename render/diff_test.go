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

// TestDiffFixStepsNumberedOnce: every fix step is listed once, numbered 1..n
// under the cause, for any number of steps; none is inlined in the cause.
func TestDiffFixStepsNumberedOnce(t *testing.T) {
	for n := 1; n <= 4; n++ {
		var steps []string
		for i := 1; i <= n; i++ {
			steps = append(steps, "step "+string(rune('A'+i-1)))
		}
		subject := "shop/orders 10.0.0.1:8080"
		ex := diff.Explanation{Subject: subject, Text: subject + " broke because pod moved [C1] — GWD102 wrong-node; fix: " + steps[0], Fix: steps, Commands: []string{"aliyun mse AddSecurityGroupRule --region cn-hangzhou"}}
		var b strings.Builder
		if err := WriteDiff(&b, &diff.Result{Result: diff.ResultBroken, Explanations: []diff.Explanation{ex}}, FormatText); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		for i, s := range steps {
			if c := strings.Count(out, s); c != 1 {
				t.Errorf("%d steps: %q appears %d times:\n%s", n, s, c, out)
			}
			if n > 1 && !strings.Contains(out, "      "+string(rune('1'+i))+". "+s+"\n") {
				t.Errorf("%d steps: step %d not numbered %d:\n%s", n, i+1, i+1, out)
			}
		}
		if strings.Contains(out, "; fix:") {
			t.Errorf("%d steps: a step is inlined in the cause:\n%s", n, out)
		}
	}
}
