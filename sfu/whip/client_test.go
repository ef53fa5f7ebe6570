package whip_test

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/sfu"
	"github.com/plenaryhq/plenary/sfu/whip"
)

// This file is the test harness: an SFU with both handlers behind an
// httptest server, tokens from a static key, and Pion clients that behave
// like OBS (WHIP) and a WHEP player.

var acme = tenant.MustParse("acme")

// staticKeys is an auth.KeySource with one key per tenant, no store.
type staticKeys map[tenant.ID]auth.Key

func (k staticKeys) SigningKey(_ context.Context, t tenant.ID) (auth.Key, error) {
	key, ok := k[t]
	if !ok {
		return auth.Key{}, auth.ErrUnknownTenant
	}
	return key, nil
}

func (k staticKeys) VerificationKey(ctx context.Context, t tenant.ID, kid string) (auth.Key, error) {
	key, err := k.SigningKey(ctx, t)
	if err != nil {
		return auth.Key{}, err
	}
	if key.ID != kid {
		return auth.Key{}, auth.ErrUnknownKey
	}
	return key, nil
}

type env struct {
	t        *testing.T
	sfu      *sfu.SFU
	ingest   *whip.Handler
	playback *whip.Handler
	srv      *httptest.Server
	issuer   *auth.Issuer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	secret := make([]byte, auth.SecretSize)
	_, _ = crand.Read(secret)
	keys := staticKeys{acme: {ID: "k1", Secret: secret, Created: time.Now()}}
	s, err := sfu.New(sfu.Config{BindIP: "127.0.0.1", IncludeLoopback: true, TCPPort: -1,
		InitialBitrate: 5_000_000}, nil)
	require.NoError(t, err)
	opts := whip.Options{Verifier: auth.NewVerifier(keys, auth.VerifierOptions{})}
	e := &env{t: t, sfu: s, ingest: whip.NewIngest(s, opts), playback: whip.NewPlayback(s, opts),
		issuer: auth.NewIssuer(keys, auth.IssuerOptions{})}
	mux := http.NewServeMux()
	e.ingest.Register(mux, "/v1/whip")
	e.playback.Register(mux, "/v1/whep/")
	e.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		e.srv.Close()
		require.NoError(t, e.ingest.Close())
		require.NoError(t, e.playback.Close())
		require.NoError(t, s.Close())
	})
	return e
}

func (e *env) token(sub string, role auth.Role, rooms ...string) string {
	e.t.Helper()
	tok, err := e.issuer.Mint(context.Background(), auth.MintRequest{Tenant: acme, Subject: sub, Role: role, Rooms: rooms})
	require.NoError(e.t, err)
	return tok
}

// do sends one request and returns status, headers and body.
func (e *env) do(method, path, token, ctype, body string) (int, http.Header, string) {
	e.t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, e.srv.URL+path, bytes.NewBufferString(body))
	require.NoError(e.t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := e.srv.Client().Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return resp.StatusCode, resp.Header, string(b)
}

func clientAPI(t *testing.T) *webrtc.API {
	t.Helper()
	me := &webrtc.MediaEngine{}
	require.NoError(t, me.RegisterDefaultCodecs())
	reg := &interceptor.Registry{}
	require.NoError(t, webrtc.RegisterDefaultInterceptors(me, reg))
	var se webrtc.SettingEngine
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetICEMulticastDNSMode(0)
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))
}

// post sends pc's complete offer to path and applies the answer; it returns
// the session's Location.
func (e *env) post(pc *webrtc.PeerConnection, path, token string) string {
	e.t.Helper()
	offer, err := pc.CreateOffer(nil)
	require.NoError(e.t, err)
	gathered := webrtc.GatheringCompletePromise(pc)
	require.NoError(e.t, pc.SetLocalDescription(offer))
	<-gathered
	status, h, body := e.do(http.MethodPost, path, token, "application/sdp", pc.LocalDescription().SDP)
	require.Equal(e.t, http.StatusCreated, status, body)
	require.Equal(e.t, "application/sdp", h.Get("Content-Type"))
	loc := h.Get("Location")
	require.NotEmpty(e.t, loc)
	require.NoError(e.t, pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: body}))
	return loc
}

// obs is a WHIP publisher sending fake H.264 (an SPS-led keyframe every
// second and on PLI) and Opus.
type obs struct {
	pc       *webrtc.PeerConnection
	location string
	stop     chan struct{}
	wg       sync.WaitGroup
	plis     atomic.Int64
}

func (e *env) startOBS(room, token string) *obs {
	e.t.Helper()
	pc, err := clientAPI(e.t).NewPeerConnection(webrtc.Configuration{})
	require.NoError(e.t, err)
	video, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, "video", "obs")
	require.NoError(e.t, err)
	audio, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "obs")
	require.NoError(e.t, err)
	vs, err := pc.AddTransceiverFromTrack(video, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	require.NoError(e.t, err)
	_, err = pc.AddTransceiverFromTrack(audio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	require.NoError(e.t, err)
	o := &obs{pc: pc, stop: make(chan struct{})}
	o.location = e.post(pc, "/v1/whip/"+room, token)
	var keyWanted atomic.Bool
	o.wg.Add(3)
	go func() {
		defer o.wg.Done()
		for {
			pkts, _, err := vs.Sender().ReadRTCP()
			if err != nil {
				return
			}
			for _, p := range pkts {
				if _, ok := p.(*rtcp.PictureLossIndication); ok {
					o.plis.Add(1)
					keyWanted.Store(true)
				}
			}
		}
	}()
	go o.send(video, 33*time.Millisecond, 3000, func(frame int) []byte {
		if frame%30 == 0 || keyWanted.Swap(false) {
			return []byte{0x67, 0x42, 0xe0, 0x1f, 0xaa} // SPS (NAL 7): a switch point
		}
		return append([]byte{0x41}, make([]byte, 900)...) // non-IDR slice (NAL 1)
	})
	go o.send(audio, 20*time.Millisecond, 960, func(int) []byte { return make([]byte, 80) })
	e.t.Cleanup(o.close)
	return o
}

func (o *obs) send(tr *webrtc.TrackLocalStaticRTP, every time.Duration, tsStep uint32, payload func(frame int) []byte) {
	defer o.wg.Done()
	tick := time.NewTicker(every)
	defer tick.Stop()
	seq, ts := uint16(rand.Uint32()), rand.Uint32()
	for frame := 0; ; frame++ {
		select {
		case <-o.stop:
			return
		case <-tick.C:
		}
		seq++
		ts += tsStep
		if err := tr.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, Marker: true}, Payload: payload(frame)}); err != nil {
			return
		}
	}
}

func (o *obs) close() {
	select {
	case <-o.stop:
	default:
		close(o.stop)
	}
	_ = o.pc.Close()
	o.wg.Wait()
}

// viewer is a WHEP player with one audio and one video receive section.
type viewer struct {
	pc       *webrtc.PeerConnection
	location string
	mu       sync.Mutex
	packets  map[webrtc.RTPCodecType]int
	mimes    map[webrtc.RTPCodecType]string
	seqs     map[webrtc.RTPCodecType][]uint16
	ssrcs    map[webrtc.RTPCodecType]map[uint32]bool
}

func (e *env) startViewer(room, token string) *viewer {
	e.t.Helper()
	pc, err := clientAPI(e.t).NewPeerConnection(webrtc.Configuration{})
	require.NoError(e.t, err)
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		_, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
		require.NoError(e.t, err)
	}
	v := &viewer{pc: pc, packets: map[webrtc.RTPCodecType]int{}, mimes: map[webrtc.RTPCodecType]string{},
		seqs: map[webrtc.RTPCodecType][]uint16{}, ssrcs: map[webrtc.RTPCodecType]map[uint32]bool{}}
	pc.OnTrack(func(remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		kind := remote.Kind()
		v.mu.Lock()
		v.mimes[kind] = remote.Codec().MimeType
		v.mu.Unlock()
		for {
			pkt, _, err := remote.ReadRTP()
			if err != nil {
				return
			}
			v.mu.Lock()
			v.packets[kind]++
			v.seqs[kind] = append(v.seqs[kind], pkt.SequenceNumber)
			if v.ssrcs[kind] == nil {
				v.ssrcs[kind] = map[uint32]bool{}
			}
			v.ssrcs[kind][pkt.SSRC] = true
			v.mu.Unlock()
		}
	})
	v.location = e.post(pc, "/v1/whep/"+room, token)
	e.t.Cleanup(func() { _ = pc.Close() })
	return v
}

func (v *viewer) count(kind webrtc.RTPCodecType) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.packets[kind]
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func roomTracks(t *testing.T, s *sfu.SFU, room string) int {
	t.Helper()
	r, ok := s.LookupRoom(acme, sfu.RoomID(room))
	if !ok {
		return 0
	}
	return len(r.Tracks())
}
