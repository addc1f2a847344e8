package snapshot

import (
	"encoding/json"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/goccy/go-yaml/parser"
)

// cpuTime is the process's user+system CPU time: on a shared machine it
// says more than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchParse(b *testing.B, name string, data []byte) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		if _, err := Parse(name, data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-start).Milliseconds())/float64(b.N), "cpu-ms/op")
}

var (
	largeOnce            sync.Once
	largeJSON, largeYAML []byte
)

func largeFiles(b *testing.B) ([]byte, []byte) {
	largeOnce.Do(func() {
		s := largeSnapshot()
		var err error
		if largeJSON, err = Marshal(s, JSON); err != nil {
			b.Fatal(err)
		}
		if largeYAML, err = Marshal(s, YAML); err != nil {
			b.Fatal(err)
		}
	})
	return largeJSON, largeYAML
}

// BenchmarkLoadLargeJSON parses, decodes and validates a 100,000-endpoint,
// 100,000-rule snapshot (about 50 MB of JSON).
func BenchmarkLoadLargeJSON(b *testing.B) {
	data, _ := largeFiles(b)
	benchParse(b, "large.json", data)
}

// BenchmarkLoadLargeYAML is the same snapshot as YAML (about 37 MB).
func BenchmarkLoadLargeYAML(b *testing.B) {
	_, data := largeFiles(b)
	benchParse(b, "large.yaml", data)
}

// BenchmarkPeerEncodingJSON is the peer for BenchmarkLoadLargeJSON:
// encoding/json.Unmarshal of the same file into the same structs, with no
// positions, no strictness beyond types, and no validation.
func BenchmarkPeerEncodingJSON(b *testing.B) {
	data, _ := largeFiles(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		var s Snapshot
		if err := json.Unmarshal(data, &s); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-start).Milliseconds())/float64(b.N), "cpu-ms/op")
}

var (
	mediumOnce sync.Once
	mediumYAML []byte
)

// A tenth of the large snapshot (10,000 endpoints and rules, about 3.7 MB of
// YAML): goccy/go-yaml is too slow for the full size.
func mediumFile(b *testing.B) []byte {
	mediumOnce.Do(func() {
		var err error
		if mediumYAML, err = Marshal(genSnapshot(100, 100, 500, 100, 100), YAML); err != nil {
			b.Fatal(err)
		}
	})
	return mediumYAML
}

// BenchmarkLoadMediumYAML loads the medium snapshot (fast reader, decode,
// validation).
func BenchmarkLoadMediumYAML(b *testing.B) {
	benchParse(b, "medium.yaml", mediumFile(b))
}

// BenchmarkPeerGoccyMediumYAML is the peer: goccy/go-yaml building its AST
// of the same file (what loading cost before the fast reader), before any
// decoding or validation.
func BenchmarkPeerGoccyMediumYAML(b *testing.B) {
	data := mediumFile(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		if _, err := parser.ParseBytes(data, 0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-start).Milliseconds())/float64(b.N), "cpu-ms/op")
}
