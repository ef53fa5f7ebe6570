package api_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/store"
	"github.com/plenaryhq/plenary/internal/store/storetest"
	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/scheduler/api"
	"github.com/plenaryhq/plenary/scheduler/catalog"
	"github.com/plenaryhq/plenary/scheduler/internal/testfiles"
)

var (
	tenantA = tenant.MustParse("alpha")
	tenantB = tenant.MustParse("beta")
	quiet   = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
)

// env is a running scheduler API with two tenants.
type env struct {
	st      *store.Store
	cat     *catalog.Catalog
	h       *api.Handler
	srv     *httptest.Server
	issuer  *auth.Issuer
	spec    *spec
	changes chan string
}

func newEnv(t testing.TB, cfg api.Config) *env {
	t.Helper()
	ctx := context.Background()
	st := storetest.Open(t)
	ts := auth.NewTenants(st, auth.WithLogger(quiet))
	for _, id := range []tenant.ID{tenantA, tenantB} {
		_, err := ts.CreateTenant(ctx, id, string(id))
		require.NoError(t, err)
	}
	verifier := auth.NewVerifier(ts, auth.VerifierOptions{})
	cat, err := catalog.New(ctx, st, catalog.Options{}, quiet)
	require.NoError(t, err)
	e := &env{st: st, cat: cat, issuer: auth.NewIssuer(ts, auth.IssuerOptions{}), spec: loadSpec(t), changes: make(chan string, 1024)}
	e.h, err = api.New(cfg, api.Deps{
		Catalog: cat,
		Auth:    auth.Middleware(verifier, auth.MiddlewareOptions{Log: quiet}),
		OnChange: func(_ context.Context, t tenant.ID, slug string) {
			select {
			case e.changes <- string(t) + "/" + slug:
			default:
			}
		},
		Log: quiet,
	})
	require.NoError(t, err)
	mux := http.NewServeMux()
	e.h.Register(mux)
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	return e
}

// token mints a token for subject with role in tenant id.
func (e *env) token(t testing.TB, id tenant.ID, role auth.Role, subject string) string {
	t.Helper()
	tok, err := e.issuer.Mint(context.Background(), auth.MintRequest{Tenant: id, Subject: subject, Role: role})
	require.NoError(t, err)
	return tok
}

// response is a finished request.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request to the API and checks request and response against
// docs/openapi.yaml.
func (e *env) do(t testing.TB, method, path, token string, body []byte, contentType string) response {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	e.spec.check(t, req, body, resp, rb)
	return response{status: resp.StatusCode, header: resp.Header, body: rb}
}

// spec validates traffic against the OpenAPI document.
type spec struct {
	doc    *openapi3.T
	router routers.Router
}

var (
	specOnce sync.Once
	specVal  *spec
	specErr  error
)

func loadSpec(t testing.TB) *spec {
	t.Helper()
	specOnce.Do(func() {
		for _, ct := range []string{"application/xml", "text/xml", "text/calendar"} {
			openapi3filter.RegisterBodyDecoder(ct, openapi3filter.FileBodyDecoder)
		}
		path := filepath.Join(testfiles.RepoRoot(t), "docs", "openapi.yaml")
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromFile(path)
		if err != nil {
			specErr = err
			return
		}
		if err := doc.Validate(loader.Context); err != nil {
			specErr = err
			return
		}
		doc.Servers = nil // match paths on any test server address
		r, err := legacy.NewRouter(doc)
		specVal, specErr = &spec{doc: doc, router: r}, err
	})
	require.NoError(t, specErr, "docs/openapi.yaml")
	return specVal
}

// check validates one exchange: the request must match a documented
// operation, and the response its documented status and schema.
func (s *spec) check(t testing.TB, req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) {
	t.Helper()
	vreq := req.Clone(context.Background())
	vreq.Body = io.NopCloser(bytes.NewReader(reqBody))
	// Route on the escaped path, as net/http's ServeMux does: a room name
	// may hold an escaped "/".
	vreq.URL.Path, vreq.URL.RawPath = vreq.URL.EscapedPath(), ""
	route, params, err := s.router.FindRoute(vreq)
	require.NoError(t, err, "%s %s is not in docs/openapi.yaml", req.Method, req.URL.Path)
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true}
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route, Options: opts}
	// Requests are checked only when the server accepted them: tests send
	// invalid requests on purpose to see them refused.
	if resp.StatusCode < 300 {
		require.NoError(t, openapi3filter.ValidateRequest(context.Background(), in), "request %s %s", req.Method, req.URL)
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Body: io.NopCloser(bytes.NewReader(respBody)), Options: opts,
	}
	require.NoError(t, openapi3filter.ValidateResponse(context.Background(), out),
		"response %d to %s %s: %.300s", resp.StatusCode, req.Method, req.URL, respBody)
}
