package playback_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/recorder/internal/testmedia"
	"github.com/plenaryhq/plenary/recorder/packager"
	"github.com/plenaryhq/plenary/recorder/playback"
	"github.com/plenaryhq/plenary/recorder/storage"
)

var (
	acme  = tenant.MustParse("acme")
	beta  = tenant.MustParse("beta")
	key   = []byte("0123456789abcdef0123456789abcdef")
	key2  = []byte("fedcba9876543210fedcba9876543210")
	start = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var (
	vodOnce sync.Once
	vodDir  string
)

// realVOD packages a real 4 s recording once for all tests here.
func realVOD(t *testing.T) string {
	t.Helper()
	media := testmedia.Generate(t, testmedia.Spec{Seconds: 4})
	vodOnce.Do(func() {
		dir, err := filepathTemp()
		require.NoError(t, err)
		in := testmedia.Record(t, dir, "rec1", []testmedia.Participant{{Name: "alice", Media: media}}, false)
		vodDir = filepath.Join(dir, "vod")
		_, err = packager.Package(context.Background(), in, vodDir, packager.Options{SegmentSeconds: 2}, nil)
		require.NoError(t, err)
	})
	require.NotEmpty(t, vodDir)
	return vodDir
}

// server stores the real VOD for both tenants and serves it.
func server(t *testing.T) (*httptest.Server, *playback.Signer, *clock) {
	t.Helper()
	vod := realVOD(t)
	st, err := storage.NewLocal(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	ctx := context.Background()
	require.NoError(t, storage.PutDir(ctx, st, "acme/vod/rec1/run1/", vod))
	require.NoError(t, storage.PutDir(ctx, st, "beta/vod/rec1/run1/", vod))
	clk := &clock{t: start}
	s, err := playback.NewSigner(key, key2)
	require.NoError(t, err)
	s = s.WithClock(clk.Now)
	mux := http.NewServeMux()
	mux.Handle(playback.DefaultMount, playback.NewHandler(st, s, nil))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, s, clk
}

func get(t *testing.T, u string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, u, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

// firstURI returns the first URI line of a playlist.
func firstURI(body string) string {
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			return l
		}
	}
	return ""
}

func resolve(t *testing.T, base, ref string) string {
	t.Helper()
	b, err := url.Parse(base)
	require.NoError(t, err)
	r, err := url.Parse(ref)
	require.NoError(t, err)
	return b.ResolveReference(r).String()
}

// TestSignedURLPlaysUntilExpiry follows master → media playlist → segment
// as a player does, then lets the URL expire.
func TestSignedURLPlaysUntilExpiry(t *testing.T) {
	srv, s, clk := server(t)
	master := s.URL(srv.URL, acme, "vod/rec1/run1/", "vod/rec1/run1/master.m3u8", time.Hour)

	resp, body := get(t, master)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	require.Equal(t, "application/vnd.apple.mpegurl", resp.Header.Get("Content-Type"))
	require.Equal(t, playback.PlaylistCache, resp.Header.Get("Cache-Control"))
	require.Contains(t, body, "#EXT-X-STREAM-INF:")
	variant := firstURI(body)
	require.Contains(t, variant, "sig=", "playlist URIs carry the signature")

	resp, body = get(t, resolve(t, master, variant))
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	seg := firstURI(body)
	require.True(t, strings.HasPrefix(seg, "seg_00000.ts?"), seg)

	segURL := resolve(t, resolve(t, master, variant), seg)
	resp, body = get(t, segURL)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "video/mp2t", resp.Header.Get("Content-Type"))
	require.Equal(t, playback.SegmentCache, resp.Header.Get("Cache-Control"))
	require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
	require.Equal(t, byte(0x47), body[0], "MPEG-TS sync byte")

	resp, body = get(t, segURL, "Range", "bytes=0-187")
	require.Equal(t, http.StatusPartialContent, resp.StatusCode)
	require.Len(t, body, 188)

	poster := s.URL(srv.URL, acme, "vod/rec1/run1/", "vod/rec1/run1/poster.jpg", time.Hour)
	resp, _ = get(t, poster)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "image/jpeg", resp.Header.Get("Content-Type"))

	clk.Add(59 * time.Minute)
	resp, _ = get(t, segURL)
	require.Equal(t, http.StatusOK, resp.StatusCode, "still valid a minute before expiry")
	clk.Add(time.Minute)
	for _, u := range []string{master, segURL, poster} {
		resp, _ = get(t, u)
		require.Equal(t, http.StatusForbidden, resp.StatusCode, "expired: %s", u)
		require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	}
}

// TestTenantIsolation: a URL signed for acme never serves beta's media,
// however it is edited.
func TestTenantIsolation(t *testing.T) {
	srv, s, _ := server(t)
	good := s.URL(srv.URL, acme, "vod/rec1/run1/", "vod/rec1/run1/master.m3u8", time.Hour)
	resp, _ := get(t, good)
	require.Equal(t, http.StatusOK, resp.StatusCode)

	u, err := url.Parse(good)
	require.NoError(t, err)
	q := u.Query()
	tests := map[string]func() string{
		"other tenant's path": func() string {
			return srv.URL + "/media/beta/vod/rec1/run1/master.m3u8?" + q.Encode()
		},
		"tenant parameter edited": func() string {
			q2 := cloneQ(q)
			q2.Set(playback.ParamTenant, "beta")
			return srv.URL + "/media/beta/vod/rec1/run1/master.m3u8?" + q2.Encode()
		},
		"prefix widened": func() string {
			q2 := cloneQ(q)
			q2.Set(playback.ParamPrefix, "")
			return srv.URL + "/media/acme/vod/rec1/run1/master.m3u8?" + q2.Encode()
		},
		"outside prefix": func() string {
			return srv.URL + "/media/acme/vod/rec2/run1/master.m3u8?" + q.Encode()
		},
		"expiry extended": func() string {
			q2 := cloneQ(q)
			q2.Set(playback.ParamExpires, "99999999999")
			return srv.URL + "/media/acme/vod/rec1/run1/master.m3u8?" + q2.Encode()
		},
		"forged signature": func() string {
			q2 := cloneQ(q)
			q2.Set(playback.ParamSig, strings.Repeat("A", 43))
			return srv.URL + "/media/acme/vod/rec1/run1/master.m3u8?" + q2.Encode()
		},
		"no signature": func() string { return srv.URL + "/media/acme/vod/rec1/run1/master.m3u8" },
	}
	for name, mk := range tests {
		t.Run(name, func(t *testing.T) {
			resp, _ := get(t, mk())
			require.Equal(t, http.StatusForbidden, resp.StatusCode)
		})
	}
	// beta's own URL works for beta.
	resp, _ = get(t, s.URL(srv.URL, beta, "vod/rec1/run1/", "vod/rec1/run1/master.m3u8", time.Hour))
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

func cloneQ(q url.Values) url.Values {
	c := url.Values{}
	for k, v := range q {
		c[k] = append([]string(nil), v...)
	}
	return c
}

func TestTraversalAndMethods(t *testing.T) {
	srv, s, _ := server(t)
	q := s.Sign(acme, "", start.Add(time.Hour)).Encode() // the whole tenant
	for _, p := range []string{
		"/media/acme/../beta/vod/rec1/run1/master.m3u8",
		"/media/acme/vod/rec1/run1/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
		"/media/acme/.hidden",
		"/media/ACME/vod/rec1/run1/master.m3u8",
		"/media/acme/vod/rec1/run1/missing.ts",
		"/media/acme",
	} {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL, nil)
		require.NoError(t, err)
		req.URL.Opaque = p // send the path as written, without client-side cleaning
		req.URL.RawQuery = q
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
		require.Contains(t, []int{http.StatusNotFound, http.StatusForbidden, http.StatusMovedPermanently}, resp.StatusCode, p)
		require.NotEqual(t, http.StatusOK, resp.StatusCode, p)
	}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost,
		srv.URL+"/media/acme/vod/rec1/run1/master.m3u8?"+q, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)

	req, err = http.NewRequestWithContext(context.Background(), http.MethodHead,
		srv.URL+"/media/acme/vod/rec1/run1/master.m3u8?"+q, nil)
	require.NoError(t, err)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NotEmpty(t, resp.Header.Get("Content-Length"))
}

func TestSignerVerify(t *testing.T) {
	_, err := playback.NewSigner([]byte("short"))
	require.ErrorIs(t, err, playback.ErrKey)
	clk := &clock{t: start}
	old, err := playback.NewSigner(key2)
	require.NoError(t, err)
	cur, err := playback.NewSigner(key, key2)
	require.NoError(t, err)
	cur = cur.WithClock(clk.Now)
	exp := start.Add(time.Minute)

	require.NoError(t, cur.Verify(acme, "vod/r/a.ts", old.Sign(acme, "vod/r/", exp)), "rotated-out key still verifies")
	require.NoError(t, cur.Verify(acme, "vod/r/poster.jpg", cur.Sign(acme, "vod/r/poster.jpg", exp)), "single-file grant")
	require.ErrorIs(t, cur.Verify(acme, "vod/r/a.ts", cur.Sign(acme, "vod/r/poster.jpg", exp)), playback.ErrForbidden)
	require.ErrorIs(t, cur.Verify(acme, "vod/r2/a.ts", cur.Sign(acme, "vod/r", exp)), playback.ErrForbidden,
		"a prefix without a slash is one file, not vod/r*")
	other, err := playback.NewSigner([]byte("another key, also 32 bytes long!"))
	require.NoError(t, err)
	require.ErrorIs(t, cur.Verify(acme, "vod/r/a.ts", other.Sign(acme, "vod/r/", exp)), playback.ErrForbidden)
	bad := cur.Sign(acme, "vod/r/", exp)
	bad.Set(playback.ParamExpires, "soon")
	require.ErrorIs(t, cur.Verify(acme, "vod/r/a.ts", bad), playback.ErrForbidden)
}

// FuzzVerify: no query an attacker makes up verifies.
func FuzzVerify(f *testing.F) {
	s, err := playback.NewSigner(key)
	if err != nil {
		f.Fatal(err)
	}
	f.Add("acme", "vod/", "4102444800", "AAAA", "vod/a.ts")
	f.Fuzz(func(t *testing.T, tn, prefix, exp, sig, path string) {
		q := url.Values{playback.ParamTenant: {tn}, playback.ParamPrefix: {prefix}, playback.ParamExpires: {exp}, playback.ParamSig: {sig}}
		if err := s.Verify(acme, path, q); err == nil {
			t.Fatalf("forged query verified: %v", q)
		}
	})
}
