package snapshot

import (
	"reflect"
	"testing"
)

func TestHealthCheckLoad(t *testing.T) {
	const svc = "services:\n  - name: orders\n    endpoints:\n      - {ip: 10.0.0.1, port: 8080}\n    healthCheck:\n"
	runLoadCases(t, []loadCase{
		{name: "normalised", yaml: svc + "      enabled: true\n      status: Unhealthy\n      unhealthyEndpoints: [\"10.0.0.1:8080\", \"[FD00:0::1]:443\"]\n      at: \"2026-11-28T10:00:02Z\"\n",
			check: func(t *testing.T, s *Snapshot) {
				h := s.Services[0].HealthCheck
				if !h.IsEnabled() || h.Status != HealthUnhealthy || !reflect.DeepEqual(h.UnhealthyEndpoints, []string{"10.0.0.1:8080", "[fd00::1]:443"}) {
					t.Errorf("got %+v", h)
				}
			}},
		{name: "off", yaml: svc + "      enabled: false\n", check: func(t *testing.T, s *Snapshot) {
			h := s.Services[0].HealthCheck
			if h == nil || h.Enabled == nil || h.IsEnabled() {
				t.Errorf("got %+v", h)
			}
		}},
		{name: "not stated", yaml: svc + "      status: healthy\n", check: func(t *testing.T, s *Snapshot) {
			if h := s.Services[0].HealthCheck; h.Enabled != nil || h.IsEnabled() {
				t.Errorf("got %+v", h)
			}
		}},
		{name: "bad values", yaml: svc +
			"      enabled: \"yes\" #<\n" +
			"      status: sick #<\n" +
			"      unhealthyEndpoints: [10.0.0.1, \"10.0.0.1:0\", \"fe80::1%eth0:80\"] #<<<\n" +
			"      at: yesterday #<\n",
			want: []string{
				`services[0].healthCheck.enabled: expected true or false, got the string "yes"`,
				`services[0].healthCheck.status: unknown status "sick"; expected one of: healthy, unhealthy, unknown`,
				`services[0].healthCheck.unhealthyEndpoints[0]: "10.0.0.1" is not IP:PORT; expected e.g. 172.20.1.10:8080 or [fd00::1]:8080`,
				`services[0].healthCheck.unhealthyEndpoints[1]: "10.0.0.1:0" has port 0; expected a port in 1..65535`,
				`services[0].healthCheck.unhealthyEndpoints[2]: "fe80::1%eth0:80" is not IP:PORT; expected e.g. 172.20.1.10:8080 or [fd00::1]:8080`,
				`services[0].healthCheck.at: "yesterday" is not an RFC 3339 time; expected e.g. "2026-11-28T10:00:00Z"`,
			}},
		{name: "unknown key", yaml: svc + "      healthy: true #<\n",
			want: []string{`services[0].healthCheck.healthy: unknown key "healthy"; expected one of: enabled, status, unhealthyEndpoints, at`}},
	})
}
