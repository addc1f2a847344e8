package cli

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gwdoctor/gwdoctor/collect/aliyun"
	"github.com/gwdoctor/gwdoctor/internal/fakecloud"
)

// A pod on ACK with RRSA and nothing else: snapshot --live assumes the role
// with the projected token (against the loopback STS fake), signs the
// cloud calls with the temporary credentials, and prints or writes none of
// the secrets involved.
func TestSnapshotLiveWithRRSA(t *testing.T) {
	e := newLiveEnv(t)
	creds := fakecloud.NewCredentials()
	t.Cleanup(creds.Close)
	old := http.DefaultTransport
	http.DefaultTransport = creds.Transport() // credentials-go clones it: its STS call stays on loopback
	t.Cleanup(func() { http.DefaultTransport = old })

	tokenFile := filepath.Join(e.dir, "oidc-token")
	if err := os.WriteFile(tokenFile, []byte(creds.OIDCToken), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(aliyun.EnvAccessKeyID, "")
	t.Setenv(aliyun.EnvAccessKeySecret, "")
	t.Setenv(aliyun.EnvSecurityToken, "")
	t.Setenv(aliyun.EnvRoleARN, creds.RoleARN)
	t.Setenv(aliyun.EnvOIDCProviderARN, "acs:ram::1:oidc-provider/ack-rrsa-c1")
	t.Setenv(aliyun.EnvOIDCTokenFile, tokenFile)

	file := filepath.Join(e.dir, "rrsa.json")
	code, stdout, stderr := runLive(e.args("-o", file)...)
	if code != ExitOK {
		t.Fatalf("snapshot --live with RRSA: exit %d: %s", code, stderr)
	}
	if creds.Issued() == 0 {
		t.Fatal("the STS fake issued nothing: the credentials did not come from the OIDC role")
	}
	signed := false
	for _, q := range e.cloud.RawQueries() {
		signed = signed || strings.Contains(q, "SecurityToken="+creds.TokenPrefix)
	}
	if !signed {
		t.Error("no cloud call was signed with the role's temporary token")
	}
	data, _ := os.ReadFile(file)
	for _, s := range []string{creds.SecretPrefix, creds.TokenPrefix, creds.OIDCToken} {
		if strings.Contains(stdout+stderr+string(data), s) {
			t.Errorf("a secret (%s…) was printed or written", s[:8])
		}
	}
	if u := creds.Unexpected(); len(u) > 0 {
		t.Errorf("credential requests left the fakes: %v", u)
	}
}
