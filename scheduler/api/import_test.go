package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/scheduler/api"
	"github.com/plenaryhq/plenary/scheduler/internal/testfiles"
	"github.com/plenaryhq/plenary/scheduler/schedule"
)

// TestImportRealFiles imports each real file through the REST API, checks
// the summary the issue asks for, re-imports it (nothing created or
// updated), and reads it back in every export format.
func TestImportRealFiles(t *testing.T) {
	e := newEnv(t, api.Config{})
	org := e.token(t, tenantA, auth.RoleOrganizer, "org")
	tests := []struct {
		file, slug, ctype   string
		format              string
		days, rooms, events int
	}{
		{"fosdem-2026.xml", "fosdem-2026", "application/xml", "", 2, 30, 883},
		{"39c3.schedule.json", "39c3-json", "application/json", "", 4, 58, 895},
		{"39c3.schedule.xml", "39c3-xml", "text/xml", "frab-xml", 4, 58, 895},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			data := testfiles.Read(t, tc.file)
			path := "/v1/conventions/" + tc.slug + "/schedule"
			if tc.format != "" {
				path += "?format=" + tc.format
			}
			r := e.do(t, "POST", path, org, data, tc.ctype)
			require.Equal(t, http.StatusOK, r.status, "%s", r.body)
			var sum api.ImportSummary
			require.NoError(t, json.Unmarshal(r.body, &sum))
			require.Equal(t, [3]int{tc.days, tc.rooms, tc.events}, [3]int{sum.Days, sum.Rooms, sum.Events})
			require.Equal(t, tc.events, sum.Created)
			require.Zero(t, sum.Updated+sum.Unchanged+sum.Deleted)

			r = e.do(t, "POST", path, org, data, tc.ctype)
			require.Equal(t, http.StatusOK, r.status, "%s", r.body)
			sum = api.ImportSummary{}
			require.NoError(t, json.Unmarshal(r.body, &sum))
			require.Zero(t, sum.Created, "re-import creates nothing")
			require.Zero(t, sum.Updated, "re-import updates nothing")
			require.Equal(t, tc.events, sum.Unchanged)

			for _, f := range []string{"xml", "json", "ics"} {
				r := e.do(t, "GET", "/v1/conventions/"+tc.slug+"/schedule."+f, org, nil, "")
				require.Equal(t, http.StatusOK, r.status, "%s", r.body)
				etag := r.header.Get("ETag")
				require.NotEmpty(t, etag)
				req, _ := http.NewRequest("GET", e.srv.URL+"/v1/conventions/"+tc.slug+"/schedule."+f, nil)
				req.Header.Set("Authorization", "Bearer "+org)
				req.Header.Set("If-None-Match", etag)
				resp, err := e.srv.Client().Do(req)
				require.NoError(t, err)
				resp.Body.Close()
				require.Equal(t, http.StatusNotModified, resp.StatusCode)
				if f == "ics" {
					require.Equal(t, tc.events, strings.Count(string(r.body), "BEGIN:VEVENT"))
				}
			}
		})
	}

	// The exported frab XML re-imports to the same sessions.
	t.Run("export round trip", func(t *testing.T) {
		r := e.do(t, "GET", "/v1/conventions/fosdem-2026/schedule.xml", org, nil, "")
		require.Equal(t, http.StatusOK, r.status)
		back, err := schedule.Limits{}.ImportBytes(r.body, schedule.FormatFrabXML)
		require.NoError(t, err)
		require.Equal(t, schedule.Summary{Days: 2, Rooms: 30, Events: 883}, back.Summary())
		r = e.do(t, "POST", "/v1/conventions/fosdem-2026/schedule", org, r.body, "application/xml")
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		var sum api.ImportSummary
		require.NoError(t, json.Unmarshal(r.body, &sum))
		require.Zero(t, sum.Created)
		require.Zero(t, sum.Deleted)
	})
}

// TestImportRejects checks the 4xx answers to bad uploads and that nothing
// is half-imported.
func TestImportRejects(t *testing.T) {
	e := newEnv(t, api.Config{Limits: schedule.Limits{MaxBytes: 256 << 10}})
	org := e.token(t, tenantA, auth.RoleOrganizer, "org")
	good := testfiles.Read(t, "pretalx-rc3.json")
	r := e.do(t, "POST", "/v1/conventions/rc3/schedule", org, good, "application/json")
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)

	broken := strings.Replace(string(good), `"duration": "`, `"duration": "xx`, 1)
	tests := []struct {
		name   string
		path   string
		body   []byte
		status int
		code   api.Code
		msg    string
	}{
		{"invalid field", "/v1/conventions/rc3/schedule", []byte(broken), 400, api.CodeInvalidSchedule, "duration"},
		{"truncated", "/v1/conventions/rc3/schedule", good[:len(good)/2], 400, api.CodeInvalidSchedule, "c3voc-json"},
		{"bad xml", "/v1/conventions/rc3/schedule", []byte("<schedule><conference>\n<title>x</title>\n<day index=\"1\"></conference>"), 400, api.CodeInvalidSchedule, "line"},
		{"unknown content", "/v1/conventions/rc3/schedule", []byte("hello"), 415, api.CodeUnsupportedFormat, ""},
		{"empty", "/v1/conventions/rc3/schedule", nil, 415, api.CodeUnsupportedFormat, ""},
		{"ical import", "/v1/conventions/rc3/schedule?format=ics", good, 415, api.CodeUnsupportedFormat, ""},
		{"unknown format", "/v1/conventions/rc3/schedule?format=pdf", good, 415, api.CodeUnsupportedFormat, ""},
		{"too large", "/v1/conventions/rc3/schedule", []byte(strings.Repeat(" ", 257<<10) + "{}"), 413, api.CodeTooLarge, ""},
		{"bad slug", "/v1/conventions/-x/schedule", good, 404, api.CodeNotFound, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, "POST", tc.path, org, tc.body, "application/octet-stream")
			require.Equal(t, tc.status, r.status, "%s", r.body)
			var body struct{ Error api.Error }
			require.NoError(t, json.Unmarshal(r.body, &body))
			require.Equal(t, tc.code, body.Error.Code)
			require.Contains(t, body.Error.Message, tc.msg)
		})
	}
	// The stored timetable is the good one, untouched.
	r = e.do(t, "GET", "/v1/conventions/rc3/sessions?limit=1", org, nil, "")
	require.Equal(t, http.StatusOK, r.status)
	var list struct{ Total int }
	require.NoError(t, json.Unmarshal(r.body, &list))
	require.Equal(t, 48, list.Total)
}

// TestRoutesMatchOpenAPI checks that every registered route is documented
// and every documented operation is registered.
func TestRoutesMatchOpenAPI(t *testing.T) {
	e := newEnv(t, api.Config{})
	registered := map[string]bool{}
	for _, r := range e.h.Routes() {
		registered[r.Method+" "+r.Path] = true
		item := e.spec.doc.Paths.Find(r.Path)
		require.NotNil(t, item, "route %s %s missing from docs/openapi.yaml", r.Method, r.Path)
		require.NotNil(t, item.GetOperation(r.Method), "operation %s %s missing from docs/openapi.yaml", r.Method, r.Path)
		op := item.GetOperation(r.Method)
		public := op.Security != nil && len(*op.Security) == 0
		require.Equal(t, r.Public, public, "%s %s: security in the document must match", r.Method, r.Path)
	}
	for path, item := range e.spec.doc.Paths.Map() {
		for method := range item.Operations() {
			require.True(t, registered[method+" "+path], "documented %s %s has no handler", method, path)
		}
	}
}
