//go:build linux

package netlab

import (
	"testing"

	"github.com/gwdoctor/gwdoctor/internal/testenv"
)

// NewTestPair creates a Pair for a test, skipping (or failing in CI) where
// namespaces and nftables are unavailable. It is removed when the test ends,
// whether it passed or not.
func NewTestPair(t testing.TB) *Pair {
	t.Helper()
	testenv.NeedNetns(t)
	p, err := NewPair()
	if err != nil {
		t.Fatalf("network lab: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("removing network lab: %v", err)
		}
	})
	return p
}
