package aliyun

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Credentials are what the API calls are signed with. They are never printed:
// String and GoString show only the source and a masked key id.
type Credentials struct {
	AccessKeyID     string
	AccessKeySecret string
	SecurityToken   string
	// Source says where the credentials came from ("environment",
	// "profile default (AK) in ~/.aliyun/config.json", "ECS RAM role r").
	Source string
	// Region is the profile's default region, if any.
	Region string
}

func (c Credentials) String() string {
	return fmt.Sprintf("credentials from %s (key %s)", c.Source, maskID(c.AccessKeyID))
}

// GoString keeps %#v from printing the secret.
func (c Credentials) GoString() string { return c.String() }

// secrets lists the values that must never appear in any output.
func (c Credentials) secrets() []string {
	var s []string
	for _, v := range []string{c.AccessKeySecret, c.SecurityToken} {
		if len(v) >= 4 {
			s = append(s, v)
		}
	}
	return s
}

func maskID(id string) string {
	if len(id) <= 4 {
		return "****"
	}
	return id[:4] + "****"
}

// Environment variables read for credentials and region, as the aliyun CLI
// and the SDKs name them.
const (
	EnvAccessKeyID     = "ALIBABA_CLOUD_ACCESS_KEY_ID"
	EnvAccessKeySecret = "ALIBABA_CLOUD_ACCESS_KEY_SECRET"
	EnvSecurityToken   = "ALIBABA_CLOUD_SECURITY_TOKEN"
	EnvProfile         = "ALIBABA_CLOUD_PROFILE"
	EnvRegion          = "ALIBABA_CLOUD_REGION_ID"
	EnvECSMetadata     = "ALIBABA_CLOUD_ECS_METADATA"
	// EnvECSMetadataDisabled=true skips the instance RAM role, as in the SDKs.
	EnvECSMetadataDisabled = "ALIBABA_CLOUD_ECS_METADATA_DISABLED"
)

// DefaultMetadataURL is the ECS instance metadata service.
const DefaultMetadataURL = "http://100.100.100.200"

// CredentialOptions says where to look for credentials.
type CredentialOptions struct {
	// Profile names an aliyun CLI profile; empty means $ALIBABA_CLOUD_PROFILE
	// or the file's current profile, and only when the environment holds no keys.
	Profile string
	// ConfigPath is the aliyun CLI config file; empty means ~/.aliyun/config.json.
	ConfigPath string
	// MetadataURL is the ECS metadata service base URL (tests point it at
	// httptest); empty means DefaultMetadataURL.
	MetadataURL string
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
	// HTTPClient is used for the metadata service; nil means a client with a
	// 3 s timeout.
	HTTPClient *http.Client
}

// ResolveCredentials finds credentials in this order: an explicit --profile;
// the environment (ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET[/SECURITY_TOKEN]); the
// aliyun CLI config file's current profile; the ECS instance RAM role
// (the role named in ALIBABA_CLOUD_ECS_METADATA, or the one attached).
func ResolveCredentials(ctx context.Context, o CredentialOptions) (Credentials, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if o.Profile != "" {
		return fromProfileFile(ctx, o, getenv, o.Profile)
	}
	if id, secret := getenv(EnvAccessKeyID), getenv(EnvAccessKeySecret); id != "" || secret != "" {
		if id == "" || secret == "" {
			return Credentials{}, fmt.Errorf("credentials: %s and %s must both be set", EnvAccessKeyID, EnvAccessKeySecret)
		}
		return Credentials{AccessKeyID: id, AccessKeySecret: secret, SecurityToken: getenv(EnvSecurityToken), Source: "environment"}, nil
	}
	var tried []string
	tried = append(tried, "environment ("+EnvAccessKeyID+" not set)")
	path, err := configPath(o)
	if err == nil {
		if _, statErr := os.Stat(path); statErr == nil {
			return fromProfileFile(ctx, o, getenv, getenv(EnvProfile))
		}
		tried = append(tried, "aliyun CLI profile ("+path+" not found)")
	}
	if strings.EqualFold(getenv(EnvECSMetadataDisabled), "true") {
		tried = append(tried, "ECS instance RAM role (disabled by "+EnvECSMetadataDisabled+")")
		return Credentials{}, fmt.Errorf("no Alibaba Cloud credentials found; tried %s. Set %s and %s, or use --profile",
			strings.Join(tried, ", "), EnvAccessKeyID, EnvAccessKeySecret)
	}
	role := getenv(EnvECSMetadata)
	c, err := fromECSRole(ctx, o, role)
	if err == nil {
		return c, nil
	}
	tried = append(tried, "ECS instance RAM role ("+err.Error()+")")
	return Credentials{}, fmt.Errorf("no Alibaba Cloud credentials found; tried %s. Set %s and %s, or use --profile",
		strings.Join(tried, ", "), EnvAccessKeyID, EnvAccessKeySecret)
}

func configPath(o CredentialOptions) (string, error) {
	if o.ConfigPath != "" {
		return o.ConfigPath, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".aliyun", "config.json"), nil
}

// cliConfig is the part of the aliyun CLI's config.json gwdoctor reads.
type cliConfig struct {
	Current  string       `json:"current"`
	Profiles []cliProfile `json:"profiles"`
}

type cliProfile struct {
	Name            string `json:"name"`
	Mode            string `json:"mode"`
	AccessKeyID     string `json:"access_key_id"`
	AccessKeySecret string `json:"access_key_secret"`
	StsToken        string `json:"sts_token"`
	RAMRoleName     string `json:"ram_role_name"`
	RegionID        string `json:"region_id"`
}

func fromProfileFile(ctx context.Context, o CredentialOptions, getenv func(string) string, name string) (Credentials, error) {
	path, err := configPath(o)
	if err != nil {
		return Credentials{}, fmt.Errorf("credentials: cannot locate the aliyun CLI config: %v", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Credentials{}, fmt.Errorf("credentials: reading aliyun CLI config: %v", err)
	}
	var cfg cliConfig
	if err := json.Unmarshal(data, &cfg); err != nil {
		// The decoder's message names offsets and types, never the values.
		return Credentials{}, fmt.Errorf("credentials: %s is not valid aliyun CLI config JSON: %v", path, err)
	}
	if name == "" {
		name = cfg.Current
	}
	if name == "" {
		name = "default"
	}
	var p *cliProfile
	var names []string
	for i := range cfg.Profiles {
		names = append(names, cfg.Profiles[i].Name)
		if cfg.Profiles[i].Name == name {
			p = &cfg.Profiles[i]
		}
	}
	if p == nil {
		return Credentials{}, fmt.Errorf("credentials: profile %q not found in %s (profiles: %s)", name, path, strings.Join(names, ", "))
	}
	src := fmt.Sprintf("profile %s (%s) in %s", p.Name, p.Mode, path)
	switch strings.ToLower(p.Mode) {
	case "ak", "":
		if p.AccessKeyID == "" || p.AccessKeySecret == "" {
			return Credentials{}, fmt.Errorf("credentials: profile %q in %s has no access_key_id/access_key_secret", p.Name, path)
		}
		return Credentials{AccessKeyID: p.AccessKeyID, AccessKeySecret: p.AccessKeySecret, Source: src, Region: p.RegionID}, nil
	case "ststoken":
		if p.AccessKeyID == "" || p.AccessKeySecret == "" || p.StsToken == "" {
			return Credentials{}, fmt.Errorf("credentials: profile %q in %s (StsToken) needs access_key_id, access_key_secret and sts_token", p.Name, path)
		}
		return Credentials{AccessKeyID: p.AccessKeyID, AccessKeySecret: p.AccessKeySecret, SecurityToken: p.StsToken, Source: src, Region: p.RegionID}, nil
	case "ecsramrole":
		c, err := fromECSRole(ctx, o, p.RAMRoleName)
		if err != nil {
			return Credentials{}, fmt.Errorf("credentials: profile %q (EcsRamRole): %v", p.Name, err)
		}
		c.Source = src + ", " + c.Source
		c.Region = p.RegionID
		return c, nil
	default:
		return Credentials{}, fmt.Errorf("credentials: profile %q in %s uses mode %s, which gwdoctor does not support (use AK, StsToken or EcsRamRole, or export %s/%s)",
			p.Name, path, p.Mode, EnvAccessKeyID, EnvAccessKeySecret)
	}
}

// fromECSRole reads temporary credentials of the instance's RAM role from the
// metadata service, in hardened mode (token) when the service offers it.
func fromECSRole(ctx context.Context, o CredentialOptions, role string) (Credentials, error) {
	base := strings.TrimRight(o.MetadataURL, "/")
	if base == "" {
		base = DefaultMetadataURL
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 3 * time.Second}
	}
	token := metadataToken(ctx, hc, base)
	get := func(path string) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if err != nil {
			return nil, err
		}
		if token != "" {
			req.Header.Set("X-aliyun-ecs-metadata-token", token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, fmt.Errorf("metadata service not reachable (not on ECS?): %v", plainNetError(err))
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("metadata service answered %s for %s", resp.Status, path)
		}
		return body, nil
	}
	if role == "" {
		body, err := get("/latest/meta-data/ram/security-credentials/")
		if err != nil {
			return Credentials{}, err
		}
		role = strings.TrimSpace(strings.SplitN(string(body), "\n", 2)[0])
		if role == "" {
			return Credentials{}, errors.New("no RAM role is attached to this instance")
		}
	}
	body, err := get("/latest/meta-data/ram/security-credentials/" + role)
	if err != nil {
		return Credentials{}, err
	}
	var r struct {
		Code            string
		AccessKeyId     string
		AccessKeySecret string
		SecurityToken   string
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return Credentials{}, fmt.Errorf("metadata service returned malformed credentials for role %s", role)
	}
	if (r.Code != "" && r.Code != "Success") || r.AccessKeyId == "" || r.AccessKeySecret == "" {
		return Credentials{}, fmt.Errorf("metadata service returned no credentials for role %s (code %q)", role, r.Code)
	}
	return Credentials{AccessKeyID: r.AccessKeyId, AccessKeySecret: r.AccessKeySecret, SecurityToken: r.SecurityToken,
		Source: "ECS RAM role " + role}, nil
}

// metadataToken asks for a hardened-mode token; an old service without that
// endpoint yields "" and normal mode is used.
func metadataToken(ctx context.Context, hc *http.Client, base string) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, base+"/latest/api/token", bytes.NewReader(nil))
	if err != nil {
		return ""
	}
	req.Header.Set("X-aliyun-ecs-metadata-token-ttl-seconds", "21600")
	resp, err := hc.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return ""
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return strings.TrimSpace(string(b))
}
