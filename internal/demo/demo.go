// Package demo embeds gwdoctor's demo scenario: one gateway and seven
// services, one healthy and the others broken in the MSE FAQ's ways, on
// loopback addresses so the demo's probes can be live on any Linux machine.
package demo

import (
	_ "embed"

	"github.com/gwdoctor/gwdoctor/snapshot"
)

//go:embed demo.yaml
var source []byte

// Name is how the demo scenario is named in reports and errors.
const Name = "demo.yaml (embedded)"

// Snapshot parses a fresh copy of the embedded scenario.
func Snapshot() (*snapshot.Snapshot, error) {
	return snapshot.Parse(Name, source)
}

// Source is the scenario's YAML, for `gwdoctor demo --print`.
func Source() []byte { return append([]byte(nil), source...) }
