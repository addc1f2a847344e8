package fix

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gwdoctor/gwdoctor/snapshot"
)

// memCloud records calls; before each call it checks the undo file exists
// and already names the step as pending — the file comes before the write.
type memCloud struct {
	t        *testing.T
	undoPath string
	calls    []string
	failAt   int // 1-based call that fails; 0 never
	plan     *Plan
}

// stepOf finds the plan step changing group for ports.
func (m *memCloud) stepOf(group, ports string) int {
	for _, a := range m.plan.Actions {
		if a.SecurityGroupID == group && a.PortRange == ports {
			return a.Step
		}
	}
	m.t.Errorf("a call no step makes: %s %s", group, ports)
	return 0
}

func (m *memCloud) check(step int) error {
	u, err := ReadUndo(m.undoPath)
	if err != nil {
		m.t.Errorf("call %d made before the undo file exists: %v", step, err)
		return nil
	}
	for _, c := range u.Calls {
		if c.ForStep == step && c.Status != StatusPending {
			m.t.Errorf("call %d: its undo entry says %s before the call", step, c.Status)
		}
	}
	m.calls = append(m.calls, "")
	if len(m.calls) == m.failAt {
		return errors.New("boom")
	}
	return nil
}

func (m *memCloud) AddSecurityGroupRule(_ context.Context, gw, group, ports, desc string) (string, error) {
	if err := m.check(m.stepOf(group, ports)); err != nil {
		return "", err
	}
	m.calls[len(m.calls)-1] = "add " + group + " " + ports
	return "77" + ports[:1], nil
}

func (m *memCloud) AuthorizeSecurityGroup(_ context.Context, group string, perms []Permission, token string) error {
	if err := m.check(m.stepOf(group, perms[0].PortRange)); err != nil {
		return err
	}
	m.calls[len(m.calls)-1] = "authorize " + group + " " + perms[0].PortRange + " " + token
	return nil
}

func TestRunWritesTheUndoFileFirstAndStopsAtTheFirstFailure(t *testing.T) {
	s := load(t, "two-causes")
	p := plan(t, s, "")
	if len(p.Actions) != 2 {
		t.Fatalf("plan: %+v", p.Actions)
	}
	undo := filepath.Join(t.TempDir(), "undo.json")
	cloud := &memCloud{t: t, undoPath: undo, failAt: 2, plan: p}
	outcomes, err := Run(context.Background(), cloud, s, p, ApplyOptions{UndoPath: undo})
	if err == nil || !strings.Contains(err.Error(), "step 2") {
		t.Fatalf("error %v, want step 2's failure", err)
	}
	if outcomes[0].Status != StatusApplied || outcomes[1].Status != StatusFailed {
		t.Fatalf("outcomes: %+v", outcomes)
	}
	u, _ := ReadUndo(undo)
	for _, c := range u.Calls {
		switch c.ForStep {
		case 1:
			if c.Status != StatusUndoable || !strings.Contains(c.Command, "DeleteSecurityGroupRule --region cn-hangzhou --GatewayUniqueId gw-scn --Id 778 --CascadingDelete true") {
				t.Errorf("step 1 undo: %+v", c)
			}
		case 2:
			if c.Status != StatusNoUndo || c.Command != "" {
				t.Errorf("step 2 undo: %+v", c)
			}
		}
	}
}

// A step whose change exists already is not made, and its undo never
// removes what gwdoctor did not add.
func TestRunSkipsWhatExists(t *testing.T) {
	s := load(t, "two-causes")
	p := plan(t, s, "")
	current, _ := clone(s)
	p.Actions[0].Effect(current, "4242") // someone made step 1 meanwhile
	undo := filepath.Join(t.TempDir(), "undo.json")
	cloud := &memCloud{t: t, undoPath: undo, plan: p}
	outcomes, err := Run(context.Background(), cloud, current, p, ApplyOptions{UndoPath: undo})
	if err != nil {
		t.Fatal(err)
	}
	if outcomes[0].Status != StatusInPlace || outcomes[1].Status != StatusApplied || len(cloud.calls) != 1 {
		t.Fatalf("outcomes %+v, calls %v", outcomes, cloud.calls)
	}
	u, _ := ReadUndo(undo)
	for _, c := range u.Calls {
		if c.ForStep == 1 && (c.Status != StatusNoUndo || c.Command != "") {
			t.Errorf("an undo for a change gwdoctor did not make: %+v", c)
		}
	}
}

func TestRunRefusesWithoutAnUndoFile(t *testing.T) {
	s := load(t, "two-causes")
	p := plan(t, s, "")
	cloud := &memCloud{t: t, plan: p}
	if _, err := Run(context.Background(), cloud, s, p, ApplyOptions{UndoPath: filepath.Join(t.TempDir(), "no", "such", "dir", "u.json")}); err == nil || len(cloud.calls) > 0 {
		t.Fatalf("err %v, calls %v: an unwritable undo file must stop everything", err, cloud.calls)
	}
}

func TestGapsBlockOnlyWhatThePlanDependsOn(t *testing.T) {
	s := load(t, "two-causes")
	p := plan(t, s, "")
	s.Missing = []snapshot.MissingPart{{Part: snapshot.PartEndpoints, IDs: []string{"x"}}, {Part: snapshot.PartRules, IDs: []string{"sg-other"}}}
	if g := Gaps(s, p); len(g) != 0 {
		t.Fatalf("unrelated gaps block: %v", g)
	}
	s.Missing = append(s.Missing, snapshot.MissingPart{Part: snapshot.PartRules, IDs: []string{p.Actions[0].SecurityGroupID}})
	if g := Gaps(s, p); len(g) != 1 {
		t.Fatalf("the changed group's rules are missing, gaps: %v", g)
	}
	s.Missing = []snapshot.MissingPart{{Part: snapshot.PartAuthorizations}}
	if g := Gaps(s, p); len(g) != 1 {
		t.Fatalf("missing authorizations, gaps: %v", g)
	}
}
