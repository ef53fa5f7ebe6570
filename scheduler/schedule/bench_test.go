package schedule

import (
	"io"
	"testing"
	"time"
)

func benchImport(b *testing.B, name string, f Format) {
	data := readSchedule(b, name)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := (Limits{}).ImportBytes(data, f); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkImportFOSDEM2026 is the import-time figure of docs/benchmarks.md.
func BenchmarkImportFOSDEM2026(b *testing.B) { benchImport(b, "fosdem-2026.xml", FormatFrabXML) }

func BenchmarkImport39C3JSON(b *testing.B) { benchImport(b, "39c3.schedule.json", FormatC3VOCJSON) }

func BenchmarkExport(b *testing.B) {
	s := importFile(b, "fosdem-2026.xml", FormatFrabXML)
	for _, f := range []Format{FormatFrabXML, FormatC3VOCJSON, FormatICal} {
		b.Run(f.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if f == FormatICal {
					err = ExportICal(io.Discard, s, time.Time{})
				} else {
					err = Export(io.Discard, s, f)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkConflicts39C3(b *testing.B) {
	s := importFile(b, "39c3.schedule.json", FormatC3VOCJSON)
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Conflicts()
	}
}
