package aliyun

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	secret = "SecretValue-DoNotPrint-987654321"
	token  = "StsToken-DoNotPrint-123456789"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// metadata fakes the ECS metadata service; hardened says whether it
// requires a token.
func metadata(t *testing.T, hardened bool) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/latest/api/token" {
			if !hardened {
				http.NotFound(w, r)
				return
			}
			if r.Method != http.MethodPut || r.Header.Get("X-aliyun-ecs-metadata-token-ttl-seconds") == "" {
				http.Error(w, "bad token request", 400)
				return
			}
			fmt.Fprint(w, "mdtoken")
			return
		}
		if hardened && r.Header.Get("X-aliyun-ecs-metadata-token") != "mdtoken" {
			http.Error(w, "token required", 401)
			return
		}
		switch r.URL.Path {
		case "/latest/meta-data/ram/security-credentials/":
			fmt.Fprint(w, "gwdoctor-role")
		case "/latest/meta-data/ram/security-credentials/gwdoctor-role":
			fmt.Fprintf(w, `{"AccessKeyId":"STS.key","AccessKeySecret":%q,"SecurityToken":%q,"Expiration":"2026-11-28T16:00:00Z","Code":"Success","LastUpdated":"2026-11-28T10:00:00Z"}`, secret, token)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func TestResolveCredentials(t *testing.T) {
	profiles := writeConfig(t, fmt.Sprintf(`{"current":"prod","profiles":[
	 {"name":"prod","mode":"AK","access_key_id":"LTAIprod","access_key_secret":%q,"region_id":"cn-shanghai"},
	 {"name":"sts","mode":"StsToken","access_key_id":"STS.x","access_key_secret":%q,"sts_token":%q,"region_id":"cn-beijing"},
	 {"name":"ecs","mode":"EcsRamRole","ram_role_name":"gwdoctor-role","region_id":"cn-hangzhou"},
	 {"name":"arn","mode":"RamRoleArn","access_key_id":"a","access_key_secret":"b"}],"meta_path":""}`, secret, secret, token))
	md := metadata(t, true)
	plain := metadata(t, false)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	tests := []struct {
		name       string
		opts       CredentialOptions
		env        map[string]string
		wantKey    string
		wantToken  bool
		wantRegion string
		wantSource string
		wantErr    string
	}{
		{name: "environment", env: map[string]string{EnvAccessKeyID: "LTAIenv", EnvAccessKeySecret: secret},
			opts: CredentialOptions{ConfigPath: profiles}, wantKey: "LTAIenv", wantSource: "environment"},
		{name: "environment with token", env: map[string]string{EnvAccessKeyID: "STS.env", EnvAccessKeySecret: secret, EnvSecurityToken: token},
			wantKey: "STS.env", wantToken: true},
		{name: "half environment", env: map[string]string{EnvAccessKeyID: "LTAIenv"}, wantErr: "must both be set"},
		{name: "current profile", opts: CredentialOptions{ConfigPath: profiles}, wantKey: "LTAIprod", wantRegion: "cn-shanghai", wantSource: "profile prod (AK)"},
		{name: "profile from env", env: map[string]string{EnvProfile: "sts"}, opts: CredentialOptions{ConfigPath: profiles}, wantKey: "STS.x", wantToken: true, wantRegion: "cn-beijing"},
		{name: "explicit profile beats environment", env: map[string]string{EnvAccessKeyID: "LTAIenv", EnvAccessKeySecret: secret},
			opts: CredentialOptions{ConfigPath: profiles, Profile: "sts"}, wantKey: "STS.x", wantToken: true},
		{name: "EcsRamRole profile, hardened metadata", opts: CredentialOptions{ConfigPath: profiles, Profile: "ecs", MetadataURL: md.URL},
			wantKey: "STS.key", wantToken: true, wantRegion: "cn-hangzhou", wantSource: "ECS RAM role gwdoctor-role"},
		{name: "instance role, normal metadata", opts: CredentialOptions{ConfigPath: "/nonexistent/config.json", MetadataURL: plain.URL},
			wantKey: "STS.key", wantToken: true},
		{name: "unsupported mode", opts: CredentialOptions{ConfigPath: profiles, Profile: "arn"}, wantErr: "mode RamRoleArn"},
		{name: "unknown profile", opts: CredentialOptions{ConfigPath: profiles, Profile: "nope"}, wantErr: `profile "nope" not found`},
		{name: "nothing anywhere", opts: CredentialOptions{ConfigPath: "/nonexistent/config.json", MetadataURL: closed.URL}, wantErr: "no Alibaba Cloud credentials found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.opts
			o.Getenv = env(tt.env)
			c, err := ResolveCredentials(context.Background(), o)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), secret) {
					t.Fatal("secret in error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.AccessKeyID != tt.wantKey || c.AccessKeySecret != secret || (c.SecurityToken == token) != tt.wantToken {
				t.Errorf("got key %s token %v", c.AccessKeyID, c.SecurityToken != "")
			}
			if tt.wantRegion != "" && c.Region != tt.wantRegion {
				t.Errorf("region = %q, want %q", c.Region, tt.wantRegion)
			}
			if !strings.Contains(c.Source, tt.wantSource) {
				t.Errorf("source = %q, want %q", c.Source, tt.wantSource)
			}
			for _, s := range []string{c.String(), fmt.Sprintf("%v %+v %#v %s", c, c, c, c)} {
				if strings.Contains(s, secret) || strings.Contains(s, token) {
					t.Fatalf("formatting credentials prints a secret: %s", s)
				}
			}
		})
	}
}

func TestMalformedConfigDoesNotEchoSecrets(t *testing.T) {
	p := writeConfig(t, `{"profiles":[{"name":"default","access_key_secret":"`+secret+`"`)
	_, err := ResolveCredentials(context.Background(), CredentialOptions{ConfigPath: p, Profile: "default", Getenv: env(nil)})
	if err == nil || strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), p) {
		t.Fatalf("err = %v", err)
	}
}
