package apimeta

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/gwdoctor/gwdoctor/snapshot"
)

// Call is one aliyun CLI invocation, parsed.
type Call struct {
	API *API
	// Params are the API parameters: RPC flags, or ROA path values.
	Params map[string]string
	// Region is where the call goes: RegionId, else the CLI's --region.
	Region  string
	Body    string
	Headers []string
}

var roaMethods = []string{"GET", "PUT", "POST", "DELETE", "PATCH"}

// CheckCLI parses the words of an aliyun CLI command — `aliyun PRODUCT API
// --Name value …` for RPC APIs, `aliyun PRODUCT METHOD /path --flag …` for
// ROA ones — and holds it to the metadata: the product and API exist and are
// called in their form, every parameter exists, is not deprecated and has a
// valid value for its type, required parameters are present, and the call
// names its region. It returns the call (nil when it cannot be parsed) and
// every violation.
func (c Catalog) CheckCLI(words []string) (*Call, []error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if len(words) < 3 || words[0] != "aliyun" {
		return nil, []error{fmt.Errorf("not an aliyun CLI call (aliyun PRODUCT API …)")}
	}
	product := words[1]
	if c[product] == nil {
		return nil, []error{fmt.Errorf("no product %q in the API metadata", product)}
	}
	call := &Call{Params: map[string]string{}}
	rest := words[3:]
	if slices.Contains(roaMethods, words[2]) {
		if len(words) < 4 || !strings.HasPrefix(words[3], "/") {
			return nil, []error{fmt.Errorf("ROA call %s %s needs a path", product, words[2])}
		}
		a, vals, ok := c.LookupROA(product, words[2], words[3])
		if !ok {
			return nil, []error{fmt.Errorf("no %s API of %s matches %s %s", product, product, words[2], words[3])}
		}
		call.API = a
		for k, v := range vals {
			call.Params[k] = v
		}
		rest = words[4:]
	} else {
		a, ok := c.Lookup(product, words[2])
		if !ok {
			return nil, []error{fmt.Errorf("no API %s %s in the metadata", product, words[2])}
		}
		if a.ROA() {
			return nil, []error{fmt.Errorf("%s %s is a ROA API: call it as aliyun %s %s %s", product, a.Name, product, a.Method, a.PathPattern)}
		}
		call.API = a
	}
	a := call.API
	if a.Deprecated {
		bad("%s %s is deprecated", product, a.Name)
	}
	seen := map[string]bool{}
	for i := 0; i < len(rest); i += 2 {
		flag := rest[i]
		if !strings.HasPrefix(flag, "--") || strings.Contains(flag, "=") {
			bad("%q is not a --Name flag", flag)
			i--
			continue
		}
		if i+1 >= len(rest) {
			bad("%s has no value", flag)
			break
		}
		key, val := flag[2:], rest[i+1]
		if seen[key] && key != "header" {
			bad("%s given twice", flag)
		}
		seen[key] = true
		switch {
		case key == "region":
			call.Region = val
			continue
		case key == "header" && a.ROA():
			call.Headers = append(call.Headers, val)
			continue
		case key == "body" && a.ROA():
			call.Body = val
			continue
		case a.ROA():
			bad("%s: a ROA call takes --region, --header and --body; %s is not one", a.Name, flag)
			continue
		}
		p, err := a.Param(key)
		if err != nil {
			bad("%v", err)
			continue
		}
		if p.Position != "Query" {
			bad("%s is a %s parameter, not a flag", key, p.Position)
		}
		if p.Deprecated {
			bad("%s %s: %s is deprecated (%s)", product, a.Name, key, firstSentence(p.Description))
		}
		if err := CheckValue(p, val); err != nil {
			bad("%s %s: %v", product, a.Name, err)
		}
		call.Params[key] = val
	}
	for _, p := range a.Params {
		if p.Required && p.Position != "Body" {
			if _, ok := call.Params[p.Name]; !ok {
				bad("%s %s: required parameter %s is missing", product, a.Name, p.Name)
			}
		}
	}
	if r := call.Params["RegionId"]; r != "" {
		if call.Region != "" && call.Region != r {
			bad("--region %s and --RegionId %s disagree", call.Region, r)
		}
		call.Region = r
	}
	if call.Region == "" {
		bad("%s %s names no region: the CLI would send it to the profile's region", product, a.Name)
	}
	if a.ROA() {
		hasBody := slices.ContainsFunc(a.Params, func(p Param) bool { return p.Position == "Body" })
		switch {
		case call.Body != "" && !hasBody:
			bad("%s takes no body", a.Name)
		case call.Body != "" && !json.Valid([]byte(call.Body)):
			bad("%s: the body is not JSON", a.Name)
		case call.Body != "" && !slices.Contains(call.Headers, "Content-Type=application/json"):
			bad("%s: a JSON body needs --header Content-Type=application/json", a.Name)
		}
	}
	return call, errs
}

func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i]
	}
	return strings.TrimSuffix(s, ".")
}

// CheckRefs holds the ids a call names to the snapshot it was printed for:
// the region, the gateway, groups, rules (of the direction the API
// handles), authorizations, ENIs, the cluster and its node pools.
func CheckRefs(call *Call, s *snapshot.Snapshot) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	a := call.API
	if s.Region != "" && call.Region != s.Region {
		bad("%s: region %s, the snapshot's is %s", a.Name, call.Region, s.Region)
	}
	groups := map[string]*snapshot.SecurityGroup{}
	for i := range s.SecurityGroups {
		groups[s.SecurityGroups[i].ID] = &s.SecurityGroups[i]
	}
	enis := map[string]bool{}
	for _, n := range s.Nodes {
		for _, e := range n.ENIs {
			enis[e.ID] = true
		}
	}
	group := call.Params["SecurityGroupId"]
	direction := snapshot.DirectionIngress
	if strings.Contains(a.Name, "Egress") {
		direction = snapshot.DirectionEgress
	}
	for key, v := range call.Params {
		field := key[strings.LastIndex(key, ".")+1:]
		switch {
		case field == "GatewayUniqueId" && v != s.Gateway.ID:
			bad("%s: gateway %s is not the snapshot's (%s)", a.Name, v, s.Gateway.ID)
		case field == "SecurityGroupId" || field == "SourceGroupId" || field == "DestGroupId":
			if groups[v] == nil && v != s.Gateway.SecurityGroupID {
				bad("%s: %s %s is not a security group of the snapshot", a.Name, key, v)
			}
		case field == "SecurityGroupRuleId" || strings.HasPrefix(key, "SecurityGroupRuleId."):
			g := groups[group]
			if g == nil {
				bad("%s: rule %s names no known group", a.Name, v)
				continue
			}
			i := slices.IndexFunc(g.Rules, func(r snapshot.Rule) bool { return r.ID == v })
			switch {
			case i < 0:
				bad("%s: rule %s is not in group %s", a.Name, v, group)
			case g.Rules[i].Direction != direction:
				bad("%s handles %s rules; %s is an %s rule", a.Name, direction, v, g.Rules[i].Direction)
			}
		case key == "Id" && a.Product == "mse":
			if !slices.ContainsFunc(s.Gateway.Authorizations, func(au snapshot.Authorization) bool { return au.ID == v }) {
				bad("%s: authorization %s is not in the snapshot", a.Name, v)
			}
		case field == "NetworkInterfaceId" && !enis[v]:
			bad("%s: ENI %s is not in the snapshot", a.Name, v)
		case field == "ClusterId" && v != s.ClusterID():
			bad("%s: cluster %s is not the snapshot's (%q)", a.Name, v, s.ClusterID())
		case field == "NodepoolId":
			if !slices.ContainsFunc(s.NodePools, func(p snapshot.NodePool) bool { return p.ID == v }) {
				bad("%s: node pool %s is not in the snapshot", a.Name, v)
			}
		case field == "PrefixListId":
			used := false
			for _, g := range s.SecurityGroups {
				used = used || slices.ContainsFunc(g.Rules, func(r snapshot.Rule) bool { return r.SourcePrefixListID == v })
			}
			if !used {
				bad("%s: no rule of the snapshot uses prefix list %s", a.Name, v)
			}
		}
	}
	if call.Body != "" {
		var body struct {
			ScalingGroup struct {
				SecurityGroupIDs []string `json:"security_group_ids"`
			} `json:"scaling_group"`
		}
		if err := json.Unmarshal([]byte(call.Body), &body); err == nil {
			for _, g := range body.ScalingGroup.SecurityGroupIDs {
				if groups[g] == nil {
					bad("%s: the body names group %s, not a security group of the snapshot", a.Name, g)
				}
			}
		}
	}
	return errs
}
