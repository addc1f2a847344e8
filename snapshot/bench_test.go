package snapshot

import (
	"sync"
	"testing"
)

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
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("large.json", data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadLargeYAML is the same snapshot as YAML (about 37 MB).
func BenchmarkLoadLargeYAML(b *testing.B) {
	_, data := largeFiles(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("large.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}
