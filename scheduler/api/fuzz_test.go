package api_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/scheduler/api"
	"github.com/plenaryhq/plenary/scheduler/schedule"
)

// FuzzImportEndpoint posts arbitrary bodies and format names to the import
// endpoint: whatever the input, the answer is never a server error (the
// store is a real embedded FerretDB; accepted inputs are committed).
func FuzzImportEndpoint(f *testing.F) {
	f.Add([]byte(`{"schedule":{"version":"1","conference":{"acronym":"x","title":"X","time_zone_name":"Europe/Berlin","days":[`+
		`{"index":1,"date":"2025-03-29","day_start":"2025-03-29T06:00:00+01:00","day_end":"2025-03-30T06:00:00+02:00",`+
		`"rooms":{"A":[{"guid":"11111111-2222-3333-4444-555555555555","id":1,"title":"t","date":"2025-03-30T01:30:00+01:00",`+
		`"duration":"00:30","persons":[{"name":"P"}]}]}}]}}}`), "")
	f.Add([]byte(`<schedule><version>1</version><conference><title>x</title></conference>`+
		`<day index="1" date="2026-01-31"><room name="R"><event id="5"><title>t</title><start>10:00</start>`+
		`<duration>0:10</duration><persons><person id="1">A</person></persons></event></room></day></schedule>`), "frab-xml")
	f.Add([]byte(`{"schedule":{"conference":{"days":[{"index":1,"date":"2020-12-27","rooms":{}}]}}}`), "json")
	f.Add([]byte("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"), "")
	f.Add([]byte{0xef, 0xbb, 0xbf, '<'}, "xml")
	f.Add([]byte("{}"), "ics")

	e := newEnv(f, api.Config{Limits: schedule.Limits{MaxBytes: 1 << 20, MaxEvents: 200}})
	org := e.token(f, tenantA, auth.RoleOrganizer, "org")
	mux := http.NewServeMux()
	e.h.Register(mux)
	f.Fuzz(func(t *testing.T, body []byte, format string) {
		req := httptest.NewRequest("POST", "/v1/conventions/fuzz/schedule?format="+url.QueryEscape(format), bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+org)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d for format %q: %s", rec.Code, format, rec.Body.String())
		}
	})
}
