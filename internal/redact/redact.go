// Package redact replaces the account-specific identifiers of a snapshot
// with stable placeholders, so a snapshot can be shared (in an issue, with
// support) and still diagnoses exactly the same.
//
// Replaced, consistently everywhere they occur (one original, one
// placeholder; references follow): the gateway id and name, VPC ids, security
// group ids and names, rule ids, prefix and port list ids, instance ids, ENI
// ids, node names (ACK node names embed the node IP), node pool ids and
// names, service names and namespaces, pod names, the ACK cluster id and its
// default groups, the groups a pod's annotation names, and
// free-text descriptions (dropped). Kept: IP addresses and CIDRs (the
// diagnosis depends on which address lies in which block; they are private
// VPC addresses), ports, protocols, policies, priorities, types, readiness,
// probe results, the gateway's health checks (on/off, status, the failing
// ip:port list: addresses are kept, so the list still names the same
// endpoints), region and time. Missing-part ids and error texts are
// rewritten with the same mapping.
package redact

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/gwdoctor/gwdoctor/snapshot"
)

// Mapper assigns placeholders; Mapping lists them for the owner to map back.
type Mapper struct {
	byKind map[string]map[string]string
	count  map[string]int
	all    map[string]string
}

// New returns an empty Mapper.
func New() *Mapper {
	return &Mapper{byKind: map[string]map[string]string{}, count: map[string]int{}, all: map[string]string{}}
}

// id returns the placeholder for v of a kind ("sg", "i", …): kind-redacted-N,
// unmistakable for a real id.
func (m *Mapper) id(kind, v string) string {
	if v == "" {
		return ""
	}
	if r, ok := m.all[v]; ok {
		return r
	}
	if m.byKind[kind] == nil {
		m.byKind[kind] = map[string]string{}
	}
	m.count[kind]++
	r := fmt.Sprintf("%s-redacted-%d", kind, m.count[kind])
	if kind == "num" {
		r = fmt.Sprint(m.count[kind])
	}
	m.byKind[kind][v] = r
	m.all[v] = r
	return r
}

func (m *Mapper) ids(kind string, vs []string) []string {
	if vs == nil {
		return nil
	}
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = m.id(kind, v)
	}
	return out
}

// node maps a node reference: a name or an instance id.
func (m *Mapper) node(v string) string {
	if strings.HasPrefix(v, "i-") || strings.HasPrefix(v, "eci-") || strings.HasPrefix(v, "acs-") {
		return m.instance(v)
	}
	return m.id("node", v)
}

// instance maps an instance id, keeping what kind of instance it is (ECS
// i-…, ECI eci-…, ACS acs-…): the placeholder reads as the same kind.
func (m *Mapper) instance(v string) string {
	for _, kind := range []string{"eci", "acs"} {
		if strings.HasPrefix(v, kind+"-") {
			return m.id(kind, v)
		}
	}
	return m.id("i", v)
}

// Mapping returns original → placeholder, for the owner of the snapshot.
func (m *Mapper) Mapping() map[string]string {
	out := make(map[string]string, len(m.all))
	for k, v := range m.all {
		out[k] = v
	}
	return out
}

// Snapshot returns a redacted deep copy of s; s is not changed.
func (m *Mapper) Snapshot(s *snapshot.Snapshot) *snapshot.Snapshot {
	var c snapshot.Snapshot
	b, _ := json.Marshal(s)
	_ = json.Unmarshal(b, &c) // a deep copy through the v1 contract

	g := &c.Gateway
	g.ID = m.id("gw", g.ID)
	g.Name = m.id("gateway", g.Name)
	g.VpcID = m.id("vpc", g.VpcID)
	g.SecurityGroupID = m.id("sg", g.SecurityGroupID)
	for i := range g.VSwitches {
		// Zones are public names; the vSwitch ID is the account's.
		g.VSwitches[i].ID = m.id("vsw", g.VSwitches[i].ID)
	}
	for i := range g.Authorizations {
		a := &g.Authorizations[i]
		a.ID = m.id("num", a.ID)
		a.SecurityGroupID = m.id("sg", a.SecurityGroupID)
		a.Description = ""
	}
	for i := range c.SecurityGroups {
		sg := &c.SecurityGroups[i]
		sg.ID = m.id("sg", sg.ID)
		sg.Name = m.id("group", sg.Name)
		sg.VpcID = m.id("vpc", sg.VpcID)
		for j := range sg.Rules {
			r := &sg.Rules[j]
			r.ID = m.id("sgr", r.ID)
			r.SourceGroupID = m.id("sg", r.SourceGroupID)
			r.DestGroupID = m.id("sg", r.DestGroupID)
			r.SourcePrefixListID = m.id("pl", r.SourcePrefixListID)
			r.DestPrefixListID = m.id("pl", r.DestPrefixListID)
			r.PortRangeListID = m.id("prl", r.PortRangeListID)
			r.Description = ""
		}
	}
	for i := range c.NodePools {
		p := &c.NodePools[i]
		p.ID = m.id("np", p.ID)
		p.Name = m.id("pool", p.Name)
		p.SecurityGroupIDs = m.ids("sg", p.SecurityGroupIDs)
	}
	if cl := c.Cluster; cl != nil {
		cl.ID = m.id("c", cl.ID)
		cl.SecurityGroupID = m.id("sg", cl.SecurityGroupID)
		cl.ECIProfileSecurityGroupID = m.id("sg", cl.ECIProfileSecurityGroupID)
		cl.ACSProfileSecurityGroupID = m.id("sg", cl.ACSProfileSecurityGroupID)
	}
	for i := range c.Nodes {
		n := &c.Nodes[i]
		// The kind is inferred from names that redaction replaces: state it.
		n.Kind = n.KindOf()
		n.Name = m.id("node", n.Name)
		n.InstanceID = m.instance(n.InstanceID)
		n.NodePool = m.id("np", n.NodePool)
		n.VpcID = m.id("vpc", n.VpcID)
		for j := range n.ENIs {
			e := &n.ENIs[j]
			e.ID = m.id("eni", e.ID)
			e.SecurityGroupIDs = m.ids("sg", e.SecurityGroupIDs)
		}
	}
	for i := range c.Services {
		sv := &c.Services[i]
		sv.Name = m.id("svc", sv.Name)
		sv.Namespace = m.id("ns", sv.Namespace)
		for j := range sv.Endpoints {
			ep := &sv.Endpoints[j]
			ep.Pod = m.id("pod", ep.Pod)
			ep.Node = m.node(ep.Node)
			ep.AnnotatedSecurityGroupIDs = m.ids("sg", ep.AnnotatedSecurityGroupIDs)
		}
	}
	// Missing: ids are of any kind already seen (groups, instances,
	// namespaces, "ns/name" service keys, the cluster id); errors may quote
	// any of them.
	for i := range c.Missing {
		mp := &c.Missing[i]
		for j, v := range mp.IDs {
			mp.IDs[j] = m.ref(v)
		}
		mp.Error = m.text(mp.Error)
	}
	return &c
}

// ref maps an id of unknown kind: known originals, service keys, else by prefix.
func (m *Mapper) ref(v string) string {
	if r, ok := m.all[v]; ok {
		return r
	}
	if ns, name, ok := strings.Cut(v, "/"); ok {
		return m.id("ns", ns) + "/" + m.id("svc", name)
	}
	for _, kind := range []string{"sg", "i", "eci", "acs", "eni", "vpc", "vsw", "np", "gw", "c"} {
		if strings.HasPrefix(v, kind+"-") {
			return m.id(kind, v)
		}
	}
	return m.id("id", v)
}

// text replaces every known original in free text, longest first so that
// "sg-nodes-2" is not rewritten through "sg-nodes".
func (m *Mapper) text(s string) string {
	keys := make([]string, 0, len(m.all))
	for k := range m.all {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	pairs := make([]string, 0, 2*len(keys))
	for _, k := range keys {
		if len(k) >= 3 { // "1", "ab": too short to replace safely in prose
			pairs = append(pairs, k, m.all[k])
		}
	}
	return strings.NewReplacer(pairs...).Replace(s)
}
