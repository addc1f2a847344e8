// Package aliyun reads what gwdoctor needs from Alibaba Cloud (MSE, ECS, ACK)
// through the official Go SDK, read-only: bounded concurrency, batching,
// retries of throttling and transient errors with jittered exponential
// backoff, and errors that name the RAM action and never carry secrets.
package aliyun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/cs"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/mse"
	"github.com/aliyun/credentials-go/credentials/providers"
)

// Config configures a Client.
type Config struct {
	// Region is the region id (cn-hangzhou); required.
	Region string
	// Endpoint overrides the API endpoint of every product with one base
	// URL, http or https (VPC endpoints, private gateways, tests).
	Endpoint string
	// Credentials sign every call.
	Credentials Credentials
	// Concurrency bounds the calls in flight (default 8).
	Concurrency int
	// MaxAttempts is how often a throttled or transient call is tried
	// (default 6).
	MaxAttempts int
	// BaseBackoff is the first retry delay before jitter (default 200 ms);
	// it doubles per attempt up to 5 s.
	BaseBackoff time.Duration
	// CallTimeout bounds one HTTP exchange (default 30 s).
	CallTimeout time.Duration
	// Transport carries the HTTP requests; nil means a default transport.
	Transport http.RoundTripper
}

// Client calls MSE, ECS and ACK. It is safe for concurrent use.
type Client struct {
	cfg     Config
	scheme  string // "HTTP" or "HTTPS" when the endpoint is overridden
	domain  string // host when the endpoint is overridden
	port    string // its port, if the URL names one
	slots   chan *slot
	calls   atomic.Int64
	retries atomic.Int64

	secretsMu sync.RWMutex
	secrets   []string // grows as temporary credentials are renewed
}

// slot holds one set of SDK clients. The SDK mutates its client on every
// call (timeouts, transport), so a client is used by one goroutine at a
// time: the pool of slots is also the concurrency bound.
type slot struct {
	mse *mse.Client
	ecs *ecs.Client
	cs  *cs.Client
	rt  *ctxTransport
}

// ctxTransport attaches the current call's context to the request, because
// the SDK builds its requests without one; the deadline and cancellation of
// the caller's context then reach the connection.
type ctxTransport struct {
	base http.RoundTripper
	ctx  context.Context
}

func (t *ctxTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.ctx != nil {
		r = r.WithContext(t.ctx)
	}
	return t.base.RoundTrip(r)
}

// New builds a Client. It makes no network call.
func New(cfg Config) (*Client, error) {
	if cfg.Region == "" {
		return nil, errors.New("aliyun: no region: use --region or set " + EnvRegion)
	}
	if cfg.Credentials.AccessKeyID == "" || cfg.Credentials.AccessKeySecret == "" {
		return nil, errors.New("aliyun: no credentials")
	}
	if err := debugPrintsSecrets(); err != nil {
		return nil, err
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 8
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 6
	}
	if cfg.BaseBackoff <= 0 {
		cfg.BaseBackoff = 200 * time.Millisecond
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 30 * time.Second
	}
	c := &Client{cfg: cfg, secrets: cfg.Credentials.secrets()}
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("aliyun: --aliyun-endpoint %q is not a base URL such as https://vpc-endpoint.example or http://127.0.0.1:8080", cfg.Endpoint)
		}
		if u.Path != "" && u.Path != "/" {
			return nil, fmt.Errorf("aliyun: --aliyun-endpoint %q must not have a path", cfg.Endpoint)
		}
		c.scheme, c.domain, c.port = strings.ToUpper(u.Scheme), u.Hostname(), u.Port()
		if strings.Contains(c.domain, ":") {
			c.domain = "[" + c.domain + "]" // IPv6 literal
		}
	}
	base := cfg.Transport
	if base == nil {
		base = &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConnsPerHost: cfg.Concurrency,
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: 10 * time.Second,
		}
	}
	var cred auth.Credential
	switch {
	case cfg.Credentials.refresher != nil:
		// The SDK asks before every call; credentials-go answers from its
		// cache and renews temporary credentials shortly before they expire.
		r := &refreshing{src: cfg.Credentials.refresher, client: c}
		r.first.Store(&cfg.Credentials)
		cred = r
	case cfg.Credentials.SecurityToken != "":
		cred = credentials.NewStsTokenCredential(cfg.Credentials.AccessKeyID, cfg.Credentials.AccessKeySecret, cfg.Credentials.SecurityToken)
	default:
		cred = credentials.NewAccessKeyCredential(cfg.Credentials.AccessKeyID, cfg.Credentials.AccessKeySecret)
	}
	c.slots = make(chan *slot, cfg.Concurrency)
	for range cfg.Concurrency {
		rt := &ctxTransport{base: base}
		sdkCfg := func() *sdk.Config {
			sc := sdk.NewConfig()
			sc.AutoRetry = false // retries are ours: jittered, context-aware
			sc.Transport = rt
			sc.Scheme = "HTTPS"
			if c.scheme != "" {
				sc.Scheme = c.scheme
			}
			return sc
		}
		m, err := mse.NewClientWithOptions(cfg.Region, sdkCfg(), cred)
		if err != nil {
			return nil, fmt.Errorf("aliyun: mse client: %v", c.scrub(err.Error()))
		}
		e, err := ecs.NewClientWithOptions(cfg.Region, sdkCfg(), cred)
		if err != nil {
			return nil, fmt.Errorf("aliyun: ecs client: %v", c.scrub(err.Error()))
		}
		k, err := cs.NewClientWithOptions(cfg.Region, sdkCfg(), cred)
		if err != nil {
			return nil, fmt.Errorf("aliyun: cs client: %v", c.scrub(err.Error()))
		}
		for _, sc := range []*sdk.Client{&m.Client, &e.Client, &k.Client} {
			sc.SetReadTimeout(cfg.CallTimeout)
			sc.SetConnectTimeout(5 * time.Second)
		}
		c.slots <- &slot{mse: m, ecs: e, cs: k, rt: rt}
	}
	return c, nil
}

// debugPrintsSecrets refuses the DEBUG settings under which the libraries
// print secrets: the SDK reads DEBUG once, at start-up, and then prints
// every signed request (security token included) to standard output;
// credentials-go prints its requests' headers (the instance metadata token).
func debugPrintsSecrets() error {
	for _, part := range strings.Split(os.Getenv("DEBUG"), ",") {
		switch strings.TrimSpace(part) {
		case "sdk":
			return errors.New("aliyun: DEBUG=sdk makes the Alibaba Cloud SDK print signed requests, security token included; unset DEBUG")
		case "credential":
			return errors.New("aliyun: DEBUG=credential makes credentials-go print its requests' headers, the instance metadata token included; unset DEBUG")
		}
	}
	return nil
}

// Calls is the number of HTTP calls made so far (retries included).
func (c *Client) Calls() int64 { return c.calls.Load() }

// Retries is the number of retried calls so far.
func (c *Client) Retries() int64 { return c.retries.Load() }

// prepare points a request at the overridden endpoint, if any.
func (c *Client) prepare(r requests.AcsRequest) {
	if c.domain != "" {
		r.SetDomain(c.domain)
		r.SetScheme(c.scheme)
		// The SDK has no setter for the port; RPC and ROA requests both
		// build their URL from the embedded base request's Port field.
		if f := reflect.ValueOf(r).Elem().FieldByName("Port"); f.IsValid() && f.CanSet() {
			port := c.port
			if port == "" {
				port = map[string]string{"HTTP": "80", "HTTPS": "443"}[c.scheme]
			}
			f.SetString(port)
		}
	}
}

// APIError is a failed call after retries: which RAM action, what the
// service said. It carries no secrets.
type APIError struct {
	// Action is the RAM action, e.g. "ecs:DescribeSecurityGroupAttribute".
	Action     string
	Code       string
	Message    string
	HTTPStatus int
	RequestID  string
	Attempts   int
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString(e.Action)
	b.WriteString(": ")
	if e.Code != "" {
		b.WriteString(e.Code)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	if e.HTTPStatus != 0 {
		fmt.Fprintf(&b, " (HTTP %d", e.HTTPStatus)
		if e.RequestID != "" {
			b.WriteString(", request id " + e.RequestID)
		}
		b.WriteString(")")
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.Attempts) //words:never-one (more than one)
	}
	if e.PermissionDenied() {
		fmt.Fprintf(&b, "; the RAM policy must allow %s", e.Action)
	}
	return b.String()
}

// PermissionDenied reports an authorization failure: the RAM policy lacks the action.
func (e *APIError) PermissionDenied() bool {
	code := strings.ToLower(e.Code)
	for _, s := range []string{"forbidden", "nopermission", "notauthorized", "accessdenied", "unauthorized", "noauth"} {
		if strings.Contains(code, s) {
			return true
		}
	}
	return e.HTTPStatus == http.StatusForbidden
}

// retryable reports throttling and transient failures.
func (e *APIError) retryable() bool {
	code := strings.ToLower(e.Code)
	switch {
	case strings.HasPrefix(code, "throttling"), strings.Contains(code, "serviceunavailable"),
		strings.Contains(code, "internalerror"), code == "sdk.timeouterror", code == "sdk.servererror",
		code == "transport", e.HTTPStatus == http.StatusTooManyRequests, e.HTTPStatus >= 500:
		return true
	}
	return false
}

// call runs fn on a slot with retries. fn gets the slot for its SDK clients.
func (c *Client) call(ctx context.Context, action string, fn func(*slot) error) error {
	return c.callWith(ctx, action, (*APIError).retryable, fn)
}

// callWith is call with its own judgement of which failures to retry.
func (c *Client) callWith(ctx context.Context, action string, retry func(*APIError) bool, fn func(*slot) error) error {
	var last *APIError
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return c.ctxError(action, err, last)
		}
		var s *slot
		select {
		case s = <-c.slots:
		case <-ctx.Done():
			return c.ctxError(action, ctx.Err(), last)
		}
		s.rt.ctx = ctx
		c.calls.Add(1)
		err := safely(fn, s)
		s.rt.ctx = nil
		c.slots <- s
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return c.ctxError(action, ctx.Err(), last)
		}
		last = c.classify(action, err)
		last.Attempts = attempt
		if !retry(last) || attempt >= c.cfg.MaxAttempts {
			return last
		}
		c.retries.Add(1)
		// Full jitter: a uniformly random wait up to the exponential cap, so
		// throttled workers do not retry in lockstep.
		limit := c.cfg.BaseBackoff << (attempt - 1)
		if limit > 5*time.Second || limit <= 0 {
			limit = 5 * time.Second
		}
		wait := limit/2 + time.Duration(rand.Int64N(int64(limit/2)+1))
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return c.ctxError(action, ctx.Err(), last)
		}
	}
}

func (c *Client) ctxError(action string, err error, last *APIError) error {
	msg := "gave up: " + err.Error()
	if errors.Is(err, context.DeadlineExceeded) {
		msg = "the collection timed out (--timeout)"
	}
	if last != nil {
		msg += "; last error: " + last.Code + " " + last.Message
	}
	return &APIError{Action: action, Code: "Timeout", Message: msg}
}

// safely turns an SDK panic (it type-asserts some error fields) into an error.
func safely(fn func(*slot) error, s *slot) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("SDK failed to decode the response: %v", r)
		}
	}()
	return fn(s)
}

func (c *Client) classify(action string, err error) *APIError {
	e := &APIError{Action: action}
	var se *sdkerrors.ServerError
	var ce *sdkerrors.ClientError
	switch {
	case errors.As(err, &se):
		e.HTTPStatus, e.Code, e.Message, e.RequestID = se.HttpStatus(), se.ErrorCode(), se.Message(), se.RequestId()
		if e.Code == "" {
			// ROA (ACK) errors use lower-case keys: {"code","message","requestId"}.
			var roa struct {
				Code      string `json:"code"`
				Message   string `json:"message"`
				RequestID string `json:"requestId"`
			}
			if json.Unmarshal([]byte(se.Message()), &roa) == nil && roa.Code != "" {
				e.Code, e.Message, e.RequestID = roa.Code, roa.Message, roa.RequestID
			}
		}
		if e.Code == "" && e.HTTPStatus >= 500 {
			e.Code = "SDK.ServerError"
		}
	case errors.As(err, &ce):
		e.Code = ce.ErrorCode()
		e.Message = ce.Message()
		if oe := ce.OriginError(); oe != nil {
			e.Message += ": " + plainNetError(oe).Error()
			e.Code = "Transport"
		}
	default:
		e.Code = "Transport"
		e.Message = plainNetError(err).Error()
	}
	e.Message = c.scrub(e.Message)
	if len(e.Message) > 500 {
		e.Message = e.Message[:500] + "…"
	}
	return e
}

// plainNetError drops the URL from a *url.Error: an RPC URL carries the
// access key id, the signature and the security token in its query.
func plainNetError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %v", ue.Op, ue.Err)
	}
	return err
}

// scrub removes every secret value from s, wherever it came from.
func (c *Client) scrub(s string) string {
	c.secretsMu.RLock()
	defer c.secretsMu.RUnlock()
	for _, v := range c.secrets {
		s = strings.ReplaceAll(s, v, "[redacted]")
		s = strings.ReplaceAll(s, url.QueryEscape(v), "[redacted]")
	}
	return s
}

// addSecrets records renewed credentials' secrets for scrub.
func (c *Client) addSecrets(cr Credentials) {
	c.secretsMu.Lock()
	defer c.secretsMu.Unlock()
	for _, v := range cr.secrets() {
		if !slices.Contains(c.secrets, v) {
			c.secrets = append(c.secrets, v)
		}
	}
}

// refreshing gives the SDK the credentials-go provider's current answer on
// every call. Calls are serialised: credentials-go's providers update their
// cache without a lock.
type refreshing struct {
	mu     sync.Mutex
	src    providers.CredentialsProvider
	client *Client
	first  atomic.Pointer[Credentials]
}

func (r *refreshing) GetCredentials() (*credentials.Credentials, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if f := r.first.Swap(nil); f != nil { // resolved a moment ago: no second fetch
		return &credentials.Credentials{AccessKeyId: f.AccessKeyID, AccessKeySecret: f.AccessKeySecret, SecurityToken: f.SecurityToken}, nil
	}
	cc, err := getCredentials(r.src)
	if err != nil {
		return nil, fmt.Errorf("renewing temporary credentials: %s", r.client.scrub(scrubCredentialError(err.Error())))
	}
	r.client.addSecrets(Credentials{AccessKeySecret: cc.AccessKeySecret, SecurityToken: cc.SecurityToken})
	return &credentials.Credentials{AccessKeyId: cc.AccessKeyId, AccessKeySecret: cc.AccessKeySecret, SecurityToken: cc.SecurityToken}, nil
}

func (r *refreshing) GetProviderName() string { return "gwdoctor/credentials-go" }

// forEach runs fn for every item with at most Concurrency in flight (the
// slots bound the HTTP calls; this bounds the goroutines) and returns the
// errors in item order.
func forEach[T any](c *Client, items []T, fn func(T) error) []error {
	errs := make([]error, len(items))
	var wg sync.WaitGroup
	sem := make(chan struct{}, c.cfg.Concurrency)
	for i, it := range items {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = fn(it)
		}()
	}
	wg.Wait()
	return errs
}

// chunks splits ids into batches of at most n.
func chunks(ids []string, n int) [][]string {
	var out [][]string
	for len(ids) > n {
		out = append(out, ids[:n])
		ids = ids[n:]
	}
	if len(ids) > 0 {
		out = append(out, ids)
	}
	return out
}

func jsonList(ids []string) string {
	b, _ := json.Marshal(ids)
	return string(b)
}
