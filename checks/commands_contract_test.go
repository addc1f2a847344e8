package checks_test

import (
	"context"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gwdoctor/gwdoctor/checks"
	"github.com/gwdoctor/gwdoctor/diagnose"
	"github.com/gwdoctor/gwdoctor/internal/apimeta"
	"github.com/gwdoctor/gwdoctor/internal/gen"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// The command contract: every command a finding prints must run as printed
// through the real aliyun CLI against the right resources. The CLI checks
// parameter names and required parameters against the API metadata it
// embeds; a copy of that metadata (aliyun-openapi-meta, Apache-2.0) is in
// testdata/aliyun-api, and this test holds every printed command to it.

func apiCatalog(t testing.TB) apimeta.Catalog {
	catalog, err := apimeta.LoadShared(filepath.Join("..", "testdata", "aliyun-api"))
	if err != nil {
		t.Fatal(err)
	}
	return catalog
}

// checkCommand returns every way line breaks the contract for snapshot s.
func checkCommand(c apimeta.Catalog, line string, s *snapshot.Snapshot) []error {
	words, err := apimeta.SplitWords(line)
	if err != nil {
		return []error{err}
	}
	if len(words) == 0 {
		return []error{errEmpty}
	}
	if words[0] != "aliyun" {
		return nil // kubectl, gwdoctor probe: shell safety is all there is to check
	}
	call, errs := c.CheckCLI(words)
	if call != nil {
		errs = append(errs, apimeta.CheckRefs(call, s)...)
	}
	return errs
}

type contractError string

func (e contractError) Error() string { return string(e) }

const errEmpty = contractError("empty command")

// checkReport holds every remediation of a report to the contract.
func checkReport(t *testing.T, name string, s *snapshot.Snapshot, r *diagnose.Report) (commands int) {
	t.Helper()
	c := apiCatalog(t)
	for _, f := range r.Findings {
		for _, step := range f.Remediation.Steps {
			// Commands come in the command list, never inside a sentence
			// (where a full stop would end up in the last argument).
			if strings.Contains(step, "aliyun ") || strings.Contains(step, "<") {
				t.Errorf("%s %s: a step embeds a command or a placeholder: %s", name, f.Code, step)
			}
			// A step that points at "the X command below" needs that command.
			for _, m := range commandBelow.FindAllStringSubmatch(step, -1) {
				if !hasCommandFor(f.Remediation.Commands, m[1]) {
					t.Errorf("%s %s: a step points at the %s command below, but none is printed: %s", name, f.Code, m[1], step)
				}
			}
		}
		for _, line := range f.Remediation.Commands {
			commands++
			for _, err := range checkCommand(c, line, s) {
				t.Errorf("%s %s: %v\n  %s", name, f.Code, err, line)
			}
		}
	}
	return commands
}

var commandBelow = regexp.MustCompile(`the (\w+) command below`)

// hasCommandFor says whether a command calls api; ROA calls name their
// path, not the API.
func hasCommandFor(commands []string, api string) bool {
	roaPath := map[string]string{"ModifyClusterNodePool": "/nodepools/"}
	return slices.ContainsFunc(commands, func(c string) bool {
		return strings.HasPrefix(c, api+" ") || strings.Contains(c, " "+api+" ") || (roaPath[api] != "" && strings.Contains(c, roaPath[api]))
	})
}

func diagnoseSnap(s *snapshot.Snapshot) *diagnose.Report {
	return diagnose.Run(context.Background(), diagnose.NewView(s), checks.All())
}

func TestEveryScenarioCommandKeepsTheAPIContract(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "testdata", "scenarios", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	// The snapshot a live collection of the fake cloud's Shop account
	// writes: port lists, prefix lists, services without endpoints.
	files = append(files, filepath.Join("..", "collect", "testdata", "shop.golden.json"))
	total := 0
	for _, file := range files {
		s, err := snapshot.Load(file)
		if err != nil {
			t.Fatal(err)
		}
		total += checkReport(t, filepath.Base(file), s, diagnoseSnap(s))
	}
	// The scenarios cover every command builder; far fewer would mean
	// commands stopped being printed (and this test checked nothing).
	if total < 40 {
		t.Fatalf("only %d commands printed over %d scenarios", total, len(files))
	}
}

func TestEveryGeneratedCommandKeepsTheAPIContract(t *testing.T) {
	total := 0
	for seed := int64(1); seed <= 8; seed++ {
		s := gen.Large(gen.Config{Endpoints: 300, Nodes: 30, Groups: 12, Rules: 120, Services: 12, Seed: seed})
		total += checkReport(t, "generated", s, diagnoseSnap(s))
	}
	if total == 0 {
		t.Fatal("generated estates printed no command")
	}
}

// Values the snapshot lacks give no command (and a step saying what to look
// up), never a placeholder.
func TestUnknownValuesGiveNoCommand(t *testing.T) {
	s := gen.Large(gen.Config{Endpoints: 200, Nodes: 20, Groups: 10, Rules: 80, Services: 8, Seed: 3})
	s.Region = ""
	r := diagnoseSnap(s)
	checkReport(t, "no region", s, r)
	lookups := 0
	for _, f := range r.Findings {
		for _, c := range f.Remediation.Commands {
			if strings.HasPrefix(c, "aliyun ") {
				t.Errorf("%s: an aliyun command without a region: %s", f.Code, c)
			}
		}
		for _, step := range f.Remediation.Steps {
			if strings.Contains(step, "command is printed: the snapshot names no region") {
				lookups++
			}
		}
	}
	if lookups == 0 {
		t.Fatal("no step says the region is missing")
	}
}

// The contract check must fail on each way a command can break it: the
// commands of issue 13 and one seeded mistake per rule.
func TestContractCatchesBadCommands(t *testing.T) {
	s, err := snapshot.Load(filepath.Join("..", "testdata", "scenarios", "deny-rule-shadows.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s.Cluster = &snapshot.Cluster{ID: "c1"}
	s.NodePools = append(s.NodePools, snapshot.NodePool{ID: "np-b"})
	for i := range s.SecurityGroups {
		if s.SecurityGroups[i].ID == "sg-gw" {
			s.SecurityGroups[i].Rules = append(s.SecurityGroups[i].Rules, snapshot.Rule{ID: "sgr-gw-out", Direction: snapshot.DirectionEgress, Policy: snapshot.PolicyDrop})
		}
	}
	c := apiCatalog(t)
	good := []string{
		"aliyun mse AddSecurityGroupRule --region cn-hangzhou --GatewayUniqueId gw-scn --SecurityGroupId sg-a --PortRange 8080/8080 --Description 'gwdoctor: x'",
		"aliyun ecs RevokeSecurityGroup --RegionId cn-hangzhou --SecurityGroupId sg-a --SecurityGroupRuleId.1 sgr-a-block",
		"aliyun ecs RevokeSecurityGroupEgress --RegionId cn-hangzhou --SecurityGroupId sg-gw --SecurityGroupRuleId.1 sgr-gw-out",
		"aliyun cs PUT /clusters/c1/nodepools/np-b --region cn-hangzhou --header Content-Type=application/json --body '{\"scaling_group\":{\"security_group_ids\":[\"sg-a\"]}}'",
	}
	for _, line := range good {
		if errs := checkCommand(c, line, s); len(errs) > 0 {
			t.Errorf("a good command is rejected: %v\n  %s", errs, line)
		}
	}
	for _, tc := range []struct{ why, line, want string }{
		{"placeholder in a ROA path", "aliyun cs PUT /clusters/<cluster-id>/nodepools/np-b --region cn-hangzhou", `unquoted '<'`},
		{"placeholder value", "aliyun mse DeleteSecurityGroupRule --region cn-hangzhou --GatewayUniqueId gw-scn --Id <authorization-id>", `unquoted '<'`},
		{"ingress API for an egress rule", "aliyun ecs RevokeSecurityGroup --RegionId cn-hangzhou --SecurityGroupId sg-gw --SecurityGroupRuleId.1 sgr-gw-out", "handles ingress rules; sgr-gw-out is an egress rule"},
		{"egress API for an ingress rule", "aliyun ecs ModifySecurityGroupEgressRule --RegionId cn-hangzhou --SecurityGroupId sg-a --SecurityGroupRuleId sgr-a-block --Priority 2", "handles egress rules"},
		{"MSE without region", "aliyun mse AddSecurityGroupRule --GatewayUniqueId gw-scn --SecurityGroupId sg-a --PortRange 8080/8080", "names no region"},
		{"port list as 0/0", "aliyun mse AddSecurityGroupRule --region cn-hangzhou --GatewayUniqueId gw-scn --SecurityGroupId sg-a --PortRange 0/0", "not START/END"},
		{"deprecated top-level parameter", "aliyun ecs AuthorizeSecurityGroup --RegionId cn-hangzhou --SecurityGroupId sg-a --IpProtocol tcp --PortRange 8080/8080 --SourceGroupId sg-gw", "deprecated"},
		{"full stop from a sentence", "aliyun ecs RevokeSecurityGroup --RegionId cn-hangzhou --SecurityGroupId sg-a --SecurityGroupRuleId.1 sgr-a-block.", "not in group"},
		{"unknown API", "aliyun ecs AuthorizeSecurityGroupIngress --RegionId cn-hangzhou --SecurityGroupId sg-a", "no API"},
		{"unknown parameter", "aliyun mse AddSecurityGroupRule --region cn-hangzhou --GatewayUniqueId gw-scn --SecurityGroupId sg-a --PortRange 1/2 --Ports 1", "no parameter Ports"},
		{"missing required", "aliyun mse AddSecurityGroupRule --region cn-hangzhou --GatewayUniqueId gw-scn --PortRange 1/2", "required parameter SecurityGroupId"},
		{"wrong type", "aliyun mse DeleteSecurityGroupRule --region cn-hangzhou --GatewayUniqueId gw-scn --Id abc", "not an integer"},
		{"bad enum", "aliyun ecs AuthorizeSecurityGroup --RegionId cn-hangzhou --SecurityGroupId sg-a --Permissions.1.Policy allow", "not accept or drop"},
		{"ROA API called as RPC", "aliyun cs ModifyClusterNodePool --region cn-hangzhou --ClusterId c1", "ROA API"},
		{"ROA wrong method", "aliyun cs POST /clusters/c1/nodepools/np-b --region cn-hangzhou", "matches"},
		{"unknown group", "aliyun ecs RevokeSecurityGroup --RegionId cn-hangzhou --SecurityGroupId sg-nope --SecurityGroupRuleId.1 x", "not a security group"},
		{"unknown cluster", "aliyun cs PUT /clusters/c2/nodepools/np-b --region cn-hangzhou", "not the snapshot's"},
		{"wrong region", "aliyun vpc DescribeNetworkAcls --RegionId cn-beijing", "region cn-beijing"},
		{"command substitution", "aliyun vpc DescribeNetworkAcls --RegionId $(id)", "unquoted '$'"},
		{"unterminated quote", "aliyun vpc DescribeNetworkAcls --RegionId 'cn-hangzhou", "unterminated"},
	} {
		errs := checkCommand(c, tc.line, s)
		found := false
		for _, err := range errs {
			found = found || strings.Contains(err.Error(), tc.want)
		}
		if !found {
			t.Errorf("%s: want an error containing %q, got %v\n  %s", tc.why, tc.want, errs, tc.line)
		}
	}
}
