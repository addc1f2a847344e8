package lab

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/gwdoctor/gwdoctor/internal/testenv"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// TestReplayLabTestdata replays the lab's own kept scenarios (lab/testdata:
// scenarios that once disagreed, and hand-made ones).
func TestReplayLabTestdata(t *testing.T) { replayDir(t, "testdata") }

// TestReplayScenarios replays every end-to-end scenario of the repository
// (testdata/scenarios/*.yaml, top level): the live probes in the lab must
// agree with the scenario's static verdicts.
func TestReplayScenarios(t *testing.T) { replayDir(t, filepath.Join("..", "testdata", "scenarios")) }

func replayDir(t *testing.T, dir string) {
	testenv.NeedNetns(t)
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	if len(files) == 0 {
		t.Logf("no scenarios in %s yet: nothing to replay", dir)
		return
	}
	var tally tallies
	notEmulated := 0
	// Scenarios replay a few at a time: bringing a lab up and down is
	// mostly waiting for ip and nft.
	var wg sync.WaitGroup
	var mu sync.Mutex
	sem := make(chan struct{}, 4)
	for _, file := range files {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			t.Run(strings.TrimSuffix(filepath.Base(file), filepath.Ext(file)), func(t *testing.T) {
				s, err := snapshot.Load(file)
				if err != nil {
					// Scenarios of invalid input are the loader's tests.
					t.Logf("%s does not load, so there is nothing to emulate: %v", file, err)
					mu.Lock()
					notEmulated++
					mu.Unlock()
					return
				}
				l, err := Up(context.Background(), s, Options{Prober: true, TeardownOnSignal: true, HelperLog: os.Stderr})
				if errors.Is(err, ErrCannotEmulate) {
					t.Logf("%s: not emulated: %v", file, err)
					mu.Lock()
					notEmulated++
					mu.Unlock()
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() {
					if err := l.Close(); err != nil {
						t.Errorf("tearing the lab down: %v", err)
					}
				})
				c := compareLab(t, l)
				tally.add(c)
				for _, d := range c.disagreements {
					t.Errorf("%s: %s", file, d)
				}
				t.Logf("%s: %d endpoints compared %v, %d unknown, %d not comparable %v", file, c.compared, c.states, c.unknown, c.notComparable, c.reasons)
			})
		}()
	}
	wg.Wait()
	t.Logf("%s: %d scenarios, %d replayed, %d not emulated, %d endpoints compared, %d unknown, %d not comparable, %d disagreements",
		dir, len(files), tally.scenarios, notEmulated, tally.compared, tally.unknown, tally.notComparable, tally.disagreements)
}
