package checks

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/secgroup"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// Backend kinds are named as the MSE document names the three places a
// backend's security group comes from: an ACK node pool (a pod on an ECS
// node), an ACK Serverless cluster or virtual node (an ECI pod, or an ACS
// pod, with its own ENI and group), and an ECS instance. The cause checks
// call these helpers so that each kind is described, and fixed, in its own
// words: no node-pool advice for a serverless pod, no Kubernetes words for an
// ECS instance.

// The annotations that set a serverless pod's security groups at creation.
const (
	annotationECIGroup = "k8s.aliyun.com/eci-security-group"
	annotationACSGroup = "network.alibabacloud.com/security-group-ids"
)

// isServerless reports whether the endpoint is a pod with an instance of its
// own (ECI or ACS): its ENI's groups are the pod's, fixed when it was created.
func isServerless(ep *diagnose.Endpoint) bool {
	return ep.Kind == snapshot.BackendECI || ep.Kind == snapshot.BackendACS
}

// groupAnnotation is the annotation that names a serverless pod's groups.
func groupAnnotation(ep *diagnose.Endpoint) string {
	if ep.Kind == snapshot.BackendACS {
		return annotationACSGroup
	}
	return annotationECIGroup
}

// podKind is "ECI pod" or "ACS pod".
func podKind(ep *diagnose.Endpoint) string {
	if ep.Kind == snapshot.BackendACS {
		return "ACS pod"
	}
	return "ECI pod"
}

// backendNoun names where the endpoint runs, in its kind's words:
// "node cn-hangzhou.10.0.1.10", "ECI pod orders-2 (instance eci-2ze1 on
// virtual node virtual-kubelet-cn-hangzhou-h)", "ECS instance i-vm".
func backendNoun(ep *diagnose.Endpoint) string {
	switch {
	case isServerless(ep):
		s := podKind(ep) + " " + orNone(ep.Endpoint.Pod)
		var where []string
		if ep.Node != nil && ep.Node.KindOf() != snapshot.NodeKindVirtual && ep.Node.InstanceID != "" {
			where = append(where, "instance "+ep.Node.InstanceID)
		}
		if v := virtualNode(ep); v != "" {
			where = append(where, "on virtual node "+v)
		}
		if len(where) > 0 {
			s += " (" + strings.Join(where, " ") + ")"
		}
		return s
	case ep.Kind == snapshot.BackendECS:
		if ep.Node != nil {
			return "ECS instance " + cmp.Or(ep.Node.InstanceID, diagnose.NodeName(ep.Node))
		}
		return "ECS instance " + orNone(ep.Endpoint.Node)
	}
	return "node " + ep.NodeLabel()
}

// virtualNode is the Kubernetes node a serverless pod is scheduled to.
func virtualNode(ep *diagnose.Endpoint) string {
	if ep.HostNode != nil {
		return diagnose.NodeName(ep.HostNode)
	}
	if ep.Node != nil && ep.Node.KindOf() == snapshot.NodeKindVirtual {
		return diagnose.NodeName(ep.Node)
	}
	return ""
}

// backendGroupIDs are the groups that filter the backend as a whole: a
// node's or an instance's groups on all its ENIs; a serverless pod's ENI
// groups (a virtual node's other ENIs belong to other pods).
func backendGroupIDs(ep *diagnose.Endpoint) []string {
	if isServerless(ep) || ep.Node == nil {
		return ep.GroupIDs
	}
	return diagnose.NodeGroupIDs(ep.Node)
}

// origin says where a serverless pod's groups came from.
type origin struct {
	// annotated: the pod's annotation named the groups.
	annotated bool
	// def is the default group a pod naming none gets today, defFrom where
	// that default is set; both empty when the snapshot does not record it.
	def, defFrom string
	// profile: the default is the profile ConfigMap's (else the cluster's).
	profile bool
}

// defaultGroup is the group a new serverless pod of kind gets when its
// annotation names none: ECI pods the eci-profile's securityGroupId, else
// (and ACS pods) the cluster's security group.
func (f *facts) defaultGroup(kind string) (group, from string, profile bool) {
	c := f.v.Snapshot.Cluster
	if c == nil {
		return "", "", false
	}
	if kind == snapshot.BackendECI && c.ECIProfileSecurityGroupID != "" {
		return c.ECIProfileSecurityGroupID, "securityGroupId of ConfigMap kube-system/eci-profile", true
	}
	if kind == snapshot.BackendACS && c.ACSProfileSecurityGroupID != "" {
		return c.ACSProfileSecurityGroupID, "securityGroupId of ConfigMap kube-system/acs-profile", true
	}
	if c.SecurityGroupID != "" {
		return c.SecurityGroupID, "the cluster's security group (ACK console → Clusters → " + orNone(c.ID) + " → Basic Information)", false
	}
	return "", "", false
}

func (f *facts) originOf(ep *diagnose.Endpoint) origin {
	o := origin{annotated: len(ep.Endpoint.AnnotatedSecurityGroupIDs) > 0}
	o.def, o.defFrom, o.profile = f.defaultGroup(ep.Kind)
	return o
}

// originLine explains, for a serverless pod, where the groups on its ENI
// came from; "" for other kinds.
func (f *facts) originLine(ep *diagnose.Endpoint) string {
	if !isServerless(ep) {
		return ""
	}
	o := f.originOf(ep)
	groups := strings.Join(ep.GroupIDs, ",")
	switch {
	case o.annotated:
		return fmt.Sprintf("the %s's group %s comes from its annotation %s: %s", podKind(ep), groups, groupAnnotation(ep), strings.Join(ep.Endpoint.AnnotatedSecurityGroupIDs, ","))
	case o.def == "":
		why := "which the snapshot does not record"
		if miss, err := f.v.Missing(profilePart(ep), ""); miss {
			why = "which could not be read (" + err + ")"
		}
		return fmt.Sprintf("the %s names no group in annotation %s, so %s is the cluster's default for new pods, %s", podKind(ep), groupAnnotation(ep), groups, why)
	case slices.Contains(ep.GroupIDs, o.def):
		return fmt.Sprintf("the %s names no group in annotation %s, so it got the default %s: %s", podKind(ep), groupAnnotation(ep), o.def, o.defFrom)
	}
	return fmt.Sprintf("the %s names no group in annotation %s; it got %s, the default when it was created — the default is now %s (%s)", podKind(ep), groupAnnotation(ep), groups, o.def, o.defFrom)
}

// originShort is where a serverless pod's group came from, for messages:
// "from the pod's annotation", "the eci-profile default", …; "" for other kinds.
func (f *facts) originShort(ep *diagnose.Endpoint) string {
	if !isServerless(ep) {
		return ""
	}
	o := f.originOf(ep)
	switch {
	case o.annotated:
		return "set by the pod's annotation " + groupAnnotation(ep)
	case o.def == "":
		return "the cluster's default: the pod's annotation names none"
	case !slices.Contains(ep.GroupIDs, o.def):
		return "the default when the pod was created (now " + o.def + ")"
	case o.profile:
		return "the " + profileName(ep.Kind) + " default: the pod's annotation names none"
	}
	return "the cluster's default: the pod's annotation names none"
}

// profileName is the kube-system ConfigMap holding the default group of new
// serverless pods of kind: eci-profile, or acs-profile for ACS pods.
func profileName(kind string) string {
	if kind == snapshot.BackendACS {
		return "acs-profile"
	}
	return "eci-profile"
}

// profilePart is the snapshot part of that ConfigMap.
func profilePart(ep *diagnose.Endpoint) string {
	if ep.Kind == snapshot.BackendACS {
		return snapshot.PartACSProfile
	}
	return snapshot.PartECIProfile
}

// kindAttribute extends a finding's grouping attribute for backends that are
// not pods on ECS nodes: " [eci, annotation]", " [acs, default]", " [ecs]".
// Backends of different kinds, or serverless pods whose groups came from
// different places, need different words and fixes, so they are different
// findings (with different ids); pods on nodes keep the bare attribute.
func (f *facts) kindAttribute(ep *diagnose.Endpoint) string {
	switch {
	case isServerless(ep):
		o := f.originOf(ep)
		from := "default"
		switch {
		case o.annotated:
			from = "annotation"
		case o.def != "" && !slices.Contains(ep.GroupIDs, o.def):
			from = "earlier default"
		}
		return " [" + ep.Kind + ", " + from + "]"
	case ep.Kind == snapshot.BackendECS:
		return " [ecs]"
	}
	return ""
}

// immutableNote is said wherever a serverless pod's group is the problem.
func immutableNote(ep *diagnose.Endpoint) string {
	return "a running " + podKind(ep) + "'s security group is set when the pod is created and cannot be changed: only a new pod gets another group"
}

// serverlessSteps are the fixes for a serverless pod besides authorizing its
// group: recreate the pods with an authorized group in the annotation, or
// change the default new pods get. authorized is a group the gateway is let
// in by on the pod's port, "" when there is none yet.
func (f *facts) serverlessSteps(ep *diagnose.Endpoint, authorized string) (steps []string, commands []command) {
	target := fmt.Sprintf("%q", authorized)
	if authorized == "" {
		target = fmt.Sprintf("a group the gateway is authorized for on port %d", ep.Endpoint.Port)
	}
	o := f.originOf(ep)
	if o.annotated {
		// The default does not apply to these pods: the annotation decides.
		steps = append(steps, fmt.Sprintf("Or change the annotation that chose the group: in the workload's pod template (spec.template.metadata.annotations) set %s to %s and roll the workload out again. %s.",
			groupAnnotation(ep), target, upperFirst(immutableNote(ep))))
		return steps, nil
	}
	steps = append(steps, fmt.Sprintf("Or recreate the pods with an authorized group: in the workload's pod template (spec.template.metadata.annotations) set %s to %s and roll the workload out again. %s.",
		groupAnnotation(ep), target, upperFirst(immutableNote(ep))))
	if o.def != "" && !slices.Contains(ep.GroupIDs, o.def) &&
		f.v.Eval.Evaluate(secgroup.Query{GroupIDs: []string{o.def}, Protocol: protocol(ep), Port: ep.Endpoint.Port}).Verdict == secgroup.Allow {
		// The default has moved on to a group that works: new pods get it.
		steps = append(steps, fmt.Sprintf("Or simply recreate the pods (restart the workload): the default for new pods is now %s (%s), which lets the gateway in on port %d.",
			o.def, o.defFrom, ep.Endpoint.Port))
		return steps, nil
	}
	profile := profileName(ep.Kind)
	def := "the cluster's default"
	if o.def != "" {
		def += " (" + o.def + ", " + o.defFrom + ")"
	}
	how := ""
	if authorized != "" {
		how = " (the kubectl command below)"
		commands = append(commands, cmdProfileDefault(profile, authorized))
	}
	steps = append(steps, fmt.Sprintf("Or change %s for new pods that name no group: in the ConfigMap kube-system/%s set securityGroupId to %s%s. Pods created before keep their group until they are recreated.",
		def, profile, target, how))
	return steps, commands
}

// carrierList names the nodes and instances carrying a group: "nodes a, b",
// "instances i-1", or "nodes and instances a, eci-1" when mixed.
func carrierList(nodes []*snapshot.Node) string {
	return carrierNoun(nodes) + " " + nodeList(nodes)
}

// carrierNoun is "nodes" when every carrier is a Kubernetes node on ECS,
// "instances" when none is, else "nodes and instances".
func carrierNoun(nodes []*snapshot.Node) string {
	k8s := 0
	for _, n := range nodes {
		if n.Name != "" && n.KindOf() == snapshot.NodeKindECS {
			k8s++
		}
	}
	switch k8s {
	case len(nodes):
		return "nodes"
	case 0:
		return "instances"
	}
	return "nodes and instances"
}

// ecsInstanceStep is the ECS console step showing an instance's groups, as
// the MSE document words it.
func (f *facts) ecsInstanceStep(ep *diagnose.Endpoint, authorized string) string {
	id := "the instance"
	if ep.Node != nil {
		id = cmp.Or(ep.Node.InstanceID, diagnose.NodeName(ep.Node))
	}
	s := "ECS console → Instances & Images → Instances → " + id + " → Security Groups: the instance is in " + orNoneList(backendGroupIDs(ep))
	if authorized != "" {
		s += "; to put it in the authorized group instead, Add to Security Group → " + authorized
	}
	return s + "."
}

// cmdJoinGroup puts an ECS instance into a group (ECS JoinSecurityGroup).
func (f *facts) cmdJoinGroup(ep *diagnose.Endpoint, group string) command {
	const api = "aliyun ecs JoinSecurityGroup"
	switch {
	case ep.Node == nil || !strings.HasPrefix(ep.Node.InstanceID, "i-"):
		return unknown(api, "the backend's ECS instance id is not in the snapshot; find it in the ECS console (Instances)")
	case f.region == "":
		return unknown(api, lookupRegion)
	case !knownID(group):
		return unknown(api, lookupGroup)
	}
	return command{line: fmt.Sprintf("aliyun ecs JoinSecurityGroup --RegionId %s --InstanceId %s --SecurityGroupId %s",
		quote(f.region), quote(ep.Node.InstanceID), quote(group))}
}

// cmdProfileDefault sets the default group of new serverless pods in the
// kube-system ConfigMap profile (eci-profile or acs-profile): kubectl, as
// the ConfigMap lives in the cluster, not in a cloud API.
func cmdProfileDefault(profile, group string) command {
	patch := fmt.Sprintf(`{"data":{"securityGroupId":%q}}`, group)
	return command{line: "kubectl -n kube-system patch configmap " + profile + " --type merge -p " + quote(patch)}
}

func orNoneList(ids []string) string {
	if len(ids) == 0 {
		return "no groups"
	}
	return strings.Join(ids, ", ")
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
