package snapshot

import (
	"sync"
	"syscall"
	"testing"
	"time"
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
