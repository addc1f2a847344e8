package kube

import "testing"

func TestParseProviderID(t *testing.T) {
	for in, want := range map[string][2]string{
		"cn-hangzhou.i-abc":             {"cn-hangzhou", "i-abc"},
		"alicloud://cn-hangzhou.i-abc":  {"cn-hangzhou", "i-abc"},
		"alicloud://ap-southeast-1.i-x": {"ap-southeast-1", "i-x"},
		"i-bare":                        {"", "i-bare"},
		"":                              {"", ""},
	} {
		r, id := ParseProviderID(in)
		if r != want[0] || id != want[1] {
			t.Errorf("ParseProviderID(%q) = %q, %q; want %q", in, r, id, want)
		}
	}
}

func TestRESTConfigErrors(t *testing.T) {
	t.Setenv("KUBECONFIG", "")
	t.Setenv("HOME", t.TempDir())
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	if _, err := RESTConfig("", ""); err == nil {
		t.Error("no kubeconfig and not in a cluster: no error")
	}
	if _, err := RESTConfig("/nonexistent/kubeconfig", ""); err == nil {
		t.Error("missing file accepted")
	}
}
