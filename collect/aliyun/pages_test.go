package aliyun

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// pagedECS answers DescribeSecurityGroups and DescribeSecurityGroupAttribute
// with one item a page, in three pages; with repeat, it hands back the token
// it was given instead of the next one, as a misbehaving API could.
func pagedECS(t *testing.T, repeat bool) (*Client, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		token := r.Form.Get("NextToken")
		mu.Lock()
		seen = append(seen, r.Form.Get("Action")+"@"+token)
		mu.Unlock()
		n := 0
		if token != "" {
			fmt.Sscanf(token, "p%d", &n)
		}
		next := fmt.Sprintf("p%d", n+1)
		switch {
		case repeat && token != "":
			next = token
		case n == 2:
			next = ""
		}
		w.Header().Set("Content-Type", "application/json")
		switch r.Form.Get("Action") {
		case "DescribeSecurityGroups":
			fmt.Fprintf(w, `{"RequestId":"r","NextToken":%q,"SecurityGroups":{"SecurityGroup":[{"SecurityGroupId":"sg-%d"}]}}`, next, n)
		case "DescribeSecurityGroupAttribute":
			fmt.Fprintf(w, `{"RequestId":"r","NextToken":%q,"SecurityGroupId":"sg-1","Permissions":{"Permission":[{"SecurityGroupRuleId":"sgr-%d","Direction":"ingress","Priority":"1","IpProtocol":"TCP","PortRange":"80/80","SourceCidrIp":"10.0.0.0/8"}]}}`, next, n)
		default:
			http.Error(w, "unexpected action "+r.Form.Get("Action"), 400)
		}
	}))
	t.Cleanup(srv.Close)
	c, err := New(Config{Region: "cn-hangzhou", Endpoint: srv.URL, MaxAttempts: 1,
		Credentials: Credentials{AccessKeyID: "ak", AccessKeySecret: "sk"}})
	if err != nil {
		t.Fatal(err)
	}
	return c, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

// Every page is read, each request carrying the token the previous page gave.
func TestPagesFollowNextToken(t *testing.T) {
	c, seen := pagedECS(t, false)
	groups, failed := c.DescribeSecurityGroups(context.Background(), []string{"sg-0"})
	if len(failed) > 0 {
		t.Fatalf("failures: %v", failed[0].Err)
	}
	if len(groups) != 3 || groups["sg-2"].ID != "sg-2" {
		t.Errorf("groups %v, want sg-0, sg-1, sg-2", groups)
	}
	attr, err := c.SecurityGroupRules(context.Background(), "sg-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(attr.Rules) != 3 || attr.Rules[2].ID != "sgr-2" {
		t.Errorf("rules %+v, want sgr-0, sgr-1, sgr-2", attr.Rules)
	}
	want := "DescribeSecurityGroups@ DescribeSecurityGroups@p1 DescribeSecurityGroups@p2 " +
		"DescribeSecurityGroupAttribute@ DescribeSecurityGroupAttribute@p1 DescribeSecurityGroupAttribute@p2"
	if got := strings.Join(seen(), " "); got != want {
		t.Errorf("requests:\n%s\nwant:\n%s", got, want)
	}
}

// A token the API hands back unchanged ends the reading instead of asking
// for the same page forever.
func TestPagesStopAtARepeatedToken(t *testing.T) {
	c, seen := pagedECS(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, failed := c.DescribeSecurityGroups(ctx, []string{"sg-0"}); len(failed) > 0 {
		t.Fatalf("failures: %v", failed[0].Err)
	}
	if _, err := c.SecurityGroupRules(ctx, "sg-1"); err != nil {
		t.Fatal(err)
	}
	want := "DescribeSecurityGroups@ DescribeSecurityGroups@p1 DescribeSecurityGroupAttribute@ DescribeSecurityGroupAttribute@p1"
	if got := strings.Join(seen(), " "); got != want {
		t.Errorf("requests:\n%s\nwant:\n%s", got, want)
	}
}
