// Package words holds the small wording helpers every output shares, so
// counts read right ("1 finding", "2 findings") everywhere.
package words

import "strconv"

// Count is n with the noun in the right number: Count(1, "endpoint",
// "endpoints") is "1 endpoint", Count(0, …) "0 endpoints".
func Count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// EditDistance is the Levenshtein distance of a and b, by rune: how "did
// you mean" suggestions rank close names.
func EditDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
