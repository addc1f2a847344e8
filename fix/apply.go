package fix

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gwdoctor/gwdoctor/snapshot"
)

// Permission is one rule of ECS AuthorizeSecurityGroup / RevokeSecurityGroup
// (the Permissions.N.* fields).
type Permission struct {
	IpProtocol, PortRange, SourceGroupID, SourceCidrIP, Policy, Priority, Description string
}

// Cloud makes the calls a plan needs: the SDK client in gwdoctor, the fake
// cloud in tests. Both calls only add.
type Cloud interface {
	// AddSecurityGroupRule authorizes group for ports on the gateway and
	// returns the new authorization's id.
	AddSecurityGroupRule(ctx context.Context, gatewayID, group, ports, description string) (string, error)
	// AuthorizeSecurityGroup adds inbound rules to group; clientToken makes
	// a retry of the same call a no-op.
	AuthorizeSecurityGroup(ctx context.Context, group string, perms []Permission, clientToken string) error
}

// Gaps lists the parts missing from s that the plan depends on: the
// gateway and its authorizations (an authorization the plan cannot see
// could be duplicated), and the rules of the groups it changes. Other gaps
// (an unresolved DNS service, a group elsewhere) leave the plan sound.
func Gaps(s *snapshot.Snapshot, p *Plan) []string {
	changed := map[string]bool{}
	for _, a := range p.Actions {
		changed[a.SecurityGroupID] = true
	}
	var out []string
	for _, m := range s.Missing {
		switch m.Part {
		case snapshot.PartGateway, snapshot.PartAuthorizations:
		case snapshot.PartSecurityGroups, snapshot.PartRules:
			hit := len(m.IDs) == 0
			for _, id := range m.IDs {
				hit = hit || changed[id]
			}
			if !hit {
				continue
			}
		default:
			continue
		}
		out = append(out, fmt.Sprintf("%s %s: %s", m.Part, strings.Join(m.IDs, ","), m.Error))
	}
	return out
}

// Statuses of a step, in the outcome and the undo file.
const (
	StatusApplied  = "applied"
	StatusInPlace  = "already-in-place" // nothing to do: the change exists
	StatusFailed   = "failed"
	StatusNotRun   = "not-run" // after a failure
	StatusPending  = "pending" // undo file: the step has not run (yet)
	StatusUndoable = "ready"   // undo file: the step ran; this call undoes it
	StatusNoUndo   = "not-needed"
)

// Outcome is what happened to one step.
type Outcome struct {
	Step   int    `json:"step"`
	Status string `json:"status"`
	// AuthorizationID is the id MSE gave a new authorization.
	AuthorizationID string `json:"authorizationId,omitempty"`
	Error           string `json:"error,omitempty"`
}

// UndoFile is written before the first write and rewritten after every
// step: it always says what the account holds that gwdoctor added, and how
// to remove exactly that.
type UndoFile struct {
	SchemaVersion int        `json:"schemaVersion"`
	Gateway       string     `json:"gateway"`
	Region        string     `json:"region"`
	CreatedAt     string     `json:"createdAt"`
	Note          string     `json:"note"`
	Calls         []UndoCall `json:"calls"`
}

// UndoCall undoes one step.
type UndoCall struct {
	ForStep int    `json:"forStep"`
	Status  string `json:"status"`
	// Changes is what the step changes (or would).
	Changes string  `json:"changes"`
	Product string  `json:"product"`
	API     string  `json:"api"`
	Params  []Param `json:"params,omitempty"`
	// Command is the aliyun CLI line; empty while a value it needs (the new
	// authorization's id) is not known.
	Command string `json:"command,omitempty"`
	Note    string `json:"note,omitempty"`
}

// ApplyOptions configure Run.
type ApplyOptions struct {
	// UndoPath is where the undo file goes; required.
	UndoPath string
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
	// Progress, when set, is told about every step as it starts and ends.
	Progress func(string)
}

// Run applies the plan's actions one by one through cloud, against the
// state current (collected just before: an action whose change exists is
// not made again). The undo file is written before the first write and
// after every step. Run stops at the first failure; the outcomes say what
// ran, and the error which step failed.
func Run(ctx context.Context, cloud Cloud, current *snapshot.Snapshot, p *Plan, opts ApplyOptions) ([]Outcome, error) {
	if opts.UndoPath == "" {
		return nil, errors.New("fix: no undo file")
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	progress := opts.Progress
	if progress == nil {
		progress = func(string) {}
	}
	undo := &UndoFile{SchemaVersion: SchemaVersion, Gateway: p.Gateway, Region: p.Region, CreatedAt: now().UTC().Format(time.RFC3339),
		Note: "Run the calls whose status is \"ready\", in this order, to remove what gwdoctor fix added (and nothing else). " +
			"A \"pending\" step had not run when this file was written; if gwdoctor stopped during it, check whether its change exists."}
	outcomes := make([]Outcome, len(p.Actions))
	for _, a := range slices.Backward(p.Actions) {
		undo.Calls = append(undo.Calls, pendingUndo(a))
	}
	for i, a := range p.Actions {
		outcomes[i] = Outcome{Step: a.Step, Status: StatusNotRun}
	}
	if err := writeUndo(opts.UndoPath, undo); err != nil {
		return outcomes, fmt.Errorf("fix: writing the undo file before any change: %w (nothing was changed)", err)
	}
	undoFor := func(step int) *UndoCall {
		for i := range undo.Calls {
			if undo.Calls[i].ForStep == step {
				return &undo.Calls[i]
			}
		}
		return nil
	}
	for i, a := range p.Actions {
		if err := ctx.Err(); err != nil {
			return outcomes, fmt.Errorf("fix: interrupted before step %d (%w); steps before it are recorded in %s", a.Step, err, opts.UndoPath)
		}
		u := undoFor(a.Step)
		if inPlace(current, a) {
			outcomes[i].Status = StatusInPlace
			u.Status, u.Params, u.Command, u.Note = StatusNoUndo, nil, "", "the change already existed; gwdoctor did not make it and will not remove it"
			progress(fmt.Sprintf("step %d: already in place: %s", a.Step, a.Changes))
			if err := writeUndo(opts.UndoPath, undo); err != nil {
				return outcomes, fmt.Errorf("fix: updating the undo file: %w", err)
			}
			continue
		}
		progress(fmt.Sprintf("step %d: %s %s: %s", a.Step, a.Product, a.API, a.Changes))
		id, err := call(ctx, cloud, a)
		if err != nil {
			outcomes[i].Status, outcomes[i].Error = StatusFailed, err.Error()
			u.Status, u.Note = StatusNoUndo, "the call failed: "+err.Error()
			if werr := writeUndo(opts.UndoPath, undo); werr != nil {
				err = errors.Join(err, fmt.Errorf("updating the undo file: %w", werr))
			}
			return outcomes, fmt.Errorf("fix: step %d (%s %s) failed: %w; stopped, later steps not run", a.Step, a.Product, a.API, err)
		}
		outcomes[i].Status, outcomes[i].AuthorizationID = StatusApplied, id
		*u = readyUndo(a, id, p.Region)
		a.Effect(current, id) // a later step sees what this one made
		if err := writeUndo(opts.UndoPath, undo); err != nil {
			return outcomes, fmt.Errorf("fix: step %d applied, but the undo file could not be updated: %w", a.Step, err)
		}
	}
	return outcomes, nil
}

func call(ctx context.Context, cloud Cloud, a *Action) (string, error) {
	switch a.Kind {
	case KindAuthorize:
		return cloud.AddSecurityGroupRule(ctx, a.Param("GatewayUniqueId"), a.SecurityGroupID, a.PortRange, a.Description)
	case KindGroupRule, KindCIDRRule:
		return "", cloud.AuthorizeSecurityGroup(ctx, a.SecurityGroupID, a.Permissions(), a.Param("ClientToken"))
	}
	return "", fmt.Errorf("unknown action kind %q", a.Kind)
}

// Permissions are the rules an ECS action adds.
func (a *Action) Permissions() []Permission {
	var out []Permission
	for _, src := range a.sources() {
		p := Permission{IpProtocol: snapshot.ProtocolTCP, PortRange: a.PortRange, Policy: snapshot.PolicyAccept, Priority: "1", Description: a.Description}
		if a.Kind == KindCIDRRule {
			p.SourceCidrIP = src
		} else {
			p.SourceGroupID = src
		}
		out = append(out, p)
	}
	return out
}

// inPlace reports whether the change of a exists in s already: the same
// authorization, or inbound accepts with the same source and exact ports.
func inPlace(s *snapshot.Snapshot, a *Action) bool {
	if a.Kind == KindAuthorize {
		return slices.ContainsFunc(s.Gateway.Authorizations, func(au snapshot.Authorization) bool {
			return au.SecurityGroupID == a.SecurityGroupID && au.PortRange == a.PortRange &&
				(au.Protocol == "" || strings.EqualFold(au.Protocol, snapshot.ProtocolTCP))
		})
	}
	i := slices.IndexFunc(s.SecurityGroups, func(g snapshot.SecurityGroup) bool { return g.ID == a.SecurityGroupID })
	if i < 0 {
		return false
	}
	for _, src := range a.sources() {
		if !slices.ContainsFunc(s.SecurityGroups[i].Rules, func(r snapshot.Rule) bool {
			return r.Direction == snapshot.DirectionIngress && r.Policy == snapshot.PolicyAccept && r.PortRange == a.PortRange &&
				strings.EqualFold(r.Protocol, snapshot.ProtocolTCP) && (r.SourceGroupID == src || r.SourceCidr == src)
		}) {
			return false
		}
	}
	return true
}

func pendingUndo(a *Action) UndoCall {
	u := UndoCall{ForStep: a.Step, Status: StatusPending, Changes: a.Changes}
	switch a.Kind {
	case KindAuthorize:
		u.Product, u.API = "mse", "DeleteSecurityGroupRule"
		u.Note = fmt.Sprintf("the authorization's id is known once step %d has run; if it ran, find the authorization of %s for %s described %q (MSE console, Security Group Authorization)",
			a.Step, a.SecurityGroupID, a.PortRange, a.Description)
	default:
		r := readyUndo(a, "", a.Region)
		u.Product, u.API, u.Params, u.Note = r.Product, r.API, r.Params, "run only if step "+fmt.Sprint(a.Step)+" ran: it revokes exactly the rules the step adds"
	}
	return u
}

// readyUndo is the call that removes exactly what a added.
func readyUndo(a *Action, authID, region string) UndoCall {
	u := UndoCall{ForStep: a.Step, Status: StatusUndoable, Changes: a.Changes}
	switch a.Kind {
	case KindAuthorize:
		u.Product, u.API = "mse", "DeleteSecurityGroupRule"
		// Cascade: the inbound rule MSE wrote goes with the authorization.
		u.Params = []Param{{"GatewayUniqueId", a.Param("GatewayUniqueId")}, {"Id", authID}, {"CascadingDelete", "true"}}
	default:
		u.Product, u.API = "ecs", "RevokeSecurityGroup"
		u.Params = []Param{{"RegionId", region}, {"SecurityGroupId", a.SecurityGroupID}}
		for i, p := range a.Permissions() {
			n := fmt.Sprintf("Permissions.%d.", i+1)
			src := Param{n + "SourceGroupId", p.SourceGroupID}
			if p.SourceCidrIP != "" {
				src = Param{n + "SourceCidrIp", p.SourceCidrIP}
			}
			u.Params = append(u.Params, Param{n + "IpProtocol", p.IpProtocol}, Param{n + "PortRange", p.PortRange}, src,
				Param{n + "Policy", p.Policy}, Param{n + "Priority", p.Priority})
		}
	}
	ua := &Action{Product: u.Product, API: u.API, Params: u.Params, Region: region}
	u.Command = ua.cli()
	return u
}

// writeUndo replaces the undo file atomically: a crash leaves the old or
// the new version, never half of one.
func writeUndo(path string, u *UndoFile) error {
	data, err := json.MarshalIndent(u, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".gwdoctor-undo-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// ReadUndo loads an undo file.
func ReadUndo(path string) (*UndoFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var u UndoFile
	if err := json.Unmarshal(data, &u); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return &u, nil
}
