package apimeta

import (
	"fmt"
	"net/netip"
	"strings"
)

// SplitWords splits a command line into words as a POSIX shell would, for
// the one simple command gwdoctor prints: single quotes, double quotes and
// backslash escapes. It fails on anything the shell would read as more than
// one simple command with literal arguments: an unquoted operator or
// redirection (| & ; < > ( )), a substitution or expansion ($, `), a glob
// (* ? [), a comment, a newline, or an unterminated quote.
//
// Hand-written because neither the standard library nor any dependency the
// project allows provides a shell-word parser, and this check is the point:
// a "<cluster-id>" printed into a command is a redirection, not a value.
func SplitWords(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated single quote at byte %d", i)
			}
			cur.WriteString(line[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(line) && line[i] != '"'; i++ {
				switch line[i] {
				case '$', '`':
					return nil, fmt.Errorf("%q inside double quotes at byte %d expands", line[i], i)
				case '\\':
					if i+1 < len(line) && strings.IndexByte("$`\"\\\n", line[i+1]) >= 0 {
						i++
					}
				}
				cur.WriteByte(line[i])
			}
			if i >= len(line) {
				return nil, fmt.Errorf("unterminated double quote")
			}
			inWord = true
		case c == '\\':
			if i+1 >= len(line) || line[i+1] == '\n' {
				return nil, fmt.Errorf("a trailing backslash continues the line")
			}
			i++
			cur.WriteByte(line[i])
			inWord = true
		case strings.IndexByte("|&;<>()$`\n", c) >= 0:
			return nil, fmt.Errorf("unquoted %q at byte %d: the shell reads it as an operator, redirection or expansion", c, i)
		case strings.IndexByte("*?[", c) >= 0:
			return nil, fmt.Errorf("unquoted %q at byte %d: the shell expands it as a file-name pattern", c, i)
		case c == '#' && !inWord:
			return nil, fmt.Errorf("unquoted # at byte %d starts a comment", i)
		case c == '~' && !inWord:
			return nil, fmt.Errorf("unquoted ~ at byte %d expands to a home directory", i)
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

func checkCIDR(v string) error {
	if _, err := netip.ParsePrefix(v); err == nil {
		return nil
	}
	if _, err := netip.ParseAddr(v); err == nil {
		return nil
	}
	return fmt.Errorf("%q is not a CIDR block or IP address", v)
}
