// Package apimeta holds Alibaba Cloud API calls to the official API
// metadata (aliyun-openapi-meta, the data the aliyun CLI checks parameters
// against; a copy lives in testdata/aliyun-api with its licence): which
// products and APIs exist, their parameters, types, required flags,
// deprecations and ROA paths. The command-contract test parses every
// command gwdoctor prints and checks it here; the fake cloud validates
// every request it serves the same way.
package apimeta

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Param is one API parameter.
type Param struct {
	Name        string `json:"name"`
	Position    string `json:"position"` // Query, Path, Body
	Type        string `json:"type"`     // String, Integer, Long, Boolean, RepeatList, Array, Struct
	Required    bool   `json:"required"`
	Description string `json:"description"`
	SubParams   []Param
	// Deprecated: the description says so (the metadata has no flag).
	Deprecated bool
}

// API is one operation of a product.
type API struct {
	Product     string
	Name        string  `json:"name"`
	Method      string  `json:"method"`      // "GET|POST" for RPC, "PUT" etc. for ROA
	PathPattern string  `json:"pathPattern"` // ROA only: /clusters/[ClusterId]/nodepools
	Deprecated  bool    `json:"deprecated"`
	Params      []Param `json:"parameters"`
}

// ROA reports whether the API is called by method and path (ACK) rather
// than by name (RPC: ECS, MSE, VPC).
func (a *API) ROA() bool { return a.PathPattern != "" }

// Catalog is every API of the metadata, by product and name.
type Catalog map[string]map[string]*API

// deprecatedUse finds "Use `Permissions.N.Description`" in a deprecation note.
var deprecatedUse = regexp.MustCompile("`([A-Za-z]+)\\.N\\.([A-Za-z0-9]+)`")

// LoadShared is Load read once per directory in a process, so the many
// tests of a package that check commands against it share one copy.
func LoadShared(dir string) (Catalog, error) {
	v, _ := shared.LoadOrStore(dir, sync.OnceValues(func() (Catalog, error) { return Load(dir) }))
	return v.(func() (Catalog, error))()
}

var shared sync.Map // dir → func() (Catalog, error)

// Load reads dir/PRODUCT/API.json.
func Load(dir string) (Catalog, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*", "*.json"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no API metadata (PRODUCT/API.json)", dir)
	}
	c := Catalog{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var raw struct {
			API
			Params []struct {
				Param
				Sub []Param `json:"sub_parameters"`
			} `json:"parameters"`
		}
		if err := json.Unmarshal(data, &raw); err != nil {
			return nil, fmt.Errorf("%s: %v", f, err)
		}
		a := raw.API
		a.Params = nil
		a.Product = filepath.Base(filepath.Dir(f))
		// Array parameters list no sub-parameters; their deprecated
		// top-level twins name them ("Use `Permissions.N.PortRange`").
		subs := map[string][]Param{}
		for _, rp := range raw.Params {
			p := rp.Param
			p.SubParams = rp.Sub
			p.Deprecated = strings.Contains(strings.ToLower(p.Description), "parameter is deprecated")
			if m := deprecatedUse.FindStringSubmatch(p.Description); m != nil && p.Deprecated {
				subs[m[1]] = append(subs[m[1]], Param{Name: m[2], Type: p.Type, Position: p.Position})
			}
			a.Params = append(a.Params, p)
		}
		for i := range a.Params {
			if s := subs[a.Params[i].Name]; len(s) > 0 && len(a.Params[i].SubParams) == 0 {
				a.Params[i].SubParams = s
			}
		}
		if c[a.Product] == nil {
			c[a.Product] = map[string]*API{}
		}
		c[a.Product][a.Name] = &a
	}
	return c, nil
}

// Lookup finds an API by product and name.
func (c Catalog) Lookup(product, name string) (*API, bool) {
	a, ok := c[product][name]
	return a, ok
}

// LookupROA finds the ROA API of product whose method and path pattern match,
// with the path's parameters.
func (c Catalog) LookupROA(product, method, path string) (*API, map[string]string, bool) {
	for _, name := range sortedKeys(c[product]) {
		a := c[product][name]
		if !a.ROA() || !slices.Contains(strings.Split(a.Method, "|"), method) {
			continue
		}
		if vals, ok := matchPath(a.PathPattern, path); ok {
			return a, vals, true
		}
	}
	return nil, nil, false
}

func sortedKeys(m map[string]*API) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// matchPath matches /clusters/c-1/nodepools/np-1 against
// /clusters/[ClusterId]/nodepools/[NodepoolId].
func matchPath(pattern, path string) (map[string]string, bool) {
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(xs) {
		return nil, false
	}
	vals := map[string]string{}
	for i, p := range ps {
		if strings.HasPrefix(p, "[") && strings.HasSuffix(p, "]") {
			if xs[i] == "" {
				return nil, false
			}
			vals[p[1:len(p)-1]] = xs[i]
			continue
		}
		if p != xs[i] {
			return nil, false
		}
	}
	return vals, true
}

// Param resolves a request key: a plain name, NAME.N of a RepeatList, or
// NAME.N.SUB of an Array. It returns the parameter that types the value.
func (a *API) Param(key string) (*Param, error) {
	for i := range a.Params {
		if a.Params[i].Name == key {
			p := &a.Params[i]
			if p.Type == "RepeatList" || p.Type == "Array" {
				return nil, fmt.Errorf("%s is a list: write %s.1, %s.2, …", key, key, key)
			}
			return p, nil
		}
	}
	name, rest, ok := strings.Cut(key, ".")
	if !ok {
		return nil, fmt.Errorf("%s %s has no parameter %s", a.Product, a.Name, key)
	}
	for i := range a.Params {
		p := &a.Params[i]
		if p.Name != name {
			continue
		}
		n, sub, hasSub := strings.Cut(rest, ".")
		if idx, err := strconv.Atoi(n); err != nil || idx < 1 || idx > 100 {
			return nil, fmt.Errorf("%s: the index %q of list %s must be 1..100", key, n, name)
		}
		switch {
		case p.Type == "RepeatList" && !hasSub && len(p.SubParams) == 0:
			return &Param{Name: key, Type: "String", Position: p.Position}, nil
		case (p.Type == "Array" || p.Type == "RepeatList") && hasSub:
			for j := range p.SubParams {
				if p.SubParams[j].Name == sub {
					sp := p.SubParams[j]
					sp.Name = key
					return &sp, nil
				}
			}
			return nil, fmt.Errorf("%s %s: list %s has no field %s", a.Product, a.Name, name, sub)
		}
		return nil, fmt.Errorf("%s %s: %s does not fit parameter %s (%s)", a.Product, a.Name, key, name, p.Type)
	}
	return nil, fmt.Errorf("%s %s has no parameter %s", a.Product, a.Name, key)
}

// CheckValue checks a value against the parameter's type and, for the
// parameters whose values the API references enumerate, against those.
func CheckValue(p *Param, v string) error {
	if v == "" {
		return fmt.Errorf("%s is empty", p.Name)
	}
	switch p.Type {
	case "Integer", "Long":
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return fmt.Errorf("%s=%q is not an integer (%s)", p.Name, v, p.Type)
		}
	case "Boolean":
		if v != "true" && v != "false" {
			return fmt.Errorf("%s=%q is not true or false", p.Name, v)
		}
	case "Struct", "Array", "RepeatList":
		return fmt.Errorf("%s is a %s: not a single value", p.Name, p.Type)
	}
	field := p.Name[strings.LastIndex(p.Name, ".")+1:]
	switch field {
	case "IpProtocol":
		if !slices.Contains([]string{"TCP", "UDP", "ICMP", "ICMPV6", "GRE", "ALL"}, strings.ToUpper(v)) {
			return fmt.Errorf("%s=%q is not TCP, UDP, ICMP, ICMPv6, GRE or ALL", p.Name, v)
		}
	case "Policy":
		if !slices.Contains([]string{"accept", "drop"}, strings.ToLower(v)) {
			return fmt.Errorf("%s=%q is not accept or drop", p.Name, v)
		}
	case "Priority":
		if n, err := strconv.Atoi(v); err != nil || n < 1 || n > 100 {
			return fmt.Errorf("%s=%q is not a priority 1..100", p.Name, v)
		}
	case "Direction":
		if !slices.Contains([]string{"ingress", "egress", "all"}, v) {
			return fmt.Errorf("%s=%q is not ingress, egress or all", p.Name, v)
		}
	case "PortRange":
		if err := checkPortRange(v); err != nil {
			return fmt.Errorf("%s: %v", p.Name, err)
		}
	case "SourceCidrIp", "DestCidrIp":
		if err := checkCIDR(v); err != nil {
			return fmt.Errorf("%s: %v", p.Name, err)
		}
	}
	return nil
}

func checkPortRange(v string) error {
	a, b, ok := strings.Cut(v, "/")
	if v == "-1/-1" {
		return nil
	}
	lo, err1 := strconv.Atoi(a)
	hi, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || lo < 1 || hi > 65535 || lo > hi {
		return fmt.Errorf("%q is not START/END with 1 <= START <= END <= 65535 (or -1/-1)", v)
	}
	return nil
}
