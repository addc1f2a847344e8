package aliyun

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzProfileFile: any config file yields credentials or an error, never a
// panic, and an error never quotes a secret from the file.
//
//	go test ./collect/aliyun -run '^$' -fuzz FuzzProfileFile -fuzztime 30s
func FuzzProfileFile(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/fuzz-seed-*.json")
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b), "")
	}
	f.Add(`{"current":"x","profiles":[{"name":"x","mode":"StsToken","access_key_id":"a"}]}`, "x")
	f.Add(`{"profiles":null}`, "")
	f.Add(`[]`, "default")
	dir := f.TempDir()
	// Role and SSO modes call out: every request goes to a closed loopback
	// port; the instance metadata service is off.
	f.Setenv(EnvECSMetadataDisabled, "true")
	f.Setenv("HOME", dir)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	dead, _ := url.Parse(closed.URL)
	old := http.DefaultTransport
	http.DefaultTransport = &http.Transport{Proxy: http.ProxyURL(dead)}
	f.Cleanup(func() { http.DefaultTransport = old })
	f.Fuzz(func(t *testing.T, body, profile string) {
		p := filepath.Join(dir, "config.json")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := fromCLIProfile(context.Background(), CredentialOptions{ConfigPath: p}, profile)
		if err != nil {
			const secret = "fuzz-secret-value-123"
			if strings.Contains(body, secret) && strings.Contains(err.Error(), secret) {
				t.Fatalf("error quotes the secret: %v", err)
			}
			return
		}
		if c.AccessKeyID == "" || c.AccessKeySecret == "" {
			t.Fatalf("credentials without key: %+v", c)
		}
	})
}
