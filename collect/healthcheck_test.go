package collect

import (
	"context"
	"reflect"
	"testing"

	"github.com/gwdoctor/gwdoctor/collect/aliyun"
	"github.com/gwdoctor/gwdoctor/internal/fakecloud"
	"github.com/gwdoctor/gwdoctor/snapshot"
)

// The gateway's own health check survives collection: on, off and not
// stated stay distinct, and the time it was read is recorded.
func TestLiveRecordsGatewayHealthCheck(t *testing.T) {
	c, k := fakecloud.Shop()
	e := newEnv(t, c, k)
	s, err := Live(context.Background(), e.opts)
	if s == nil {
		t.Fatalf("Live: %v", err)
	}
	byKey := map[string]*snapshot.Service{}
	for i := range s.Services {
		byKey[s.Services[i].Key()] = &s.Services[i]
	}
	orders := byKey["shop/orders"].HealthCheck
	if !orders.IsEnabled() || orders.Status != snapshot.HealthUnhealthy ||
		!reflect.DeepEqual(orders.UnhealthyEndpoints, []string{"172.20.1.10:8080"}) || orders.At != "2026-11-28T10:00:00Z" {
		t.Errorf("orders: %+v", orders)
	}
	if p := byKey["shop/payments"].HealthCheck; p == nil || p.Enabled == nil || *p.Enabled {
		t.Errorf("payments: health check off was not recorded as off: %+v", p)
	}
	if l := byKey["shop/legacy"].HealthCheck; l != nil {
		t.Errorf("legacy: MSE said nothing, got %+v", l)
	}
	if b := byKey["billing"].HealthCheck; !b.IsEnabled() || b.Status != snapshot.HealthHealthy {
		t.Errorf("billing: %+v", b)
	}
}

func TestGatewayHealthCheckNormalises(t *testing.T) {
	on := true
	for _, tc := range []struct {
		name string
		in   aliyun.GatewayService
		want *snapshot.HealthCheck
	}{
		{"nothing said", aliyun.GatewayService{}, nil},
		{"status without the flag", aliyun.GatewayService{HealthStatus: "Healthy"},
			&snapshot.HealthCheck{Status: snapshot.HealthHealthy, At: "T"}},
		{"ipv6 and spaces", aliyun.GatewayService{HealthCheck: &on, HealthStatus: "UNHEALTHY", Unhealthy: []string{" 10.0.0.1:80", "[FD00::1]:8080"}},
			&snapshot.HealthCheck{Enabled: &on, Status: snapshot.HealthUnhealthy, UnhealthyEndpoints: []string{"10.0.0.1:80", "[fd00::1]:8080"}, At: "T"}},
		// A failing endpoint gwdoctor cannot match makes every unlisted
		// endpoint's state unknown, never "passing".
		{"dns name fails", aliyun.GatewayService{HealthCheck: &on, HealthStatus: "Unhealthy", Unhealthy: []string{"api.example:443", "10.0.0.2:80"}},
			&snapshot.HealthCheck{Enabled: &on, Status: snapshot.HealthUnknown, UnhealthyEndpoints: []string{"10.0.0.2:80"}, At: "T"}},
		{"odd status", aliyun.GatewayService{HealthCheck: &on, HealthStatus: "Degraded"},
			&snapshot.HealthCheck{Enabled: &on, Status: snapshot.HealthUnknown, At: "T"}},
	} {
		if got := gatewayHealthCheck(tc.in, "T"); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
