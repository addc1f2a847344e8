package fakecloud

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// Credentials fakes everything github.com/aliyun/credentials-go talks to,
// on loopback: STS (AssumeRoleWithOIDC, over TLS), the ECS instance
// metadata service (100.100.100.200) and a credentials URI. Transport
// returns an http.Transport that sends every request through its proxy, so
// a test that installs it as http.DefaultTransport (credentials-go clones
// that) reaches nothing else: CONNECT tunnels end at the fake STS whatever
// host was asked for, plain requests are answered only for the metadata
// address, and anything else is refused and recorded in Unexpected.
//
// Each credential it hands out is new (key STS.keyN, secret
// SecretPrefix-N, token TokenPrefix-N) and expires in 60 s: inside
// credentials-go's 180 s renewal window, so every use renews.
type Credentials struct {
	// OIDCToken and RoleARN are what AssumeRoleWithOIDC accepts;
	// URIQuery is the query the credentials URI requires.
	OIDCToken, RoleARN, URIQuery string
	// SecretPrefix and TokenPrefix start every secret and token handed out.
	SecretPrefix, TokenPrefix string
	// Hardened makes the metadata service require a session token.
	Hardened bool

	proxy, sts, uri *httptest.Server
	issued          atomic.Int64
	mu              sync.Mutex
	unexpected      []string
}

// NewCredentials starts the fakes. Close them with Close.
func NewCredentials() *Credentials {
	c := &Credentials{OIDCToken: "oidc-token-DoNotPrint", RoleARN: "acs:ram::1:role/gwdoctor", URIQuery: "auth=uri-secret-DoNotPrint",
		SecretPrefix: "sts-secret-DoNotPrint", TokenPrefix: "sts-token-DoNotPrint", Hardened: true}
	c.sts = httptest.NewTLSServer(http.HandlerFunc(c.serveSTS))
	c.uri = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery != c.URIQuery {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		c.session(w, false)
	}))
	c.proxy = httptest.NewServer(http.HandlerFunc(c.serveProxy))
	return c
}

// Close stops the fakes.
func (c *Credentials) Close() { c.proxy.Close(); c.sts.Close(); c.uri.Close() }

// URI is the credentials URI (for ALIBABA_CLOUD_CREDENTIALS_URI), with the
// query it requires.
func (c *Credentials) URI() string { return c.uri.URL + "/credentials?" + c.URIQuery }

// Issued counts the credentials handed out.
func (c *Credentials) Issued() int64 { return c.issued.Load() }

// Unexpected lists requests for anything the fake does not stand in for.
func (c *Credentials) Unexpected() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.unexpected...)
}

// Transport sends every request for a non-loopback host through the fake
// (loopback ones, such as the credentials URI and other fakes, directly) and
// trusts only the fake STS certificate.
func (c *Credentials) Transport() *http.Transport {
	pool := x509.NewCertPool()
	pool.AddCert(c.sts.Certificate())
	proxy, _ := url.Parse(c.proxy.URL)
	return &http.Transport{
		Proxy: func(r *http.Request) (*url.URL, error) {
			if ip := net.ParseIP(r.URL.Hostname()); ip != nil && ip.IsLoopback() {
				return nil, nil // loopback already: the credentials URI, other fakes
			}
			return proxy, nil
		},
		// httptest's certificate names example.com; every tunnel ends there.
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "example.com"},
	}
}

func (c *Credentials) session(w http.ResponseWriter, wrapped bool) {
	n := c.issued.Add(1)
	exp := time.Now().UTC().Add(60 * time.Second).Format("2006-01-02T15:04:05Z")
	body := fmt.Sprintf(`{"AccessKeyId":"STS.key%d","AccessKeySecret":"%s-%d","SecurityToken":"%s-%d","Expiration":%q,"Code":"Success"}`,
		n, c.SecretPrefix, n, c.TokenPrefix, n, exp)
	if wrapped {
		body = `{"RequestId":"fake","Credentials":` + body + `}`
	}
	fmt.Fprint(w, body)
}

func (c *Credentials) serveSTS(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	if r.URL.Query().Get("Action") != "AssumeRoleWithOIDC" || r.PostForm.Get("OIDCToken") != c.OIDCToken || r.PostForm.Get("RoleArn") != c.RoleARN {
		http.Error(w, `{"Code":"InvalidParameter","Message":"the fake STS accepts only its own role and token"}`, http.StatusBadRequest)
		return
	}
	c.session(w, true)
}

func (c *Credentials) serveProxy(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect { // HTTPS to STS: tunnel to the loopback TLS fake
		upstream, err := net.Dial("tcp", c.sts.Listener.Addr().String())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			upstream.Close()
			return
		}
		fmt.Fprint(conn, "HTTP/1.1 200 Connection established\r\n\r\n")
		go func() { _, _ = io.Copy(upstream, conn); upstream.Close() }()
		go func() { _, _ = io.Copy(conn, upstream); conn.Close() }()
		return
	}
	if r.URL.Hostname() != "100.100.100.200" {
		c.mu.Lock()
		c.unexpected = append(c.unexpected, r.URL.String())
		c.mu.Unlock()
		http.Error(w, "not faked", http.StatusBadGateway)
		return
	}
	if r.URL.Path == "/latest/api/token" {
		if r.Method != http.MethodPut {
			http.Error(w, "bad token request", http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, "mdtoken")
		return
	}
	if c.Hardened && r.Header.Get("X-aliyun-ecs-metadata-token") != "mdtoken" {
		http.Error(w, "token required", http.StatusUnauthorized)
		return
	}
	switch r.URL.Path {
	case "/latest/meta-data/ram/security-credentials/":
		fmt.Fprint(w, "gwdoctor-role")
	case "/latest/meta-data/ram/security-credentials/gwdoctor-role":
		c.session(w, false)
	default:
		http.NotFound(w, r)
	}
}
