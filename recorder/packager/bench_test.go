package packager_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/plenaryhq/plenary/recorder/internal/testmedia"
	"github.com/plenaryhq/plenary/recorder/packager"
)

// BenchmarkPackage720p packages a 30 s 720p VP8+Opus recording into the
// default ladder (720p + 360p, 4 s segments, x264 veryfast) and reports the
// speed as × real time. Run it with -benchtime=1x: one iteration takes
// tens of seconds.
func BenchmarkPackage720p(b *testing.B) {
	media := testmedia.Generate(b, testmedia.Spec{Width: 1280, Height: 720, Seconds: 30, KeyframeSeconds: 1})
	dir := b.TempDir()
	in := testmedia.Record(b, dir, "bench", []testmedia.Participant{{Name: "alice", Media: media}}, false)
	b.ResetTimer()
	var mediaSeconds float64
	start := time.Now()
	for i := range b.N {
		res, err := packager.Package(context.Background(), in, filepath.Join(dir, fmt.Sprintf("out%d", i)), packager.Options{}, nil)
		if err != nil {
			b.Fatal(err)
		}
		mediaSeconds += res.Duration
	}
	b.ReportMetric(mediaSeconds/time.Since(start).Seconds(), "x_realtime")
}
