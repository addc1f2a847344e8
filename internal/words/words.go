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
