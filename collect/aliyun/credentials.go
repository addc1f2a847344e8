package aliyun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/aliyun/credentials-go/credentials/providers"
)

// Credentials are what the API calls are signed with. They are never printed:
// String and GoString show only the source and a masked key id.
type Credentials struct {
	AccessKeyID     string
	AccessKeySecret string
	SecurityToken   string
	// Source says where the credentials came from ("environment",
	// "profile default (AK) in ~/.aliyun/config.json", "ECS instance RAM role").
	Source string
	// Region is the profile's default region, if any.
	Region string

	// refresher renews temporary credentials (an OIDC/RRSA role, the
	// instance's RAM role, a credentials URI, role profiles) before they
	// expire; nil for fixed keys. The fields above are its first answer.
	refresher providers.CredentialsProvider
}

func (c Credentials) String() string {
	return fmt.Sprintf("credentials from %s (key %s)", c.Source, maskID(c.AccessKeyID))
}

// GoString keeps %#v from printing the secret.
func (c Credentials) GoString() string { return c.String() }

// Format keeps every verb (%v, %+v, %s, %q, …) from printing the secret:
// the refresher holds secrets too, and %+v would walk into it.
func (c Credentials) Format(f fmt.State, verb rune) { fmt.Fprint(f, c.String()) }

// Refreshes reports whether the credentials are temporary and renewed
// before they expire.
func (c Credentials) Refreshes() bool { return c.refresher != nil }

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

// Environment variables read for credentials and region, as the aliyun CLI,
// the SDKs and github.com/aliyun/credentials-go name them.
const (
	EnvAccessKeyID     = "ALIBABA_CLOUD_ACCESS_KEY_ID"
	EnvAccessKeySecret = "ALIBABA_CLOUD_ACCESS_KEY_SECRET"
	EnvSecurityToken   = "ALIBABA_CLOUD_SECURITY_TOKEN"
	EnvProfile         = "ALIBABA_CLOUD_PROFILE"
	EnvRegion          = "ALIBABA_CLOUD_REGION_ID"
	EnvECSMetadata     = "ALIBABA_CLOUD_ECS_METADATA"
	// EnvECSMetadataDisabled=true skips the instance RAM role, as in the SDKs.
	EnvECSMetadataDisabled = "ALIBABA_CLOUD_ECS_METADATA_DISABLED"
	// RRSA on ACK: the pod's role, the cluster's OIDC provider and the
	// projected service-account token (AssumeRoleWithOIDC).
	EnvRoleARN         = "ALIBABA_CLOUD_ROLE_ARN"
	EnvOIDCProviderARN = "ALIBABA_CLOUD_OIDC_PROVIDER_ARN"
	EnvOIDCTokenFile   = "ALIBABA_CLOUD_OIDC_TOKEN_FILE"
	// EnvCredentialsURI is a local service that hands out STS credentials.
	EnvCredentialsURI = "ALIBABA_CLOUD_CREDENTIALS_URI"
	// EnvCLIConfigFile overrides ~/.aliyun/config.json.
	EnvCLIConfigFile = "ALIBABA_CLOUD_CONFIG_FILE"
	// EnvCredentialsFile overrides ~/.alibabacloud/credentials.
	EnvCredentialsFile = "ALIBABA_CLOUD_CREDENTIALS_FILE"
)

// CredentialOptions says where to look for credentials. Everything else
// comes from the environment, as github.com/aliyun/credentials-go reads it.
type CredentialOptions struct {
	// Profile names an aliyun CLI profile; empty means $ALIBABA_CLOUD_PROFILE
	// or the file's current profile, and only when the environment holds no keys.
	Profile string
	// ConfigPath is the aliyun CLI config file; empty means
	// $ALIBABA_CLOUD_CONFIG_FILE, else ~/.aliyun/config.json.
	ConfigPath string
}

// source is one link of the chain: what it is called in messages, and how
// to build its provider (an error means the source is not configured).
type source struct {
	name  string
	build func() (providers.CredentialsProvider, string, error)
}

// ResolveCredentials walks the default credential chain of
// github.com/aliyun/credentials-go, in its order: an explicit --profile
// alone; else the environment (ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET
// [/SECURITY_TOKEN]); an OIDC role (RRSA on ACK: ALIBABA_CLOUD_ROLE_ARN,
// ALIBABA_CLOUD_OIDC_PROVIDER_ARN, ALIBABA_CLOUD_OIDC_TOKEN_FILE); the aliyun
// CLI's profile in ~/.aliyun/config.json; ~/.alibabacloud/credentials; the
// ECS instance RAM role; ALIBABA_CLOUD_CREDENTIALS_URI. The first source
// that yields credentials wins; temporary ones are renewed before they
// expire. When none does, the error names every source and why it failed,
// without a secret.
func ResolveCredentials(ctx context.Context, o CredentialOptions) (Credentials, error) {
	if err := debugPrintsSecrets(); err != nil {
		return Credentials{}, err
	}
	if o.Profile != "" {
		c, err := fromCLIProfile(ctx, o, o.Profile)
		if err != nil {
			return Credentials{}, fmt.Errorf("credentials: %v", err)
		}
		return c, nil
	}
	id, secret := os.Getenv(EnvAccessKeyID), os.Getenv(EnvAccessKeySecret)
	if id != "" || secret != "" {
		if id == "" || secret == "" {
			return Credentials{}, fmt.Errorf("credentials: %s and %s must both be set", EnvAccessKeyID, EnvAccessKeySecret)
		}
		return Credentials{AccessKeyID: id, AccessKeySecret: secret, SecurityToken: os.Getenv(EnvSecurityToken), Source: "environment"}, nil
	}
	tried := []string{"environment (" + EnvAccessKeyID + " not set)"}

	for _, src := range []source{
		{"OIDC role (RRSA)", buildOIDC},
		{"aliyun CLI profile", nil},
		{"credentials file", buildCredentialsFile},
		{"ECS instance RAM role", buildECSRole},
		{"credentials URI", buildCredentialsURI},
	} {
		if src.build == nil { // the CLI profile: its own errors, region and mode checks
			path, err := cliConfigPath(o)
			if err != nil {
				tried = append(tried, src.name+" ("+err.Error()+")")
				continue
			}
			if _, err := os.Stat(path); err != nil {
				tried = append(tried, src.name+" ("+path+" not found)")
				continue
			}
			c, err := fromCLIProfile(ctx, o, os.Getenv(EnvProfile))
			if err == nil {
				return c, nil
			}
			tried = append(tried, src.name+" ("+err.Error()+")")
			continue
		}
		p, desc, err := src.build()
		if err != nil {
			tried = append(tried, src.name+" ("+scrubCredentialError(err.Error())+")")
			continue
		}
		c, err := fetch(ctx, p)
		if err != nil {
			tried = append(tried, src.name+" ("+err.Error()+")")
			continue
		}
		c.Source = desc
		return c, nil
	}
	return Credentials{}, fmt.Errorf("no Alibaba Cloud credentials found; tried %s. Set %s and %s, or use --profile",
		strings.Join(tried, ", "), EnvAccessKeyID, EnvAccessKeySecret)
}

func buildOIDC() (providers.CredentialsProvider, string, error) {
	if os.Getenv(EnvRoleARN) == "" && os.Getenv(EnvOIDCProviderARN) == "" && os.Getenv(EnvOIDCTokenFile) == "" {
		return nil, "", fmt.Errorf("%s, %s and %s not set", EnvRoleARN, EnvOIDCProviderARN, EnvOIDCTokenFile)
	}
	p, err := providers.NewOIDCCredentialsProviderBuilder().WithRoleSessionName("gwdoctor").Build()
	if err != nil {
		return nil, "", fmt.Errorf("incomplete: %v (set %s, %s and %s)", err, EnvRoleARN, EnvOIDCProviderARN, EnvOIDCTokenFile)
	}
	return p, "OIDC role " + os.Getenv(EnvRoleARN) + " (RRSA, token " + os.Getenv(EnvOIDCTokenFile) + ")", nil
}

func buildCredentialsFile() (providers.CredentialsProvider, string, error) {
	path := os.Getenv(EnvCredentialsFile)
	if path == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, "", err
		}
		path = filepath.Join(home, ".alibabacloud", "credentials")
	}
	if _, err := os.Stat(path); err != nil {
		return nil, "", errors.New(path + " not found")
	}
	p, err := providers.NewProfileCredentialsProviderBuilder().Build()
	if err != nil {
		return nil, "", err
	}
	return p, "credentials file " + path, nil
}

func buildECSRole() (providers.CredentialsProvider, string, error) {
	if strings.EqualFold(os.Getenv(EnvECSMetadataDisabled), "true") {
		return nil, "", errors.New("disabled by " + EnvECSMetadataDisabled)
	}
	p, err := providers.NewECSRAMRoleCredentialsProviderBuilder().Build()
	if err != nil {
		return nil, "", err
	}
	desc := "ECS instance RAM role"
	if role := os.Getenv(EnvECSMetadata); role != "" {
		desc += " " + role
	}
	return p, desc, nil
}

func buildCredentialsURI() (providers.CredentialsProvider, string, error) {
	uri := os.Getenv(EnvCredentialsURI)
	if uri == "" {
		return nil, "", errors.New(EnvCredentialsURI + " not set")
	}
	p, err := providers.NewURLCredentialsProviderBuilder().WithUrl(uri).Build()
	if err != nil {
		return nil, "", err
	}
	return p, "credentials URI " + scrubCredentialError(uri), nil
}

// fetch asks p for credentials, giving up when ctx ends (credentials-go
// takes no context; its own timeouts end the call it leaves behind).
func fetch(ctx context.Context, p providers.CredentialsProvider) (Credentials, error) {
	type answer struct {
		cc  *providers.Credentials
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		cc, err := getCredentials(p)
		ch <- answer{cc, err}
	}()
	var a answer
	select {
	case <-ctx.Done():
		return Credentials{}, ctx.Err()
	case a = <-ch:
	}
	if a.err != nil {
		return Credentials{}, errors.New(scrubCredentialError(a.err.Error()))
	}
	if a.cc == nil || a.cc.AccessKeyId == "" || a.cc.AccessKeySecret == "" {
		return Credentials{}, errors.New("the source returned no access key")
	}
	c := Credentials{AccessKeyID: a.cc.AccessKeyId, AccessKeySecret: a.cc.AccessKeySecret, SecurityToken: a.cc.SecurityToken}
	if a.cc.SecurityToken != "" && !strings.HasSuffix(a.cc.ProviderName, "static_sts") {
		c.refresher = p // temporary: renewed by p before it expires
	}
	return c, nil
}

// getCredentials calls p, turning a panic into an error: credentials-go
// dereferences fields an answer may lack (the metadata service's Code).
func getCredentials(p providers.CredentialsProvider) (cc *providers.Credentials, err error) {
	defer func() {
		if r := recover(); r != nil {
			cc, err = nil, fmt.Errorf("credentials-go failed on a malformed answer (%s)", scrubCredentialError(fmt.Sprint(r)))
		}
	}()
	return p.GetCredentials()
}

// secretValue matches a JSON string member whose name says it holds a
// secret; query matches a URL's query string (credential URIs may carry a
// token there).
var (
	secretValue = regexp.MustCompile(`(?i)("[A-Za-z_]*(secret|token|password)[A-Za-z_]*"\s*:\s*)"(?:[^"\\]|\\.)*"`)
	query       = regexp.MustCompile(`(https?://[^\s?"']*)\?[^\s"']*`)
)

// scrubCredentialError removes what may be secret from a credential
// source's error: credentials-go quotes response bodies (which can hold a
// secret when the answer is incomplete) and URLs.
func scrubCredentialError(s string) string {
	s = secretValue.ReplaceAllString(s, `$1"[redacted]"`)
	return query.ReplaceAllString(s, `$1?[redacted]`)
}

func cliConfigPath(o CredentialOptions) (string, error) {
	if o.ConfigPath != "" {
		return o.ConfigPath, nil
	}
	if p := os.Getenv(EnvCLIConfigFile); p != "" {
		return p, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot locate the aliyun CLI config: %v", err)
	}
	return filepath.Join(home, ".aliyun", "config.json"), nil
}

// cliConfig is the part of the aliyun CLI's config.json gwdoctor reads
// itself: names, modes and regions. credentials-go reads the rest.
type cliConfig struct {
	Current  string       `json:"current"`
	Profiles []cliProfile `json:"profiles"`
}

type cliProfile struct {
	Name          string `json:"name"`
	Mode          string `json:"mode"`
	RegionID      string `json:"region_id"`
	SourceProfile string `json:"source_profile"`
	RAMRoleName   string `json:"ram_role_name"`
}

// Profile modes credentials-go handles that gwdoctor refuses, and why.
var refusedModes = map[string]string{
	// credentials-go prints the command and its whole output to standard
	// output when the output does not parse: the output holds the secret.
	"external": "credentials-go prints the credential command's output to standard output when it does not parse, secrets included",
	// credentials-go writes warnings to standard output, where gwdoctor's
	// reports go.
	"oauth": "credentials-go writes its token-refresh warnings to standard output, into gwdoctor's report",
}

// fromCLIProfile resolves the named profile (empty: the file's current
// one, else "default") through credentials-go, after checking it exists
// and uses a mode gwdoctor accepts.
func fromCLIProfile(ctx context.Context, o CredentialOptions, name string) (Credentials, error) {
	path, err := cliConfigPath(o)
	if err != nil {
		return Credentials{}, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Credentials{}, fmt.Errorf("reading aliyun CLI config: %v", err)
	}
	var cfg cliConfig
	if err := json.Unmarshal(data, &cfg); err != nil {
		// The decoder's message names offsets and types, never the values.
		return Credentials{}, fmt.Errorf("%s is not valid aliyun CLI config JSON: %v", path, err)
	}
	name = firstNonEmpty(name, cfg.Current, "default")
	find := func(n string) *cliProfile {
		for i := range cfg.Profiles {
			if cfg.Profiles[i].Name == n {
				return &cfg.Profiles[i]
			}
		}
		return nil
	}
	p := find(name)
	if p == nil {
		var names []string
		for _, q := range cfg.Profiles {
			names = append(names, q.Name)
		}
		return Credentials{}, fmt.Errorf("profile %q not found in %s (profiles: %s)", name, path, strings.Join(names, ", "))
	}
	// A chained role's source profiles decide what runs too.
	for q, seen := p, map[string]bool{}; q != nil && !seen[q.Name]; q = find(q.SourceProfile) {
		seen[q.Name] = true
		if why, bad := refusedModes[strings.ToLower(q.Mode)]; bad {
			return Credentials{}, fmt.Errorf("profile %q in %s uses mode %s, which gwdoctor does not use: %s (export %s/%s, or use another profile)",
				q.Name, path, q.Mode, why, EnvAccessKeyID, EnvAccessKeySecret)
		}
		if !strings.EqualFold(q.Mode, "ChainableRamRoleArn") {
			break
		}
	}
	prov, err := providers.NewCLIProfileCredentialsProviderBuilder().WithProfileFile(path).WithProfileName(p.Name).Build()
	if err != nil {
		return Credentials{}, fmt.Errorf("profile %q in %s: %v", p.Name, path, err)
	}
	c, err := fetch(ctx, prov)
	if err != nil {
		return Credentials{}, fmt.Errorf("profile %q (%s) in %s: %v", p.Name, p.Mode, path, err)
	}
	c.Source = fmt.Sprintf("profile %s (%s) in %s", p.Name, p.Mode, path)
	if strings.EqualFold(p.Mode, "EcsRamRole") {
		c.Source += ", ECS RAM role " + firstNonEmpty(p.RAMRoleName, "attached to the instance")
	}
	c.Region = p.RegionID
	return c, nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
