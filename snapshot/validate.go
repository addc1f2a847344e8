package snapshot

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Validate checks every rule of snapshot format v1 and normalises the
// snapshot in place (canonical case, defaults filled, canonical port ranges
// and addresses). It reports every problem at once; the problems carry field
// paths but no file or line. Load and Parse call it and add positions.
func (s *Snapshot) Validate() error {
	v := newValidator(s)
	v.run()
	if v.truncated {
		v.problems = append(v.problems, stoppedProblem())
	}
	return problemsError("", v.problems)
}

type validator struct {
	s        *Snapshot
	problems []*Problem

	groupType  map[string]string // security group id -> normalised type
	missingAll map[string]bool
	missingIDs map[string]map[string]bool
	poolIDs    map[string]bool
	nodeRefs   map[string]bool // node names and instance IDs
	truncated  bool
}

func newValidator(s *Snapshot) *validator {
	return &validator{s: s}
}

func (v *validator) add(path, msg string) *Problem {
	p := &Problem{Path: path, Message: msg}
	if len(v.problems) >= maxProblems {
		v.truncated = true
		return p // dropped: the caller may still annotate it
	}
	v.problems = append(v.problems, p)
	return p
}

// maxProblems bounds the problems collected from one input, so that a huge
// file of mistakes costs bounded memory.
const maxProblems = 10_000

// allowedMissing reports whether a reference into part may dangle because
// the collector could not read that part (or that object of it).
func (v *validator) allowedMissing(part, id string) bool {
	return v.missingAll[part] || v.missingIDs[part][id]
}

var validParts = []string{PartGateway, PartAuthorizations, PartSecurityGroups, PartRules, PartNodePools,
	PartNodes, PartENIs, PartServices, PartEndpoints, PartProbes, PartCluster, PartECIProfile, PartACSProfile}

func (v *validator) run() {
	s := v.s
	emptySlicesToNil(s)
	switch {
	case s.Version == 0:
		v.add("version", "missing; expected version: 1")
	case s.Version != Version:
		v.add("version", fmt.Sprintf("version %d is not supported; this gwdoctor reads version %d", s.Version, Version))
	}
	if s.CapturedAt != "" {
		v.checkTime("capturedAt", s.CapturedAt)
	}
	v.indexMissing()
	v.indexGroups()
	v.gateway()
	v.securityGroups()
	v.nodePools()
	v.cluster()
	v.nodes()
	v.services()
	v.probes()
}

// clusterID checks the optional ACK cluster id: it goes into ROA paths
// (/clusters/ID/…), so only the characters ACK ids use are accepted.
func (v *validator) clusterID(c *Cluster) {
	if c.ID == "" {
		return
	}
	if strings.IndexFunc(c.ID, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}) >= 0 {
		v.add("cluster.id", fmt.Sprintf("%s is not an ACK cluster id; expected letters, digits, '-' and '_' only (e.g. c82e6987e2961451182edacd74faf8ec0)", quoteShort(c.ID)))
	}
}

func (v *validator) checkTime(path, value string) {
	if _, err := time.Parse(time.RFC3339, value); err != nil {
		v.add(path, fmt.Sprintf("%s is not an RFC 3339 time; expected e.g. \"2026-11-28T10:00:00Z\"", quoteShort(value)))
	}
}

func (v *validator) indexMissing() {
	v.missingAll = map[string]bool{}
	v.missingIDs = map[string]map[string]bool{}
	for i := range v.s.Missing {
		m := &v.s.Missing[i]
		path := fmt.Sprintf("missing[%d].part", i)
		if m.Part == "" {
			v.add(path, "missing; expected one of: "+strings.Join(validParts, ", "))
			continue
		}
		known := false
		for _, p := range validParts {
			if strings.EqualFold(p, m.Part) {
				m.Part, known = p, true
			}
		}
		if !known {
			msg := fmt.Sprintf("unknown part %s; expected one of: %s", quoteShort(m.Part), strings.Join(validParts, ", "))
			if sug := suggestKey(m.Part, validParts); sug != "" {
				msg = fmt.Sprintf("unknown part %s; did you mean %q? (expected one of: %s)", quoteShort(m.Part), sug, strings.Join(validParts, ", "))
			}
			v.add(path, msg)
			continue
		}
		if len(m.IDs) == 0 {
			v.missingAll[m.Part] = true
			continue
		}
		if v.missingIDs[m.Part] == nil {
			v.missingIDs[m.Part] = map[string]bool{}
		}
		for _, id := range m.IDs {
			v.missingIDs[m.Part][id] = true
		}
	}
}

func (v *validator) indexGroups() {
	v.groupType = make(map[string]string, len(v.s.SecurityGroups))
	for i := range v.s.SecurityGroups {
		g := &v.s.SecurityGroups[i]
		if g.ID == "" {
			continue
		}
		if _, dup := v.groupType[g.ID]; !dup {
			v.groupType[g.ID] = strings.ToLower(g.Type)
			if g.Type == "" {
				v.groupType[g.ID] = GroupTypeNormal
			}
		}
	}
}

// groupRef checks a reference to a security group that must be listed.
func (v *validator) groupRef(path func() string, id string) {
	if id == "" {
		v.add(path(), "empty security group ID; expected an ID such as sg-nodes")
		return
	}
	if _, ok := v.groupType[id]; ok || v.allowedMissing(PartSecurityGroups, id) {
		return
	}
	p := v.add(path(), fmt.Sprintf("security group %s is not in securityGroups; list it there (or record it under missing: if it could not be read)", quoteShort(id)))
	p.refTo = "securityGroups"
}

func (v *validator) gateway() {
	g := &v.s.Gateway
	if g.ID == "" {
		v.add("gateway.id", "missing; expected the MSE gateway ID (GatewayUniqueId, e.g. gw-3f9a)")
	}
	if g.SecurityGroupID == "" {
		// A collection that could not read the gateway (mse:GetGateway denied)
		// still loads: every verdict that depends on the gateway's group is
		// then unknown, which is what the snapshot honestly says.
		if !v.allowedMissing(PartGateway, g.ID) {
			v.add("gateway.securityGroupId", "missing; expected the gateway's managed security group ID (e.g. sg-gw), or a missing: entry for part gateway")
		}
	} else {
		v.groupRef(func() string { return "gateway.securityGroupId" }, g.SecurityGroupID)
	}
	for i, a := range g.Addresses {
		path := fmt.Sprintf("gateway.addresses[%d]", i)
		if pfx, err := netip.ParsePrefix(a); err == nil {
			g.Addresses[i] = pfx.String()
		} else if ip, err := netip.ParseAddr(a); err == nil && ip.Zone() == "" {
			g.Addresses[i] = ip.String()
		} else {
			v.add(path, cidrMessage(a, true))
		}
	}
	for i := range g.VSwitches {
		vs := &g.VSwitches[i]
		base := fmt.Sprintf("gateway.vswitches[%d]", i)
		if vs.ID == "" {
			v.add(base+".id", "missing; expected the vSwitch ID (GetGateway Vswitch or Vswitch2, e.g. vsw-1)")
		}
		if vs.Cidr != "" {
			vs.Cidr = v.cidr(func() string { return base + ".cidr" }, vs.Cidr)
		}
	}
	ids := map[string]int{}
	for i := range g.Authorizations {
		a := &g.Authorizations[i]
		base := fmt.Sprintf("gateway.authorizations[%d]", i)
		if a.ID != "" {
			if first, dup := ids[a.ID]; dup {
				p := v.add(base+".id", fmt.Sprintf("duplicate authorization ID %s; already used by gateway.authorizations[%d]", quoteShort(a.ID), first))
				p.see = fmt.Sprintf("gateway.authorizations[%d].id", first)
			} else {
				ids[a.ID] = i
			}
		}
		if a.SecurityGroupID == "" {
			v.add(base+".securityGroupId", "missing; expected the authorized backend security group ID")
		}
		// A group that is not listed is not an error here: GWD303 reports
		// stale authorizations.
		proto, ok := v.protocol(func() string { return base + ".protocol" }, a.Protocol, allProtocols)
		a.Protocol = proto
		if ok {
			a.PortRange = v.portRange(func() string { return base + ".portRange" }, proto, a.PortRange, "")
		}
	}
}

var allProtocols = []string{ProtocolTCP, ProtocolUDP, ProtocolICMP, ProtocolGRE, ProtocolAll, ProtocolICMPv6}

// protocol normalises a protocol (default TCP) and checks it is one of allowed.
func (v *validator) protocol(path func() string, value string, allowed []string) (string, bool) {
	if value == "" {
		return ProtocolTCP, true
	}
	up := strings.ToUpper(value)
	for _, p := range allowed {
		if up == p {
			return p, true
		}
	}
	v.add(path(), fmt.Sprintf("unknown protocol %s; expected one of: %s", quoteShort(value), strings.Join(allowed, ", ")))
	return value, false
}

// portRange checks a START/END range against its protocol and returns its
// canonical form.
func (v *validator) portRange(path func() string, proto, value, listID string) string {
	switch proto {
	case ProtocolTCP, ProtocolUDP:
		if strings.TrimSpace(value) == "" {
			if listID != "" {
				return ""
			}
			v.add(path(), fmt.Sprintf("missing; a %s rule needs START/END in 1..65535 (e.g. 8080/8080, or 1/65535 for all ports)", proto))
			return value
		}
		pr, err := ParsePortRange(value)
		if err != nil {
			v.add(path(), err.Error())
			return value
		}
		if pr.All {
			v.add(path(), fmt.Sprintf("%q means all ports and is only for ICMP, GRE and ALL; a %s rule needs START/END in 1..65535 (1/65535 for all ports)", strings.TrimSpace(value), proto))
			return value
		}
		return canonicalPortRange(value, pr)
	default: // ICMP, GRE, ALL, ICMPV6 carry no ports
		if strings.TrimSpace(value) == "" {
			return AllPorts.String()
		}
		pr, err := ParsePortRange(value)
		if err != nil {
			v.add(path(), err.Error())
			return value
		}
		if !pr.All {
			v.add(path(), fmt.Sprintf("%q is not allowed for protocol %s; ICMP, GRE and ALL rules use -1/-1", strings.TrimSpace(value), proto))
			return value
		}
		return canonicalPortRange(value, pr)
	}
}

// cidrMessage explains why s is not a CIDR (or an IP, when ipOK).
func cidrMessage(s string, ipOK bool) string {
	want := "expected ADDRESS/BITS, e.g. 192.168.0.0/24"
	if ipOK {
		want = "expected an IP address or ADDRESS/BITS, e.g. 192.168.0.5 or 192.168.0.0/24"
	}
	addr, bits, hasSlash := strings.Cut(s, "/")
	if hasSlash {
		if ip, err := netip.ParseAddr(addr); err == nil {
			maxBits := ip.BitLen()
			if n, err := strconv.Atoi(bits); err == nil && (n < 0 || n > maxBits) {
				return fmt.Sprintf("%s is not a valid CIDR: prefix length %d is out of range 0..%d; %s", quoteShort(s), n, maxBits, want)
			}
		}
	}
	return fmt.Sprintf("%s is not a valid CIDR; %s", quoteShort(s), want)
}

// ipv6Cidr is cidr for the IPv6-only fields (ipv6SourceCidr, ipv6DestCidr);
// other names the field that takes IPv4.
func (v *validator) ipv6Cidr(path, value, other string) string {
	out := v.cidr(func() string { return path }, value)
	if p, err := netip.ParsePrefix(out); err == nil && p.Addr().Is4() {
		v.add(path, fmt.Sprintf("%s is an IPv4 CIDR; this field takes IPv6 (use %s)", quoteShort(value), other))
	}
	return out
}

// cidr parses a rule peer: a CIDR, or a plain IP meaning a single address
// (the ECS API accepts both); it returns the canonical CIDR.
func (v *validator) cidr(path func() string, value string) string {
	if pfx, err := netip.ParsePrefix(value); err == nil {
		var buf [64]byte
		if string(pfx.AppendTo(buf[:0])) == value {
			return value
		}
		return pfx.String()
	}
	if ip, err := netip.ParseAddr(value); err == nil && ip.Zone() == "" {
		return netip.PrefixFrom(ip, ip.BitLen()).String()
	}
	v.add(path(), cidrMessage(value, false))
	return value
}

// ip checks an IP address and returns its canonical form (and the address,
// invalid when the value is not one).
func (v *validator) ip(path func() string, value string) (string, netip.Addr) {
	ip, err := netip.ParseAddr(value)
	if err != nil || ip.Zone() != "" {
		if value == "" {
			v.add(path(), "missing; expected an IP address such as 192.168.1.10")
		} else {
			v.add(path(), fmt.Sprintf("%s is not an IP address; expected e.g. 192.168.1.10", quoteShort(value)))
		}
		return value, netip.Addr{}
	}
	var buf [64]byte
	if string(ip.AppendTo(buf[:0])) == value {
		return value, ip // already canonical: no allocation
	}
	return ip.String(), ip
}

// canonicalPortRange returns value when it is already the canonical
// spelling of pr (the common case, without allocating), else pr.String().
func canonicalPortRange(value string, pr PortRange) string {
	var buf [16]byte
	b := strconv.AppendInt(buf[:0], int64(pr.Start), 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, int64(pr.End), 10)
	if string(b) == value {
		return value
	}
	return pr.String()
}

func (v *validator) securityGroups() {
	seen := map[string]int{}
	for i := range v.s.SecurityGroups {
		g := &v.s.SecurityGroups[i]
		base := fmt.Sprintf("securityGroups[%d]", i)
		if g.ID == "" {
			v.add(base+".id", "missing; expected the security group ID (e.g. sg-nodes)")
		} else if first, dup := seen[g.ID]; dup {
			p := v.add(base+".id", fmt.Sprintf("duplicate security group ID %s; already used by securityGroups[%d]", quoteShort(g.ID), first))
			p.see = fmt.Sprintf("securityGroups[%d].id", first)
		} else {
			seen[g.ID] = i
		}
		switch strings.ToLower(g.Type) {
		case "", GroupTypeNormal:
			g.Type = GroupTypeNormal
		case GroupTypeEnterprise:
			g.Type = GroupTypeEnterprise
		default:
			v.add(base+".type", fmt.Sprintf("unknown type %s; expected normal or enterprise", quoteShort(g.Type)))
		}
		switch pol := strings.ToLower(g.InnerAccessPolicy); {
		case g.Type == GroupTypeEnterprise && (pol == "" || pol == PolicyDrop):
			g.InnerAccessPolicy = PolicyDrop
		case g.Type == GroupTypeEnterprise && pol == PolicyAccept:
			v.add(base+".innerAccessPolicy", "accept is impossible on an enterprise group: enterprise groups always isolate their members; expected drop or nothing")
		case pol == "":
			g.InnerAccessPolicy = PolicyAccept
		case pol == PolicyAccept || pol == PolicyDrop:
			g.InnerAccessPolicy = pol
		default:
			v.add(base+".innerAccessPolicy", fmt.Sprintf("unknown policy %s; expected accept or drop", quoteShort(g.InnerAccessPolicy)))
		}
		ruleIDs := map[string]int{}
		for j := range g.Rules {
			v.rule(g, i, j, ruleIDs)
		}
	}
}

func (v *validator) rule(g *SecurityGroup, gi, ri int, ids map[string]int) {
	r := &g.Rules[ri]
	// Paths are built only for problems: a large snapshot has 100,000 rules.
	at := func(field string) string { return fmt.Sprintf("securityGroups[%d].rules[%d].%s", gi, ri, field) }
	if r.ID != "" {
		if first, dup := ids[r.ID]; dup {
			p := v.add(at("id"), fmt.Sprintf("duplicate rule ID %s in group %s; already used by securityGroups[%d].rules[%d]", quoteShort(r.ID), quoteShort(g.ID), gi, first))
			p.see = fmt.Sprintf("securityGroups[%d].rules[%d].id", gi, first)
		} else {
			ids[r.ID] = ri
		}
	}
	switch d := strings.ToLower(r.Direction); d {
	case DirectionIngress, DirectionEgress:
		r.Direction = d
	case "":
		v.add(at("direction"), "missing; expected ingress or egress")
	default:
		v.add(at("direction"), fmt.Sprintf("unknown direction %s; expected ingress or egress", quoteShort(r.Direction)))
	}
	switch p := strings.ToLower(r.Policy); p {
	case "":
		r.Policy = PolicyAccept
	case PolicyAccept, PolicyDrop:
		r.Policy = p
	default:
		v.add(at("policy"), fmt.Sprintf("unknown policy %s; expected accept or drop", quoteShort(r.Policy)))
	}
	switch {
	case r.Priority == 0:
		r.Priority = 1
	case r.Priority >= 1 && r.Priority <= 100, r.Priority == 110:
	default:
		v.add(at("priority"), fmt.Sprintf("%d is out of range; expected 1 (highest) .. 100, or 110 for legacy system default rules", r.Priority))
	}
	proto, ok := v.protocol(func() string { return at("protocol") }, r.Protocol, allProtocols)
	r.Protocol = proto
	if ok {
		r.PortRange = v.portRange(func() string { return at("portRange") }, proto, r.PortRange, r.PortRangeListID)
	}
	// Both a source group and a source CIDR is legal in the ECS API (the CIDR
	// wins, and the evaluator applies that); the peer fields of the other
	// direction are not.
	// On an ingress rule destCidr/ipv6DestCidr is the local destination
	// (the API's DestCidrIp: which of the ENI's addresses the rule covers).
	switch r.Direction {
	case DirectionIngress:
		if r.DestGroupID != "" {
			v.add(at("destGroupId"), "set on an ingress rule; an ingress rule names its peer with sourceGroupId")
		}
	case DirectionEgress:
		if r.SourceGroupID != "" {
			v.add(at("sourceGroupId"), "set on an egress rule; an egress rule names its peer with destGroupId")
		}
		if r.SourceCidr != "" {
			v.add(at("sourceCidr"), "set on an egress rule; an egress rule names its peer with destCidr")
		}
		if r.SourcePrefixListID != "" {
			v.add(at("sourcePrefixListId"), "set on an egress rule; source prefix lists apply to ingress rules")
		}
		if r.Ipv6SourceCidr != "" {
			v.add(at("ipv6SourceCidr"), "set on an egress rule; an egress rule names its peer with ipv6DestCidr")
		}
	}
	if r.SourceCidr != "" {
		// sourceCidr and destCidr have always taken either family.
		r.SourceCidr = v.cidr(func() string { return at("sourceCidr") }, r.SourceCidr)
	}
	if r.DestCidr != "" {
		r.DestCidr = v.cidr(func() string { return at("destCidr") }, r.DestCidr)
	}
	if r.Ipv6SourceCidr != "" {
		r.Ipv6SourceCidr = v.ipv6Cidr(at("ipv6SourceCidr"), r.Ipv6SourceCidr, "sourceCidr")
	}
	if r.Ipv6DestCidr != "" {
		r.Ipv6DestCidr = v.ipv6Cidr(at("ipv6DestCidr"), r.Ipv6DestCidr, "destCidr")
	}
	if r.SourceCidr != "" && r.Ipv6SourceCidr != "" {
		v.add(at("ipv6SourceCidr"), "set together with sourceCidr; a rule has one source CIDR, IPv4 (sourceCidr) or IPv6 (ipv6SourceCidr)")
	}
	if r.DestCidr != "" && r.Ipv6DestCidr != "" {
		v.add(at("ipv6DestCidr"), "set together with destCidr; a rule has one destination CIDR, IPv4 (destCidr) or IPv6 (ipv6DestCidr)")
	}
	if sp := strings.TrimSpace(r.SourcePortRange); sp != "" {
		if pr, err := ParsePortRange(sp); err != nil {
			v.add(at("sourcePortRange"), err.Error())
		} else {
			r.SourcePortRange = canonicalPortRange(sp, pr)
		}
	}
	// sourceGroupId/destGroupId naming an unlisted group is not an error:
	// checks report it (the referenced group may live in another account).
}

func (v *validator) nodePools() {
	v.poolIDs = map[string]bool{}
	seen := map[string]int{}
	for i := range v.s.NodePools {
		p := &v.s.NodePools[i]
		base := fmt.Sprintf("nodePools[%d]", i)
		if p.ID == "" {
			v.add(base+".id", "missing; expected the node pool ID (e.g. np-default)")
		} else if first, dup := seen[p.ID]; dup {
			pr := v.add(base+".id", fmt.Sprintf("duplicate node pool ID %s; already used by nodePools[%d]", quoteShort(p.ID), first))
			pr.see = fmt.Sprintf("nodePools[%d].id", first)
		} else {
			seen[p.ID] = i
			v.poolIDs[p.ID] = true
		}
		v.groupList(base+".securityGroupIds", p.SecurityGroupIDs)
	}
}

// groupList checks a list of group references: each listed once, each known.
func (v *validator) groupList(path string, ids []string) {
	first := make(map[string]int, len(ids))
	for k, id := range ids {
		at := func() string { return fmt.Sprintf("%s[%d]", path, k) }
		if dupOf, dup := first[id]; dup && id != "" {
			p := v.add(at(), fmt.Sprintf("security group %s is listed twice; already at %s[%d]", quoteShort(id), path, dupOf))
			p.see = fmt.Sprintf("%s[%d]", path, dupOf)
			continue
		}
		first[id] = k
		v.groupRef(at, id)
	}
}

// mixedTypes reports whether the listed (known) groups mix normal and enterprise.
func (v *validator) mixedTypes(ids []string) (normal, enterprise []string) {
	for _, id := range ids {
		switch v.groupType[id] {
		case GroupTypeNormal:
			normal = append(normal, id)
		case GroupTypeEnterprise:
			enterprise = append(enterprise, id)
		}
	}
	return normal, enterprise
}

func (v *validator) nodes() {
	names := map[string]int{}
	instances := map[string]int{}
	enis := map[string]string{}
	ips := map[netip.Addr]ipLoc{}
	v.nodeRefs = map[string]bool{}
	for i := range v.s.Nodes {
		n := &v.s.Nodes[i]
		base := fmt.Sprintf("nodes[%d]", i)
		if n.Name == "" && n.InstanceID == "" {
			v.add(base, "a node needs a name (Kubernetes node name) or an instanceId (ECS instance ID); expected at least one")
		}
		if n.Name != "" {
			if first, dup := names[n.Name]; dup {
				p := v.add(base+".name", fmt.Sprintf("duplicate node name %s; already used by nodes[%d]", quoteShort(n.Name), first))
				p.see = fmt.Sprintf("nodes[%d].name", first)
			} else {
				names[n.Name] = i
			}
			v.nodeRefs[n.Name] = true
		}
		if n.InstanceID != "" {
			if first, dup := instances[n.InstanceID]; dup {
				p := v.add(base+".instanceId", fmt.Sprintf("duplicate instance ID %s; already used by nodes[%d]", quoteShort(n.InstanceID), first))
				p.see = fmt.Sprintf("nodes[%d].instanceId", first)
			} else {
				instances[n.InstanceID] = i
			}
			v.nodeRefs[n.InstanceID] = true
		}
		if n.NodePool != "" && !v.poolIDs[n.NodePool] && !v.allowedMissing(PartNodePools, n.NodePool) {
			p := v.add(base+".nodePool", fmt.Sprintf("node pool %s is not in nodePools; list it there (or record it under missing: if it could not be read)", quoteShort(n.NodePool)))
			p.refTo = "nodePools"
		}
		if n.Kind != "" {
			n.Kind = v.enum(base+".kind", n.Kind, NodeKinds)
		}
		// A virtual node's ENIs (older snapshots list them there) belong to
		// different pod instances: one primary each, groups of either type.
		virtual := n.KindOf() == NodeKindVirtual
		primaries := 0
		var nodeGroups []string
		eniMixed := false
		for j := range n.ENIs {
			e := &n.ENIs[j]
			ebase := fmt.Sprintf("%s.enis[%d]", base, j)
			if e.ID == "" {
				v.add(ebase+".id", "missing; expected the ENI ID (e.g. eni-1)")
			} else if first, dup := enis[e.ID]; dup {
				p := v.add(ebase+".id", fmt.Sprintf("duplicate ENI ID %s; already used by %s", quoteShort(e.ID), first))
				p.see = first + ".id"
			} else {
				enis[e.ID] = ebase
			}
			if e.Primary {
				primaries++
				if primaries == 2 && !virtual {
					v.add(ebase+".primary", "a second primary ENI on this node; expected at most one primary ENI per node")
				}
			}
			for k := range e.IPs {
				here := ipLoc{i, j, k}
				var addr netip.Addr
				e.IPs[k], addr = v.ip(here.path, e.IPs[k])
				if !addr.IsValid() {
					continue
				}
				if first, dup := ips[addr]; dup {
					p := v.add(here.path(), fmt.Sprintf("IP %s is already on %s; an address belongs to one ENI", e.IPs[k], first.path()))
					p.see = first.path()
				} else {
					ips[addr] = here
				}
			}
			for k := range e.Prefixes {
				ppath := fmt.Sprintf("%s.prefixes[%d]", ebase, k)
				if pfx, err := netip.ParsePrefix(e.Prefixes[k]); err == nil {
					e.Prefixes[k] = pfx.String()
				} else {
					v.add(ppath, cidrMessage(e.Prefixes[k], false))
				}
			}
			v.groupList(ebase+".securityGroupIds", e.SecurityGroupIDs)
			if nm, en := v.mixedTypes(e.SecurityGroupIDs); len(nm) > 0 && len(en) > 0 {
				eniMixed = true
				v.add(ebase+".securityGroupIds", fmt.Sprintf("mixes normal groups (%s) and enterprise groups (%s); all groups on an ENI must be of one type",
					strings.Join(nm, ", "), strings.Join(en, ", ")))
			}
			nodeGroups = append(nodeGroups, e.SecurityGroupIDs...)
		}
		if !eniMixed && !virtual {
			if nm, en := v.mixedTypes(nodeGroups); len(nm) > 0 && len(en) > 0 {
				v.add(base+".enis", fmt.Sprintf("the node's ENIs mix normal groups (%s) and enterprise groups (%s); all groups on an instance must be of one type",
					strings.Join(dedupe(nm), ", "), strings.Join(dedupe(en), ", ")))
			}
		}
	}
}

// ipLoc is where an ENI IP is listed; its path is built only for problems.
type ipLoc struct{ node, eni, ip int }

func (l ipLoc) path() string { return fmt.Sprintf("nodes[%d].enis[%d].ips[%d]", l.node, l.eni, l.ip) }

func dedupe(s []string) []string {
	out := s[:0:0]
	seen := map[string]bool{}
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

var serviceSources = []string{SourceK8s, SourceECS, SourceFixed, SourceDNS, SourceNacos}

func (v *validator) services() {
	keys := map[string]int{}
	for i := range v.s.Services {
		svc := &v.s.Services[i]
		base := fmt.Sprintf("services[%d]", i)
		if svc.Name == "" {
			v.add(base+".name", "missing; expected the service name")
		} else if first, dup := keys[svc.Key()]; dup {
			p := v.add(base+".name", fmt.Sprintf("duplicate service %s; already listed as services[%d]", quoteShort(svc.Key()), first))
			p.see = fmt.Sprintf("services[%d].name", first)
		} else {
			keys[svc.Key()] = i
		}
		if svc.Source != "" {
			src := strings.ToLower(svc.Source)
			ok := false
			for _, s := range serviceSources {
				ok = ok || s == src
			}
			if ok {
				svc.Source = src
			} else {
				v.add(base+".source", fmt.Sprintf("unknown source %s; expected one of: %s", quoteShort(svc.Source), strings.Join(serviceSources, ", ")))
			}
		}
		svc.Protocol, _ = v.protocol(func() string { return base + ".protocol" }, svc.Protocol, []string{ProtocolTCP, ProtocolUDP})
		type ipPort struct {
			ip   netip.Addr
			port int
		}
		seen := make(map[ipPort]int, len(svc.Endpoints))
		for j := range svc.Endpoints {
			e := &svc.Endpoints[j]
			at := func(field string) string {
				if field == "" {
					return fmt.Sprintf("%s.endpoints[%d]", base, j)
				}
				return fmt.Sprintf("%s.endpoints[%d].%s", base, j, field)
			}
			var addr netip.Addr
			e.IP, addr = v.ip(func() string { return at("ip") }, e.IP)
			switch {
			case e.Port == 0:
				v.add(at("port"), "missing; expected the port the gateway dials (the pod's targetPort), 1..65535")
			case e.Port < 1 || e.Port > 65535:
				v.add(at("port"), fmt.Sprintf("%d is out of range; expected 1..65535", e.Port))
			}
			if addr.IsValid() {
				key := ipPort{addr, e.Port}
				if first, dup := seen[key]; dup {
					p := v.add(at(""), fmt.Sprintf("duplicate endpoint %s; already listed as %s.endpoints[%d]",
						net.JoinHostPort(e.IP, strconv.Itoa(e.Port)), base, first))
					p.see = fmt.Sprintf("%s.endpoints[%d]", base, first)
				} else {
					seen[key] = j
				}
			}
			if e.Kind != "" {
				e.Kind = v.enum(at("kind"), e.Kind, BackendKinds)
			}
			for k, g := range e.AnnotatedSecurityGroupIDs {
				v.groupIDFormat(fmt.Sprintf("%s[%d]", at("annotatedSecurityGroupIds"), k), g)
			}
			if e.Node != "" && !v.nodeRefs[e.Node] && !v.allowedMissing(PartNodes, e.Node) {
				p := v.add(at("node"), fmt.Sprintf("node %s is neither a node name nor an instanceId in nodes; list the node (or record it under missing: if it could not be read)", quoteShort(e.Node)))
				p.refTo = "nodes"
			}
		}
		if svc.HealthCheck != nil {
			v.healthCheck(base+".healthCheck", svc.HealthCheck)
		}
	}
}

var healthStates = []string{HealthHealthy, HealthUnhealthy, HealthUnknown}

// healthCheck checks and normalises a service's gateway health check:
// status in lower case, endpoints as canonical ip:port.
func (v *validator) healthCheck(base string, h *HealthCheck) {
	if h.Status != "" {
		st := strings.ToLower(h.Status)
		if contains(healthStates, st) {
			h.Status = st
		} else {
			v.add(base+".status", fmt.Sprintf("unknown status %s; expected one of: %s", quoteShort(h.Status), strings.Join(healthStates, ", ")))
		}
	}
	for k, target := range h.UnhealthyEndpoints {
		ap, err := netip.ParseAddrPort(target)
		switch {
		case err != nil || ap.Addr().Zone() != "":
			v.add(fmt.Sprintf("%s.unhealthyEndpoints[%d]", base, k), fmt.Sprintf("%s is not IP:PORT; expected e.g. 172.20.1.10:8080 or [fd00::1]:8080", quoteShort(target)))
		case ap.Port() == 0:
			v.add(fmt.Sprintf("%s.unhealthyEndpoints[%d]", base, k), fmt.Sprintf("%s has port 0; expected a port in 1..65535", quoteShort(target)))
		default:
			h.UnhealthyEndpoints[k] = ap.String() // the form endpoints are matched in
		}
	}
	if h.At != "" {
		v.checkTime(base+".at", h.At)
	}
}

// cluster checks the cluster's defaults. They need not be listed in
// securityGroups: serverless-default-drift says so when it cannot evaluate one.
func (v *validator) cluster() {
	c := v.s.Cluster
	if c == nil {
		return
	}
	v.clusterID(c)
	if c.SecurityGroupID != "" {
		v.groupIDFormat("cluster.securityGroupId", c.SecurityGroupID)
	}
	if c.ECIProfileSecurityGroupID != "" {
		v.groupIDFormat("cluster.eciProfileSecurityGroupId", c.ECIProfileSecurityGroupID)
	}
	if c.ACSProfileSecurityGroupID != "" {
		v.groupIDFormat("cluster.acsProfileSecurityGroupId", c.ACSProfileSecurityGroupID)
	}
}

// groupIDFormat checks one security group id that need not be listed: an
// annotation or profile value split wrongly would hold a comma or a space.
func (v *validator) groupIDFormat(path, id string) {
	switch {
	case id == "":
		v.add(path, "empty security group ID; expected an ID such as sg-eci")
	case strings.ContainsAny(id, ", \t\n"):
		v.add(path, fmt.Sprintf("%s is not one security group ID; list each ID as its own item, e.g. [sg-a, sg-b]", quoteShort(id)))
	}
}

// enum normalises value to one of allowed (case-insensitive) or records a problem.
func (v *validator) enum(path, value string, allowed []string) string {
	lower := strings.ToLower(strings.TrimSpace(value))
	if contains(allowed, lower) {
		return lower
	}
	msg := fmt.Sprintf("unknown kind %s; expected one of: %s", quoteShort(value), strings.Join(allowed, ", "))
	if sug := suggestKey(value, allowed); sug != "" {
		msg = fmt.Sprintf("unknown kind %s; did you mean %q? (expected one of: %s)", quoteShort(value), sug, strings.Join(allowed, ", "))
	}
	v.add(path, msg)
	return value
}

var probeStates = []string{ProbeOpen, ProbeRefused, ProbeFiltered, ProbeUnreachable, ProbeError}

func (v *validator) probes() {
	for i := range v.s.Probes {
		p := &v.s.Probes[i]
		base := fmt.Sprintf("probes[%d]", i)
		if p.Target == "" {
			v.add(base+".target", "missing; expected HOST:PORT, e.g. 172.20.1.10:8080")
		} else if host, port, err := net.SplitHostPort(p.Target); err != nil || host == "" {
			v.add(base+".target", fmt.Sprintf("%s is not HOST:PORT; expected e.g. 172.20.1.10:8080 or [fd00::1]:8080", quoteShort(p.Target)))
		} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			v.add(base+".target", fmt.Sprintf("%s has port %q; expected a port in 1..65535", quoteShort(p.Target), port))
		}
		st := strings.ToLower(p.State)
		switch {
		case st == "":
			v.add(base+".state", "missing; expected one of: "+strings.Join(probeStates, ", "))
		case contains(probeStates, st):
			p.State = st
		default:
			v.add(base+".state", fmt.Sprintf("unknown state %s; expected one of: %s", quoteShort(p.State), strings.Join(probeStates, ", ")))
		}
		if math.IsNaN(p.RTTMs) || math.IsInf(p.RTTMs, 0) || p.RTTMs < 0 {
			v.add(base+".rttMs", fmt.Sprintf("%v is not a duration; expected milliseconds >= 0", p.RTTMs))
		}
		if p.Attempts < 0 {
			v.add(base+".attempts", fmt.Sprintf("%d is negative; expected a count >= 0", p.Attempts))
		}
		if p.At != "" {
			v.checkTime(base+".at", p.At)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// emptySlicesToNil makes empty lists nil, as loading does, so that a
// snapshot built in memory round-trips to a deeply equal value.
func emptySlicesToNil(s *Snapshot) {
	nilIfEmpty(&s.SecurityGroups)
	nilIfEmpty(&s.NodePools)
	nilIfEmpty(&s.Nodes)
	nilIfEmpty(&s.Services)
	nilIfEmpty(&s.Probes)
	nilIfEmpty(&s.Missing)
	nilIfEmpty(&s.Gateway.Addresses)
	nilIfEmpty(&s.Gateway.Authorizations)
	for i := range s.SecurityGroups {
		nilIfEmpty(&s.SecurityGroups[i].Rules)
	}
	for i := range s.NodePools {
		nilIfEmpty(&s.NodePools[i].SecurityGroupIDs)
	}
	for i := range s.Nodes {
		n := &s.Nodes[i]
		nilIfEmpty(&n.ENIs)
		for j := range n.ENIs {
			nilIfEmpty(&n.ENIs[j].IPs)
			nilIfEmpty(&n.ENIs[j].Prefixes)
			nilIfEmpty(&n.ENIs[j].SecurityGroupIDs)
		}
	}
	for i := range s.Services {
		nilIfEmpty(&s.Services[i].Endpoints)
		if h := s.Services[i].HealthCheck; h != nil {
			nilIfEmpty(&h.UnhealthyEndpoints)
		}
		for j := range s.Services[i].Endpoints {
			nilIfEmpty(&s.Services[i].Endpoints[j].AnnotatedSecurityGroupIDs)
		}
	}
	for i := range s.Missing {
		nilIfEmpty(&s.Missing[i].IDs)
	}
}

func nilIfEmpty[T any](s *[]T) {
	if *s != nil && len(*s) == 0 {
		*s = nil
	}
}

func stoppedProblem() *Problem {
	return &Problem{Message: fmt.Sprintf("stopped after %d problems; the rest was not checked: fix these first", maxProblems)} //words:never-one (a constant)
}
