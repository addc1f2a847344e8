// Package checks is gwdoctor's catalog: one file per check, each a
// *diagnose.Check value over the shared diagnose.View. All lists them for the
// engine. Checks never import UI, CLI or cloud SDKs.
package checks

import "github.com/gwdoctor/gwdoctor/diagnose"

// All returns every check in the catalog, in code order.
func All() []*diagnose.Check {
	return []*diagnose.Check{
		VerdictUnknown,
	}
}
