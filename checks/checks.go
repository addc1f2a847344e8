// Package checks is gwdoctor's catalog: one file per check, each a
// *diagnose.Check value over the shared diagnose.View. All lists them for the
// engine. Checks never import UI, CLI or cloud SDKs.
//
// # Root causes
//
// A blocked endpoint is explained once, by its most specific cause. The
// classification runs once per view (facts, shared through View.Cache) and
// each cause check emits its share. For an endpoint the security groups
// deny, the first that applies wins:
//
//  0. gateway-egress-blocks (GWD112) — the gateway's own group stops the
//     traffic on the way out; nothing on the backend side can fix it.
//  1. deny-rule-shadows (GWD107) — the gateway's accept is there and matches;
//     a drop defeats it. Checked first because it is the only cause where
//     the authorization is right and a rule is what must change; every other
//     cause would propose adding what already exists.
//  2. vpc-mismatch (GWD108) — no authorization can work across VPCs, so
//     suggesting one (any cause below) would be wrong.
//  3. security-group-type-mismatch (GWD106) — likewise, no source-group
//     authorization can work between group types; it beats the causes
//     below, whose fixes are authorizations.
//  4. authorization-out-of-sync (GWD109) — an authorization covering this
//     port exists for a group on this very ENI, only its rule is missing: the
//     console looks right, the fix is to re-create the rule.
//  5. port-changed (GWD104) — the ENI's own groups let the gateway in, on
//     other ports: the group is right, the port is not.
//  6. multiple-security-groups (GWD103) — the node has a granted group, but
//     on another ENI: the node is right, the ENI is not.
//  7. wrong-node (GWD102) — granted groups exist, on other nodes: the
//     authorization is right for somewhere else.
//  8. missing-authorization (GWD101) — nothing lets the gateway in.
//
// The order goes from "everything is in place but one thing defeats it" to
// "nothing is in place"; each step down assumes the ones above do not apply,
// so the fix a finding proposes is the one that makes the endpoint work.
//
// Endpoints the configuration allows (or cannot decide) but a probe blocks:
// refused is service-down (GWD105), or port-changed when other endpoints of
// the same service use another port; filtered or unreachable is
// traffic-filtered (GWD201). Deny with an open probe is not blocked but
// unknown: contradictory-evidence (GWD202), whose evidence names the cause
// the configuration alone would give.
//
// Findings about a service's state rather than one endpoint's cause come on
// top: service-down for pods not ready, partial-reachability, and the
// hygiene checks (node-pool-drift, broad-authorization, stale-authorization,
// invalid-rule, the warning case of authorization-out-of-sync and of
// multiple-security-groups).
package checks

import "github.com/gwdoctor/gwdoctor/diagnose"

// All returns every check in the catalog, in code order.
func All() []*diagnose.Check {
	return []*diagnose.Check{
		VerdictUnknown,
		MissingAuthorization,
		WrongNode,
		MultipleGroups,
		PortChanged,
		ServiceDown,
		GroupTypeMismatch,
		DenyRuleShadows,
		VPCMismatch,
		AuthorizationSync,
		InvalidRule,
		GatewayEgress,
		ZonePartial,
		TrafficFiltered,
		Contradictory,
		PartialReachability,
		NodePoolDrift,
		BroadAuthorization,
		StaleAuthorization,
		ServerlessDrift,
	}
}
