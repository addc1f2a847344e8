package checks

import (
	"fmt"
	"github.com/gwdoctor/gwdoctor/internal/words"
	"sort"
	"strings"

	"github.com/gwdoctor/gwdoctor/diagnose"
)

// Article is the FAQ-style explanation of one catalog code, printed by
// `gwdoctor explain CODE|SLUG`. Articles live next to the check that emits
// the code (GWD001's next to the engine's skip rule, in this file).
type Article struct {
	Code string
	// Symptom is what the on-call engineer sees.
	Symptom string
	// Cause is why it happens.
	Cause string
	// Detection is how gwdoctor decides.
	Detection string
	// Fix is what to do: console steps and commands.
	Fix string
	// Related are other codes worth reading.
	Related []string
}

var articles = map[string]*Article{}

// explains registers the article for its code; a second article for the
// same code is a programming error.
func explains(a Article) struct{} {
	if _, dup := articles[a.Code]; dup {
		panic("checks: two articles for " + a.Code)
	}
	articles[a.Code] = &a
	return struct{}{}
}

// ArticleFor returns the article for a code ID or slug.
func ArticleFor(idOrSlug string) (*Article, diagnose.Code, bool) {
	code, ok := diagnose.LookupCode(idOrSlug)
	if !ok {
		return nil, diagnose.Code{}, false
	}
	a, ok := articles[code.ID]
	return a, code, ok
}

// Suggest returns up to n catalog codes and slugs nearest to s (edit
// distance on IDs and slugs, and slugs containing s), for "did you mean".
func Suggest(s string, n int) []string {
	s = strings.ToLower(strings.TrimSpace(s))
	type cand struct {
		text string
		d    int
	}
	var cs []cand
	for _, c := range diagnose.Catalog {
		d := min(words.EditDistance(s, strings.ToLower(c.ID)), words.EditDistance(s, c.Slug))
		if s != "" && strings.Contains(c.Slug, s) {
			d = min(d, 1)
		}
		cs = append(cs, cand{c.ID + " " + c.Slug, d})
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].d < cs[j].d })
	var out []string
	for _, c := range cs {
		if len(out) == n || (len(out) > 0 && c.d > max(3, len(s)/2)) {
			break
		}
		out = append(out, c.text)
	}
	return out
}

// Text renders the article as plain text: title, then the sections.
func (a *Article) Text(code diagnose.Code) string {
	var b strings.Builder
	sevs := make([]string, len(code.Severities))
	for i, s := range code.Severities {
		sevs[i] = s.String()
	}
	fmt.Fprintf(&b, "%s %s (%s)\n%s\n", code.ID, code.Slug, strings.Join(sevs, " / "), code.Title)
	section := func(title, body string) {
		if strings.TrimSpace(body) == "" {
			return
		}
		fmt.Fprintf(&b, "\n%s\n%s\n", strings.ToUpper(title), indent(strings.TrimSpace(body)))
	}
	section("Symptom", a.Symptom)
	section("Cause", a.Cause)
	section("How gwdoctor detects it", a.Detection)
	section("Fix", a.Fix)
	if len(a.Related) > 0 {
		var rel []string
		for _, r := range a.Related {
			if c, ok := diagnose.LookupCode(r); ok {
				rel = append(rel, c.ID+" "+c.Slug)
			}
		}
		section("Related", strings.Join(rel, "\n"))
	}
	return b.String()
}

func indent(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = "  " + l
		}
	}
	return strings.Join(lines, "\n")
}

var _ = explains(Article{
	Code: diagnose.CodeCheckSkipped,
	Symptom: `The report lists a check under "Skipped checks", and a GWD001 note names it and the
missing input.`,
	Cause: `A check needs inputs the snapshot does not have: no probes were recorded, node pools or
nodes were not collected, or a live collection failed for a part (recorded under missing:).
A skipped check has not passed: it has not run.`,
	Detection: `Every check declares the inputs it needs (gwdoctor checks lists them). The engine skips
a check when an input is absent or recorded as missing, and reports which input and why.`,
	Fix: `Provide the input: run with --probe (from a host in the gateway's vSwitch, with
--probe-from gateway) for the probe checks; collect with permissions for the failed API
(the missing: entry names the action, e.g. ecs:DescribeSecurityGroupAttribute); or add the
part to the snapshot by hand.`,
	Related: []string{diagnose.CodeVerdictUnknown},
})
