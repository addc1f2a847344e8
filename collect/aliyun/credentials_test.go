package aliyun

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gwdoctor/gwdoctor/internal/fakecloud"
)

const (
	secret    = "SecretValue-DoNotPrint-987654321"
	token     = "StsToken-DoNotPrint-123456789"
	oidcToken = "eyJhbGciOiJSUzI1NiJ9.OidcToken-DoNotPrint.sig"
)

// newCloudFake starts the loopback stand-ins for STS, the instance metadata
// service and a credentials URI, handing out this test's secrets.
func newCloudFake(t *testing.T) *fakecloud.Credentials {
	f := fakecloud.NewCredentials()
	f.OIDCToken, f.SecretPrefix, f.TokenPrefix = oidcToken, secret, token
	t.Cleanup(func() {
		f.Close()
		if u := f.Unexpected(); len(u) > 0 {
			t.Errorf("credential requests went to %v, not to a fake", u)
		}
	})
	return f
}

// isolate gives the test an empty environment and home, and sends every
// HTTP request credentials-go makes (it clones http.DefaultTransport)
// through the fake, trusting only the fake's certificate; without a fake,
// the instance metadata service is off.
func isolate(t *testing.T, f *fakecloud.Credentials) {
	t.Helper()
	for _, k := range []string{EnvAccessKeyID, EnvAccessKeySecret, EnvSecurityToken, EnvProfile, EnvRegion, EnvECSMetadata,
		EnvECSMetadataDisabled, EnvRoleARN, EnvOIDCProviderARN, EnvOIDCTokenFile, EnvCredentialsURI, EnvCLIConfigFile,
		EnvCredentialsFile, "ALIBABA_CLOUD_OIDC_TOKEN", "ALIBABA_CLOUD_STS_REGION", "ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED",
		"ALIBABA_CLOUD_CLI_PROFILE_DISABLED", "ALIBABA_CLOUD_IMDSV1_DISABLED", "DEBUG"} {
		t.Setenv(k, "")
	}
	t.Setenv("HOME", t.TempDir())
	if f == nil {
		t.Setenv(EnvECSMetadataDisabled, "true")
		return
	}
	old := http.DefaultTransport
	http.DefaultTransport = f.Transport()
	t.Cleanup(func() { http.DefaultTransport = old })
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// noSecrets fails when any formatting of c, or text, holds a secret.
func noSecrets(t *testing.T, text string, c Credentials) {
	t.Helper()
	all := text + c.String() + fmt.Sprintf("%v %+v %#v %s %q", c, c, c, c, c)
	for _, s := range []string{secret, token, oidcToken, "uri-secret-DoNotPrint"} {
		if strings.Contains(all, s) {
			t.Fatalf("a secret (%.10s…) was printed: %s", s, all)
		}
	}
}

func TestResolveCredentials(t *testing.T) {
	f := newCloudFake(t)
	profiles := func(t *testing.T) string {
		return writeConfig(t, fmt.Sprintf(`{"current":"prod","profiles":[
	 {"name":"prod","mode":"AK","access_key_id":"LTAIprod","access_key_secret":%q,"region_id":"cn-shanghai"},
	 {"name":"sts","mode":"StsToken","access_key_id":"STS.x","access_key_secret":%q,"sts_token":%q,"region_id":"cn-beijing"},
	 {"name":"ecs","mode":"EcsRamRole","ram_role_name":"gwdoctor-role","region_id":"cn-hangzhou"},
	 {"name":"ext","mode":"External","process_command":"echo"},
	 {"name":"chain","mode":"ChainableRamRoleArn","source_profile":"ext","ram_role_arn":"acs:ram::1:role/x"}],"meta_path":""}`, secret, secret, token))
	}
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(oidcToken), 0o600); err != nil {
		t.Fatal(err)
	}
	rrsa := map[string]string{EnvRoleARN: "acs:ram::1:role/gwdoctor", EnvOIDCProviderARN: "acs:ram::1:oidc-provider/ack", EnvOIDCTokenFile: tokenFile}

	tests := []struct {
		name       string
		env        map[string]string
		profile    string
		config     bool // write the CLI config and name it
		noMetadata bool
		wantKey    string // prefix
		wantTemp   bool   // temporary credentials, renewed
		wantRegion string
		wantSource string
		wantErr    []string
	}{
		{name: "environment", env: map[string]string{EnvAccessKeyID: "LTAIenv", EnvAccessKeySecret: secret}, config: true,
			wantKey: "LTAIenv", wantSource: "environment"},
		{name: "environment with token", env: map[string]string{EnvAccessKeyID: "STS.env", EnvAccessKeySecret: secret, EnvSecurityToken: token},
			wantKey: "STS.env", wantSource: "environment"},
		{name: "half environment", env: map[string]string{EnvAccessKeyID: "LTAIenv"}, wantErr: []string{"must both be set"}},
		{name: "RRSA before the CLI profile", env: rrsa, config: true, wantKey: "STS.key", wantTemp: true, wantSource: "OIDC role acs:ram::1:role/gwdoctor"},
		{name: "current profile", config: true, wantKey: "LTAIprod", wantRegion: "cn-shanghai", wantSource: "profile prod (AK)"},
		{name: "profile from env", env: map[string]string{EnvProfile: "sts"}, config: true, wantKey: "STS.x", wantRegion: "cn-beijing", wantSource: "profile sts (StsToken)"},
		{name: "explicit profile beats environment", env: map[string]string{EnvAccessKeyID: "LTAIenv", EnvAccessKeySecret: secret},
			profile: "sts", config: true, wantKey: "STS.x"},
		{name: "EcsRamRole profile", profile: "ecs", config: true, wantKey: "STS.key", wantTemp: true, wantRegion: "cn-hangzhou", wantSource: "ECS RAM role gwdoctor-role"},
		{name: "instance role", wantKey: "STS.key", wantTemp: true, wantSource: "ECS instance RAM role"},
		{name: "credentials URI", noMetadata: true, env: map[string]string{EnvCredentialsURI: f.URI()},
			wantKey: "STS.key", wantTemp: true, wantSource: "credentials URI"},
		{name: "External profile refused", profile: "ext", config: true, wantErr: []string{"mode External", "standard output"}},
		{name: "External behind a chained role refused", profile: "chain", config: true, wantErr: []string{`"ext"`, "mode External"}},
		{name: "unknown profile", profile: "nope", config: true, wantErr: []string{`profile "nope" not found`}},
		{name: "half RRSA is named", noMetadata: true, env: map[string]string{EnvRoleARN: "acs:ram::1:role/gwdoctor"},
			wantErr: []string{"OIDC role (RRSA) (incomplete", "no Alibaba Cloud credentials found"}},
		{name: "nothing anywhere names every source", noMetadata: true,
			env:     map[string]string{EnvCredentialsURI: strings.Replace(f.URI(), "uri-secret", "wrong", 1)},
			wantErr: []string{"environment (", "OIDC role (RRSA) (", "aliyun CLI profile (", "credentials file (", "ECS instance RAM role (disabled", "credentials URI (", "?[redacted]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t, f)
			if tt.noMetadata {
				t.Setenv(EnvECSMetadataDisabled, "true")
			}
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			o := CredentialOptions{Profile: tt.profile}
			if tt.config {
				o.ConfigPath = profiles(t)
			}
			c, err := ResolveCredentials(context.Background(), o)
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("no error, got %v", c)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error does not say %q:\n%v", w, err)
					}
				}
				noSecrets(t, err.Error(), c)
				if strings.Contains(err.Error(), "wrong-DoNotPrint") {
					t.Errorf("the URI's query was printed: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(c.AccessKeyID, tt.wantKey) || !strings.HasPrefix(c.AccessKeySecret, secret) || c.Refreshes() != tt.wantTemp {
				t.Errorf("got key %s, refreshes %v", c.AccessKeyID, c.Refreshes())
			}
			if tt.wantTemp && !strings.HasPrefix(c.SecurityToken, token) {
				t.Errorf("temporary credentials without their token")
			}
			if tt.wantRegion != "" && c.Region != tt.wantRegion {
				t.Errorf("region = %q, want %q", c.Region, tt.wantRegion)
			}
			if !strings.Contains(c.Source, tt.wantSource) {
				t.Errorf("source = %q, want %q", c.Source, tt.wantSource)
			}
			noSecrets(t, "", c)
		})
	}
}

// Temporary credentials are renewed: every call is signed with what the
// source hands out now (the fake's credentials expire inside credentials-go's
// renewal window, so each call renews), and the renewed secrets are
// scrubbed from errors like the first ones.
func TestTemporaryCredentialsAreRenewed(t *testing.T) {
	f := newCloudFake(t)
	isolate(t, f)
	c, err := ResolveCredentials(context.Background(), CredentialOptions{})
	if err != nil || !c.Refreshes() {
		t.Fatalf("instance role: %v, refreshes %v", err, c.Refreshes())
	}
	cloud, _ := fakecloud.Shop()
	api := fakecloud.NewAliyun(cloud)
	t.Cleanup(api.Close)
	client, err := New(Config{Region: "cn-hangzhou", Endpoint: api.URL, Credentials: c, Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := client.GetGateway(context.Background(), cloud.GatewayID); err != nil {
			t.Fatal(err)
		}
	}
	var tokens []string
	for _, q := range api.RawQueries() { // one entry a request (query, then form)
		for _, kv := range strings.Split(q, "&") {
			if v, ok := strings.CutPrefix(kv, "SecurityToken="); ok {
				tokens = append(tokens, v)
				break
			}
		}
	}
	want := []string{token + "-1", token + "-2", token + "-3"}
	if strings.Join(tokens, ",") != strings.Join(want, ",") {
		t.Errorf("calls signed with tokens %v, want %v (renewed each call)", tokens, want)
	}
	renewed := fmt.Sprintf("%s-3 %s-3", secret, token)
	if got := client.scrub(renewed); strings.Contains(got, secret) || strings.Contains(got, token) {
		t.Errorf("renewed secrets are not scrubbed: %s", got)
	}
}

func TestMalformedConfigDoesNotEchoSecrets(t *testing.T) {
	isolate(t, nil)
	p := writeConfig(t, `{"profiles":[{"name":"default","access_key_secret":"`+secret+`"`)
	_, err := ResolveCredentials(context.Background(), CredentialOptions{ConfigPath: p, Profile: "default"})
	if err == nil || strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), p) {
		t.Fatalf("err = %v", err)
	}
}

// credentials-go quotes response bodies in its errors; an incomplete answer
// can hold a secret, which gwdoctor removes before printing.
func TestCredentialErrorsAreScrubbed(t *testing.T) {
	for _, in := range []string{
		`refresh credentials from http://127.0.0.1:1/c?auth=` + token + ` failed: {"AccessKeyId":"STS.k","AccessKeySecret":"` + secret + `"}`,
		`get session token failed: {"Credentials":{"SecurityToken": "` + token + `", "accessKeySecret":"a\"` + secret + `"}}`,
	} {
		out := scrubCredentialError(in)
		if strings.Contains(out, secret) || strings.Contains(out, token) || !strings.Contains(out, "[redacted]") {
			t.Errorf("scrub(%q) = %q", in, out)
		}
	}
}

func TestDebugThatPrintsSecretsIsRefused(t *testing.T) {
	isolate(t, nil)
	for _, v := range []string{"sdk", "tea,credential"} {
		t.Setenv("DEBUG", v)
		if _, err := ResolveCredentials(context.Background(), CredentialOptions{}); err == nil || !strings.Contains(err.Error(), "DEBUG=") {
			t.Errorf("DEBUG=%s: err = %v", v, err)
		}
	}
}
