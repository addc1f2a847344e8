package snapshot
import ("testing";"fmt";"time";"runtime")
func TestYAMLSize(t *testing.T) {
	s := genSnapshot(100, 100, 500, 100, 100)
	y, _ := Marshal(s, YAML)
	var ms runtime.MemStats
	runtime.GC(); runtime.ReadMemStats(&ms); before := ms.TotalAlloc
	st := time.Now()
	_, err := Parse("x.yaml", y)
	runtime.ReadMemStats(&ms)
	fmt.Println("yaml MB", len(y)>>20, time.Since(st), err, "alloc MB", (ms.TotalAlloc-before)>>20, "sys MB", ms.Sys>>20)
}
