package testmedia

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/recorder"
)

// Participant is one publisher in a scripted recording.
type Participant struct {
	// Name is the participant ID.
	Name string
	// Media is what they publish (video and audio).
	Media Media
	// Join is when their first packets arrive, after the recording starts.
	Join time.Duration
	// Cut, when positive, stops their media at that point of their clip.
	Cut time.Duration
	// NoVideo and NoAudio leave a track out.
	NoVideo, NoAudio bool
}

// Clock is a settable clock.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock starts at a fixed date.
func NewClock() *Clock { return &Clock{t: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Record writes a recording of the participants into dir/<id> as fast as
// the CPU allows, with a fake clock placing every packet at its due time.
// With kill set, nothing is closed at the end, as if the recorder died.
func Record(tb testing.TB, dir, id string, ps []Participant, kill bool) string {
	tb.Helper()
	clk := NewClock()
	t0 := clk.Now()
	rdir := filepath.Join(dir, id)
	rec, err := recorder.Create(rdir, recorder.Info{ID: id, Tenant: tenant.MustParse("acme"), Session: "session-" + id},
		recorder.Options{Now: clk.Now})
	if err != nil {
		tb.Fatalf("record: %v", err)
	}
	var all [][]Packet
	writers := map[int]map[string]recorder.Writer{}
	for i, p := range ps {
		var lists [][]Packet
		if !p.NoVideo {
			lists = append(lists, p.Media.VideoPackets(tb, uint32(100+i))) //nolint:gosec // small
		}
		if !p.NoAudio {
			lists = append(lists, p.Media.AudioPackets(tb, uint32(200+i))) //nolint:gosec // small
		}
		var mine []Packet
		for _, pk := range Merge(lists...) {
			if p.Cut > 0 && pk.At >= p.Cut {
				continue
			}
			pk.At += p.Join
			pk.RTP.SSRC = uint32(i) //nolint:gosec // tag the owner; writers ignore SSRC
			mine = append(mine, pk)
		}
		all = append(all, mine)
		writers[i] = map[string]recorder.Writer{}
	}
	for _, pk := range Merge(all...) {
		i := int(pk.RTP.SSRC)
		clk.Set(t0.Add(pk.At))
		w := writers[i][pk.Kind]
		if w == nil {
			kind, codec := recorder.KindAudio, "audio/opus"
			if pk.Kind == "video" {
				kind = recorder.KindVideo
				codec = map[string]string{"vp8": "video/VP8", "h264": "video/H264"}[ps[i].Media.Spec.VideoCodec]
			}
			w, err = rec.AddTrack(recorder.TrackSpec{Kind: kind, Codec: codec, Participant: ps[i].Name})
			if err != nil {
				tb.Fatalf("record: %v", err)
			}
			writers[i][pk.Kind] = w
		}
		if err := w.WriteRTP(pk.RTP); err != nil {
			tb.Fatalf("record: %v", err)
		}
	}
	if !kill {
		if err := rec.Close(); err != nil {
			tb.Fatalf("record: %v", err)
		}
	}
	return rdir
}
