package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/protocol"
	"github.com/plenaryhq/plenary/signaling/client"
	"github.com/plenaryhq/plenary/signaling/client/peer"
)

// The speakers of the browser tests are Go (Pion) participants that send
// real VP8 — a clip ffmpeg encodes once per run — so that Chromium decodes
// and shows their video. (signaling/client/peer's synthetic source is made
// for forwarding tests and is not decodable.)

var (
	clipOnce sync.Once
	clipPath string
	clipErr  error
)

// vp8Clip returns an IVF file of 4 s of VP8 test pattern at 15 fps with a
// keyframe every second.
func vp8Clip(t *testing.T) string {
	t.Helper()
	_, err := exec.LookPath("ffmpeg")
	need(t, err == nil, "ffmpeg not found")
	clipOnce.Do(func() {
		clipPath = filepath.Join(buildDir, "clip.ivf")
		out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
			"-f", "lavfi", "-i", "testsrc=size=640x360:rate=15", "-t", "4",
			"-c:v", "libvpx", "-g", "15", "-deadline", "realtime", "-b:v", "400k", clipPath).CombinedOutput()
		if err != nil {
			clipErr = errors.New(err.Error() + ": " + string(out))
		}
	})
	if clipErr != nil {
		t.Fatalf("encode test clip: %v", clipErr)
	}
	return clipPath
}

// publisher is a Pion participant publishing the clip in a loop.
type publisher struct {
	id string
}

// startPublisher joins room as a speaker and publishes video.
func (s *stack) startPublisher(t *testing.T, room, name string) *publisher {
	t.Helper()
	clip := vp8Clip(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })

	tok := s.token(t, "pion-"+suffix(), name, auth.RoleSpeaker)
	c, err := client.Dial(ctx, s.wsURL(), tok, client.Options{})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	media := true
	jctx, jcancel := context.WithTimeout(ctx, wait)
	j, err := c.Join(jctx, room, client.JoinOptions{Tenant: demoTenant, Media: &media})
	jcancel()
	if err != nil {
		t.Fatalf("join: %v", err)
	}
	api, err := peer.NewAPI()
	if err != nil {
		t.Fatal(err)
	}
	// peer answers the subscriber offers; the publisher is ours.
	sub, err := peer.New(c, room, api)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Close)
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "cam", "pion")
	if err != nil {
		t.Fatal(err)
	}
	sender, err := pc.AddTrack(track)
	if err != nil {
		t.Fatal(err)
	}
	wg.Add(1)
	go func() { // RTCP must be read for the interceptors to run
		defer wg.Done()
		buf := make([]byte, 1500)
		for {
			if _, _, err := sender.Read(buf); err != nil {
				return
			}
		}
	}()

	var mu sync.Mutex
	var remoteSet bool
	var held []webrtc.ICECandidateInit
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-c.Events():
				if !ok {
					return
				}
				if ev.Type == "media.ice" {
					var d struct {
						Target    string                  `json:"target"`
						Candidate webrtc.ICECandidateInit `json:"candidate"`
					}
					if json.Unmarshal(ev.Data, &d) == nil && d.Target == "publisher" {
						mu.Lock()
						if remoteSet {
							_ = pc.AddICECandidate(d.Candidate)
						} else {
							held = append(held, d.Candidate)
						}
						mu.Unlock()
						continue
					}
				}
				handleMedia(ctx, t, sub, ev)
			}
		}
	}()

	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered // all our candidates go in the offer: no trickle from this side
	rctx, rcancel := context.WithTimeout(ctx, wait)
	r, err := c.Request(rctx, "media.offer", room, map[string]string{"type": "offer", "sdp": pc.LocalDescription().SDP})
	rcancel()
	if err != nil {
		t.Fatalf("media.offer: %v", err)
	}
	var ans struct {
		SDP string `json:"sdp"`
	}
	if err := json.Unmarshal(r.Data, &ans); err != nil {
		t.Fatal(err)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: ans.SDP}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	remoteSet = true
	for _, cand := range held {
		_ = pc.AddICECandidate(cand)
	}
	mu.Unlock()

	wg.Add(1)
	go func() {
		defer wg.Done()
		sendClip(ctx, t, clip, track)
	}()
	return &publisher{id: j.Self.ID}
}

// sendClip writes the clip's frames at 15 fps, looping, until ctx ends.
func sendClip(ctx context.Context, t *testing.T, path string, track *webrtc.TrackLocalStaticSample) {
	tick := time.NewTicker(time.Second / 15)
	defer tick.Stop()
	for ctx.Err() == nil {
		f, err := os.Open(path)
		if err != nil {
			t.Errorf("open clip: %v", err)
			return
		}
		r, _, err := ivfreader.NewWith(f)
		if err != nil {
			_ = f.Close()
			t.Errorf("read clip: %v", err)
			return
		}
		for {
			frame, _, err := r.ParseNextFrame()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				break
			}
			select {
			case <-ctx.Done():
				_ = f.Close()
				return
			case <-tick.C:
			}
			if err := track.WriteSample(media.Sample{Data: frame, Duration: time.Second / 15}); err != nil {
				_ = f.Close()
				return
			}
		}
		_ = f.Close()
	}
}

// handleMedia passes a signaling event to the subscriber side.
func handleMedia(ctx context.Context, t *testing.T, p *peer.Peer, ev *protocol.Envelope) {
	if _, err := p.HandleEvent(ctx, ev); err != nil && ctx.Err() == nil {
		t.Logf("publisher: media event %s: %v", ev.Type, err)
	}
}
