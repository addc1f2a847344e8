// Command estate writes a generated snapshot for the end-to-end benchmarks
// in BENCHMARKS.md: issue 12's bad-day estate, its all-healthy twin, or
// internal/gen's worst case.
//
//	go run ./bench/estate -shape bad-day -o /tmp/bad-day.json
//	go run ./bench/estate -shape healthy -o /tmp/healthy.json
//	go run ./bench/estate -shape gen -o /tmp/gen.json
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/gwdoctor/gwdoctor/internal/gen"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

func main() {
	shape := flag.String("shape", "bad-day", "bad-day, healthy (the bad day's all-healthy twin) or gen (internal/gen's default)")
	endpoints := flag.Int("endpoints", 100_000, "endpoints (bad-day and healthy: services scale with them, 100 endpoints each)")
	out := flag.String("o", "", "output file (.json or .yaml)")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "estate: -o FILE is required")
		os.Exit(2)
	}
	var s *snapshot.Snapshot
	switch *shape {
	case "bad-day", "healthy":
		cfg := gen.BadDayDefault()
		if *endpoints != cfg.Endpoints {
			scale := float64(*endpoints) / float64(cfg.Endpoints)
			cfg.Endpoints = *endpoints
			cfg.Services = max(1, int(float64(cfg.Services)*scale))
			cfg.Nodes = max(2, int(float64(cfg.Nodes)*scale))
			cfg.Groups = max(2, int(float64(cfg.Groups)*scale))
		}
		cfg.Healthy = *shape == "healthy"
		s = gen.BadDay(cfg)
	case "gen":
		cfg := gen.Default()
		cfg.Endpoints = *endpoints
		s = gen.Large(cfg)
	default:
		fmt.Fprintf(os.Stderr, "estate: unknown -shape %q (want bad-day, healthy or gen)\n", *shape)
		os.Exit(2)
	}
	if err := s.Validate(); err != nil {
		fmt.Fprintln(os.Stderr, "estate: generated snapshot does not validate:", err)
		os.Exit(1)
	}
	if err := snapshot.Save(*out, s); err != nil {
		fmt.Fprintln(os.Stderr, "estate:", err)
		os.Exit(1)
	}
}
