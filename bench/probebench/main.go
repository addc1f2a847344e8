//go:build linux

// Command probebench measures `gwdoctor probe` against `nmap -sT -Pn -n -T4`
// on the same ports, inside a pair of network namespaces it creates and
// removes (internal/netlab). Run it through bench/probe-bench.sh, as root.
//
// Scenarios:
//
//	a  one host: 500 open, 500 refused, 500 filtered (nftables drop) ports
//	b  one host whose 100 ports are all filtered: nothing ever answers
//	c  loopback: 2000 open and 2000 refused ports
//
// For each it reports accuracy (every port's state against the truth), the
// median wall time of -runs runs of each tool (process start included), probes
// per second, and the ratios.
package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gwdoctor/gwdoctor/internal/netlab"
)

type scenario struct {
	name, about string
	ns          func(*netlab.Pair) string
	host        string
	from, to    int
	truth       func(port int) string
}

func main() {
	netlab.MainHelper()
	gwdoctor := flag.String("gwdoctor", "", "path of the gwdoctor binary to measure (required)")
	runs := flag.Int("runs", 3, "runs per tool and scenario; the median is reported")
	skipNmap := flag.Bool("no-nmap", false, "measure gwdoctor only")
	flag.Parse()
	if *gwdoctor == "" {
		fmt.Fprintln(os.Stderr, "probebench: -gwdoctor PATH is required")
		os.Exit(2)
	}
	if err := run(*gwdoctor, *runs, !*skipNmap); err != nil {
		fmt.Fprintln(os.Stderr, "probebench:", err)
		os.Exit(1)
	}
}

func run(gwdoctor string, runs int, withNmap bool) error {
	lab, err := netlab.NewPair()
	if err != nil {
		return err
	}
	defer lab.Close()
	silentHost := netip.MustParseAddr("10.200.0.3")
	if err := lab.AddServerAddress(silentHost); err != nil {
		return err
	}
	if err := lab.Nft(lab.Server, `
table ip gwdp {
	chain input {
		type filter hook input priority 0; policy accept;
		ip daddr 10.200.0.3 drop
		tcp dport 21001-21500 drop
	}
}`); err != nil {
		return err
	}
	if _, err := lab.Listen(lab.Server, "0.0.0.0:20001-20500"); err != nil {
		return err
	}
	if _, err := lab.Listen(lab.Client, "127.0.0.1:40001-42000"); err != nil {
		return err
	}
	client := func(p *netlab.Pair) string { return p.Client }
	scenarios := []scenario{
		{"a", "1 host: 500 open, 500 refused, 500 filtered", client, netlab.ServerIP.String(), 20001, 21500, func(p int) string {
			switch {
			case p <= 20500:
				return "open"
			case p <= 21000:
				return "refused"
			}
			return "filtered"
		}},
		{"b", "1 host, 100 ports, all filtered", client, silentHost.String(), 30001, 30100, func(int) string { return "filtered" }},
		{"c", "loopback: 2000 open, 2000 refused", client, "127.0.0.1", 40001, 44000, func(p int) string {
			if p <= 42000 {
				return "open"
			}
			return "refused"
		}},
	}

	fmt.Printf("Machine: %d CPUs, %s; Go %s; nmap: %s\n\n", runtime.NumCPU(), cpuModel(), runtime.Version(), nmapVersion(withNmap))
	fmt.Println("| scenario | ports | tool | accuracy | time (median) | probes/s | runs |")
	fmt.Println("|---|---:|---|---:|---:|---:|---|")
	type row struct {
		gw, nm measurement
	}
	var rows []row
	for _, sc := range scenarios {
		gw, err := measure(runs, func() (map[int]string, error) { return runGwdoctor(lab, gwdoctor, sc) }, sc)
		if err != nil {
			return fmt.Errorf("scenario %s, gwdoctor: %w", sc.name, err)
		}
		printRow(sc, "gwdoctor probe", gw)
		var nm measurement
		if withNmap {
			nm, err = measure(runs, func() (map[int]string, error) { return runNmap(lab, sc) }, sc)
			if err != nil {
				return fmt.Errorf("scenario %s, nmap: %w", sc.name, err)
			}
			printRow(sc, "nmap -sT -Pn -n -T4", nm)
		}
		rows = append(rows, row{gw, nm})
	}
	if withNmap {
		fmt.Println()
		fmt.Println("| scenario | gwdoctor speed-up over nmap -T4 (time ratio) |")
		fmt.Println("|---|---:|")
		for i, sc := range scenarios {
			fmt.Printf("| %s: %s | %.1f× |\n", sc.name, sc.about, rows[i].nm.median.Seconds()/rows[i].gw.median.Seconds())
		}
	}
	return nil
}

type measurement struct {
	times    []time.Duration
	median   time.Duration
	correct  int // of the worst run
	total    int
	mistakes []string
}

func measure(runs int, probe func() (map[int]string, error), sc scenario) (measurement, error) {
	m := measurement{total: sc.to - sc.from + 1, correct: sc.to - sc.from + 1}
	for range runs {
		start := time.Now()
		states, err := probe()
		elapsed := time.Since(start)
		if err != nil {
			return m, err
		}
		m.times = append(m.times, elapsed)
		correct := 0
		var mistakes []string
		for port := sc.from; port <= sc.to; port++ {
			if got, want := states[port], sc.truth(port); got == want {
				correct++
			} else if len(mistakes) < 5 {
				mistakes = append(mistakes, fmt.Sprintf("%d: %q, want %s", port, got, want))
			}
		}
		if correct < m.correct {
			m.correct, m.mistakes = correct, mistakes
		}
	}
	sorted := slices.Clone(m.times)
	slices.Sort(sorted)
	m.median = sorted[len(sorted)/2]
	return m, nil
}

func printRow(sc scenario, tool string, m measurement) {
	times := make([]string, len(m.times))
	for i, t := range m.times {
		times[i] = fmt.Sprintf("%.2fs", t.Seconds())
	}
	acc := fmt.Sprintf("%d/%d", m.correct, m.total)
	if m.correct == m.total {
		acc = "100 %"
	}
	fmt.Printf("| %s: %s | %d | %s | %s | %.2f s | %.0f | %s |\n", sc.name, sc.about, m.total, tool, acc,
		m.median.Seconds(), float64(m.total)/m.median.Seconds(), strings.Join(times, ", "))
	if len(m.mistakes) > 0 {
		fmt.Fprintf(os.Stderr, "%s, %s: wrong: %s\n", sc.name, tool, strings.Join(m.mistakes, "; "))
	}
}

func runGwdoctor(lab *netlab.Pair, gwdoctor string, sc scenario) (map[int]string, error) {
	spec := fmt.Sprintf("%s:%d-%d", sc.host, sc.from, sc.to)
	out, err := netlab.Exec(sc.ns(lab), gwdoctor, "probe", spec, "-o", "json")
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
		return nil, err
	}
	var doc struct {
		Results []struct {
			Port  int    `json:"port"`
			State string `json:"state"`
		} `json:"results"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return nil, fmt.Errorf("gwdoctor output: %v", err)
	}
	states := map[int]string{}
	for _, r := range doc.Results {
		states[r.Port] = r.State
	}
	return states, nil
}

// nmapRun is the part of nmap's XML output the benchmark reads.
type nmapRun struct {
	Hosts []struct {
		Ports struct {
			Extra []struct {
				State   string `xml:"state,attr"`
				Count   int    `xml:"count,attr"`
				Reasons []struct {
					Ports string `xml:"ports,attr"`
				} `xml:"extrareasons"`
			} `xml:"extraports"`
			Ports []struct {
				ID    int `xml:"portid,attr"`
				State struct {
					State string `xml:"state,attr"`
				} `xml:"state"`
			} `xml:"port"`
		} `xml:"ports"`
	} `xml:"host"`
}

var nmapStates = map[string]string{"open": "open", "closed": "refused", "filtered": "filtered"}

func runNmap(lab *netlab.Pair, sc scenario) (map[int]string, error) {
	out, err := netlab.Exec(sc.ns(lab), "nmap", "-sT", "-Pn", "-n", "-T4", "-p", fmt.Sprintf("%d-%d", sc.from, sc.to), "-oX", "-", sc.host)
	if err != nil {
		return nil, err
	}
	var doc nmapRun
	if err := xml.Unmarshal(out, &doc); err != nil {
		return nil, fmt.Errorf("nmap XML: %v", err)
	}
	states := map[int]string{}
	for _, h := range doc.Hosts {
		for _, p := range h.Ports.Ports {
			states[p.ID] = nmapStates[p.State.State]
		}
		// Ports nmap folds into "Not shown: N filtered ports", listed by range.
		for _, extra := range h.Ports.Extra {
			for _, reason := range extra.Reasons {
				for part := range strings.SplitSeq(reason.Ports, ",") {
					from, to, err := bounds(part)
					if err != nil {
						return nil, fmt.Errorf("nmap extraports %q: %v", reason.Ports, err)
					}
					for p := from; p <= to; p++ {
						states[p] = nmapStates[extra.State]
					}
				}
			}
		}
	}
	return states, nil
}

func bounds(s string) (int, int, error) {
	a, b, isRange := strings.Cut(s, "-")
	from, err := strconv.Atoi(a)
	if err != nil || !isRange {
		return from, from, err
	}
	to, err := strconv.Atoi(b)
	return from, to, err
}

func cpuModel() string {
	data, _ := os.ReadFile("/proc/cpuinfo")
	for line := range strings.SplitSeq(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func nmapVersion(withNmap bool) string {
	if !withNmap {
		return "not run"
	}
	out, err := exec.Command("nmap", "--version").Output()
	if err != nil {
		return "unavailable"
	}
	first, _, _ := bytes.Cut(out, []byte("\n"))
	return string(first)
}
