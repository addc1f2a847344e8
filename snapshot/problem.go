package snapshot

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/go-multierror"

	"github.com/gwdoctor/gwdoctor/internal/words"
)

// Problem is one thing wrong with a snapshot, placed as precisely as the
// input allows: File and Line are empty/0 for snapshots validated in memory.
type Problem struct {
	File    string
	Line    int
	Column  int
	Path    string // field path, e.g. securityGroups[1].rules[0].portRange
	Message string // what is wrong; what is expected

	see   string // path of a related value (e.g. the first of two duplicates)
	refTo string // collection a reference points into, for cascade suppression
	cause error
}

// Error formats the problem as FILE:LINE: path: message.
func (p *Problem) Error() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(p.Line))
		}
		b.WriteString(": ")
	} else if p.Line > 0 {
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(p.Line))
		b.WriteString(": ")
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Unwrap returns the underlying error, if any (e.g. fs.ErrNotExist).
func (p *Problem) Unwrap() error { return p.cause }

// Problems returns the problems inside an error returned by this package
// (nil when err carries none).
func Problems(err error) []*Problem {
	if err == nil {
		return nil
	}
	var me *multierror.Error
	if errors.As(err, &me) {
		out := make([]*Problem, 0, len(me.Errors))
		for _, e := range me.Errors {
			var p *Problem
			if errors.As(e, &p) {
				out = append(out, p)
			}
		}
		return out
	}
	var p *Problem
	if errors.As(err, &p) {
		return []*Problem{p}
	}
	return nil
}

// problemsError sorts problems by position and wraps them in a multierror
// that prints a count line and then one problem per line.
func problemsError(file string, ps []*Problem) error {
	if len(ps) == 0 {
		return nil
	}
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Line != ps[j].Line {
			return ps[i].Line < ps[j].Line
		}
		return ps[i].Column < ps[j].Column
	})
	me := &multierror.Error{ErrorFormat: formatProblems(file)}
	for _, p := range ps {
		me.Errors = append(me.Errors, p)
	}
	return me
}

// maxPrintedProblems bounds the error text; Problems returns all of them.
const maxPrintedProblems = 500

func formatProblems(file string) multierror.ErrorFormatFunc {
	return func(es []error) string {
		name := file
		if name == "" {
			name = "snapshot"
		}
		var b strings.Builder
		noun := "problems"
		if len(es) == 1 {
			noun = "problem"
		}
		fmt.Fprintf(&b, "%s: %d %s:", name, len(es), noun)
		for i, e := range es {
			if i == maxPrintedProblems {
				fmt.Fprintf(&b, "\n… and %s", words.Count(len(es)-i, "more problem", "more problems"))
				break
			}
			b.WriteString("\n")
			b.WriteString(e.Error())
		}
		return b.String()
	}
}
