package api_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/scheduler/api"
	"github.com/plenaryhq/plenary/scheduler/internal/testfiles"
)

// serve runs one request through the registered handlers (no network).
func serve(b *testing.B, mux http.Handler, method, path, token string, body []byte) int {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	return rec.Code
}

// BenchmarkImportFOSDEM2026 is the import time of docs/benchmarks.md:
// fosdem-2026.xml (883 events) POSTed through the REST handler into the
// embedded store. "first" imports into an empty convention (every session
// created, the convention deleted again outside the timer); "reimport"
// imports the same file again (parsed, compared, nothing written).
func BenchmarkImportFOSDEM2026(b *testing.B) {
	e := newEnv(b, api.Config{})
	org := e.token(b, tenantA, auth.RoleOrganizer, "org")
	mux := http.NewServeMux()
	e.h.Register(mux)
	data := testfiles.Read(b, "fosdem-2026.xml")
	b.Run("first", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if code := serve(b, mux, "POST", "/v1/conventions/bench/schedule", org, data); code != 200 {
				b.Fatalf("import: %d", code)
			}
			b.StopTimer()
			if code := serve(b, mux, "DELETE", "/v1/conventions/bench", org, nil); code != 204 {
				b.Fatalf("delete: %d", code)
			}
			b.StartTimer()
		}
	})
	b.Run("reimport", func(b *testing.B) {
		if code := serve(b, mux, "POST", "/v1/conventions/bench/schedule", org, data); code != 200 {
			b.Fatalf("import: %d", code)
		}
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if code := serve(b, mux, "POST", "/v1/conventions/bench/schedule", org, data); code != 200 {
				b.Fatalf("reimport: %d", code)
			}
		}
	})
}

// BenchmarkNowNext is the now/next query latency of docs/benchmarks.md on
// FOSDEM 2026 (30 rooms): "handler" is a full GET .../now through the
// middleware (token verification included) with the timetable cached;
// "timetable" is the in-memory lookup alone.
func BenchmarkNowNext(b *testing.B) {
	e := newEnv(b, api.Config{})
	org := e.token(b, tenantA, auth.RoleOrganizer, "org")
	att := e.token(b, tenantA, auth.RoleAttendee, "ada")
	mux := http.NewServeMux()
	e.h.Register(mux)
	if code := serve(b, mux, "POST", "/v1/conventions/fosdem/schedule", org, testfiles.Read(b, "fosdem-2026.xml")); code != 200 {
		b.Fatalf("import: %d", code)
	}
	if code := serve(b, mux, "POST", "/v1/conventions/fosdem/publish", org, nil); code != 200 {
		b.Fatalf("publish: %d", code)
	}
	tt, err := e.cat.Timetable(b.Context(), tenantA, "fosdem")
	if err != nil {
		b.Fatal(err)
	}
	at := tt.Schedule().Sessions[200].Start.Add(10 * time.Minute)
	path := "/v1/conventions/fosdem/now?at=" + url.QueryEscape(at.Format(time.RFC3339))
	b.Run("handler", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if code := serve(b, mux, "GET", path, att, nil); code != 200 {
				b.Fatalf("now: %d", code)
			}
		}
	})
	b.Run("timetable", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if len(tt.NowNext(at, "")) == 0 {
				b.Fatal("nothing on")
			}
		}
	})
}
