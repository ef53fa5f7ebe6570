package schedule

import (
	"bytes"
	"testing"
)

// fuzzLimits keep each fuzz iteration small.
var fuzzLimits = Limits{MaxBytes: 1 << 20, MaxEvents: 500}

// checkImported exercises everything downstream of a successful import: the
// exporters and conflict detection must not fail or panic, and the frab XML
// export must import again with the same sessions.
func checkImported(t *testing.T, s *Schedule) {
	t.Helper()
	_ = s.Summary()
	_ = s.Conflicts()
	for _, f := range []Format{FormatC3VOCJSON, FormatICal} {
		if err := Export(&bytes.Buffer{}, s, f); err != nil {
			t.Fatalf("export %s: %v", f, err)
		}
	}
	var buf bytes.Buffer
	if err := ExportFrabXML(&buf, s); err != nil {
		t.Fatalf("export frab-xml: %v", err)
	}
	back, err := Limits{MaxBytes: 8 << 20}.Import(&buf, FormatFrabXML)
	if err != nil {
		t.Fatalf("re-import of exported frab-xml: %v\n%s", err, buf.String())
	}
	if len(back.Sessions) != len(s.Sessions) {
		t.Fatalf("re-import: %d sessions, want %d", len(back.Sessions), len(s.Sessions))
	}
	for i := range s.Sessions {
		a, b := &s.Sessions[i], &back.Sessions[i]
		if a.GUID != b.GUID || !a.Start.Equal(b.Start) || a.Duration != b.Duration || a.Room != b.Room || a.Title != b.Title {
			t.Fatalf("re-import changed session %d:\n%+v\n%+v", i, *a, *b)
		}
	}
}

func FuzzImportFrab(f *testing.F) {
	f.Add([]byte(frabDoc(`<time_zone_name>Europe/Berlin</time_zone_name><day_change>06:00</day_change>`, "",
		frabEvent("11111111-2222-3333-4444-555555555555", "", "01:30", "00:30"))))
	f.Add([]byte(frabDoc("", ` start="2025-03-29T06:00:00+01:00" end="2025-03-30T06:00:00+02:00"`,
		frabEvent("11111111-2222-3333-4444-555555555555", "2025-03-29T10:00:00+01:00", "10:00", "01:00"))))
	f.Add([]byte(`<schedule><version>1</version><conference><title>x</title></conference>` +
		`<day index="1" date="2026-01-31"><room name="R"><event id="5"><title>t</title><start>10:00</start>` +
		`<duration>0:10</duration><persons><person id="1">A</person></persons>` +
		`<links><link href="https://e.org/">l</link></links><recording><optout>true</optout></recording></event></room></day></schedule>`))
	f.Add([]byte(`<?xml version="1.0" encoding="ISO-8859-1"?><schedule><day date="2026-01-31"/></schedule>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := fuzzLimits.ImportBytes(data, FormatFrabXML)
		if err != nil {
			return
		}
		checkImported(t, s)
	})
}

func FuzzImportC3VOC(f *testing.F) {
	f.Add([]byte(`{"schedule":{"version":"1","conference":{"acronym":"x-test","title":"X","time_zone_name":"Europe/Berlin","days":[` +
		`{"index":1,"date":"2025-03-29","day_start":"2025-03-29T06:00:00+01:00","day_end":"2025-03-30T06:00:00+02:00",` +
		`"rooms":{"A":[{"guid":"11111111-2222-3333-4444-555555555555","id":1,"title":"t","date":"2025-03-30T01:30:00+01:00",` +
		`"duration":"00:30","persons":[{"guid":"21111111-2222-3333-4444-555555555555","name":"P"}],"links":[{"url":"https://e.org/","title":"l"}]}]}}]}}}`))
	f.Add([]byte(`{"schedule":{"conference":{"days":[{"date":"2020-12-27","rooms":{"R":[{"id":"7","title":"x","start":"03:00","end":"2020-12-28T04:00:00+01:00","do_not_record":"yes"}]}}]}}}`))
	f.Add([]byte(`{"schedule":{"conference":{"days":[{"index":1,"date":"2020-12-27","rooms":{}}]}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := fuzzLimits.ImportBytes(data, FormatC3VOCJSON)
		if err != nil {
			return
		}
		checkImported(t, s)
	})
}
