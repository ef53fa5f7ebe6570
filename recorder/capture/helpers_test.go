package capture_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/bus"
	"github.com/plenaryhq/plenary/internal/noderegistry"
	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/internal/testenv"
	"github.com/plenaryhq/plenary/recorder/capture"
	"github.com/plenaryhq/plenary/recorder/internal/testmedia"
	"github.com/plenaryhq/plenary/sfu"
	"github.com/plenaryhq/plenary/signaling"
	"github.com/plenaryhq/plenary/signaling/sfunode"
	"github.com/plenaryhq/plenary/signaling/sfurpc"
)

var acme = tenant.MustParse("acme")

func quietLog() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// loopbackSettings keeps ICE on 127.0.0.1, as every network test does.
func loopbackSettings() webrtc.SettingEngine {
	var se webrtc.SettingEngine
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetICEMulticastDNSMode(0)
	return se
}

func newSFU(t testing.TB) *sfu.SFU {
	t.Helper()
	s, err := sfu.New(sfu.Config{BindIP: "127.0.0.1", IncludeLoopback: true, TCPPort: -1}, quietLog())
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// transport is how a test's recorder reaches the SFU node.
type transport struct {
	name string
	sel  func(t testing.TB, s *sfu.SFU) signaling.NodeSelector
}

// transports are the two shapes the recorder runs in: in the SFU's process
// (sfunode, called directly) and in another process (sfurpc over a Redis
// bus, the node found in the Redis node registry).
var transports = []transport{{"sfunode", inProcess}, {"sfurpc-redis", overRedis}}

// inProcess is the recorder and the SFU in one process, as `plenary serve`
// runs them without Redis.
func inProcess(_ testing.TB, s *sfu.SFU) signaling.NodeSelector {
	return signaling.SingleNode{Node: sfunode.New("node-a", s)}
}

// overRedis serves s over a Redis bus as node "node-a", registered in a Redis
// node registry, and returns the selector a recorder process would build:
// its own bus connection, registry and RPC client, sharing only Redis with
// the SFU's side.
func overRedis(t testing.TB, s *sfu.SFU) signaling.NodeSelector {
	t.Helper()
	url, prefix := testenv.RedisURL(t), testenv.UniquePrefix()
	serveOverRedis(t, s, url, prefix)
	return remoteSelector(t, url, prefix)
}

func redisBus(t testing.TB, url, prefix string) bus.Bus {
	t.Helper()
	b, err := bus.NewRedisBus(context.Background(), bus.RedisConfig{URL: url, Prefix: prefix}, quietLog())
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func redisRegistry(t testing.TB, url, prefix string) *noderegistry.RedisRegistry {
	t.Helper()
	r, err := noderegistry.NewRedisRegistry(context.Background(), noderegistry.RedisConfig{URL: url, Prefix: prefix}, quietLog())
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// serveOverRedis is the SFU process's side: s served over the bus RPC as
// node "node-a" and listed in the node registry.
func serveOverRedis(t testing.TB, s *sfu.SFU, url, prefix string) *sfurpc.Server {
	t.Helper()
	node := sfunode.New("node-a", s)
	// A recorder that stops pinging loses its session after 5 s.
	srv, err := sfurpc.NewServer(redisBus(t, url, prefix), node, sfurpc.Config{SessionTTL: 5 * time.Second}, quietLog())
	require.NoError(t, err)
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Run(ctx) }()
	t.Cleanup(func() { stop(); require.NoError(t, <-served) })
	require.NoError(t, redisRegistry(t, url, prefix).Heartbeat(ctx, noderegistry.Node{ID: node.ID(), Region: "local"}, time.Hour))
	return srv
}

// remoteSelector is the recorder process's side: its own bus connection,
// node registry and RPC client.
func remoteSelector(t testing.TB, url, prefix string) signaling.NodeSelector {
	t.Helper()
	client, err := sfurpc.NewClient(context.Background(), redisBus(t, url, prefix), "recorder-test",
		sfurpc.Config{KeepAlive: 500 * time.Millisecond}, quietLog())
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close() })
	waitServed(t, client.Node("node-a"))
	return &sfurpc.Selector{Registry: redisRegistry(t, url, prefix), Client: client}
}

// waitServed returns once the node answers over the bus, so that a test does
// not race the server's subscription.
func waitServed(t testing.TB, n signaling.MediaNode) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		ms, err := n.Join(ctx, "probe", "probe", "probe", signaling.MediaJoinOptions{Hidden: true})
		cancel()
		if err == nil {
			ms.Leave()
			return
		}
		// Not subscribed yet: the request reached nobody (ErrUnreachable,
		// at once) or, on a bus that does not count, went unanswered.
		unreachable := errors.Is(err, sfurpc.ErrUnreachable)
		require.True(t, unreachable || errors.Is(err, sfurpc.ErrTimeout), "the node answered with an error: %v", err)
		require.True(t, time.Now().Before(deadline), "node %s never answered over the bus", n.ID())
		if unreachable {
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func recorderAPI(t testing.TB) *webrtc.API {
	t.Helper()
	api, err := capture.NewAPI(loopbackSettings())
	require.NoError(t, err)
	return api
}

// publisher is a Pion client that sends a real clip into a room, paced in
// real time, the way a browser would.
type publisher struct {
	p     *sfu.Participant
	pc    *webrtc.PeerConnection
	video *webrtc.TrackLocalStaticRTP
	audio *webrtc.TrackLocalStaticRTP
	mu    sync.Mutex
	up    chan struct{}
	once  sync.Once
}

func publish(t testing.TB, node *sfu.SFU, room sfu.RoomID, id sfu.ParticipantID) *publisher {
	t.Helper()
	ctx := context.Background()
	me := &webrtc.MediaEngine{}
	require.NoError(t, me.RegisterDefaultCodecs())
	require.NoError(t, me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI}, webrtc.RTPCodecTypeAudio))
	reg := &interceptor.Registry{}
	require.NoError(t, webrtc.RegisterDefaultInterceptors(me, reg))
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(loopbackSettings()))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	require.NoError(t, err)
	pub := &publisher{pc: pc, up: make(chan struct{})}
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			pub.once.Do(func() { close(pub.up) })
		}
	})
	pub.video, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "cam", string(id))
	require.NoError(t, err)
	pub.audio, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", string(id))
	require.NoError(t, err)
	for _, tr := range []*webrtc.TrackLocalStaticRTP{pub.video, pub.audio} {
		sender, err := pc.AddTrack(tr)
		require.NoError(t, err)
		go func() { // drain RTCP (PLIs, reports)
			buf := make([]byte, 1500)
			for {
				if _, _, err := sender.Read(buf); err != nil {
					return
				}
			}
		}()
	}
	pub.p, err = node.Join(ctx, acme, room, id, sfu.JoinOptions{})
	require.NoError(t, err)
	// The SFU's candidates may arrive before its answer is applied: they
	// wait for it (a candidate added before the remote description is
	// rejected, and without one the publisher never connects).
	var pending []webrtc.ICECandidateInit
	go func() {
		for ev := range pub.p.Events() {
			if ev.Kind == sfu.EventICECandidate && ev.Target == sfu.TargetPublisher {
				pub.mu.Lock()
				if pc.RemoteDescription() == nil {
					pending = append(pending, ev.Candidate)
				} else {
					_ = pc.AddICECandidate(ev.Candidate)
				}
				pub.mu.Unlock()
			}
		}
	}()
	offer, err := pc.CreateOffer(nil)
	require.NoError(t, err)
	gathered := webrtc.GatheringCompletePromise(pc)
	require.NoError(t, pc.SetLocalDescription(offer))
	<-gathered
	answer, err := pub.p.HandlePublisherOffer(ctx, *pc.LocalDescription())
	require.NoError(t, err)
	pub.mu.Lock()
	err = pc.SetRemoteDescription(answer)
	for _, c := range pending {
		_ = pc.AddICECandidate(c)
	}
	pending = nil
	pub.mu.Unlock()
	require.NoError(t, err)
	select {
	case <-pub.up:
	case <-time.After(30 * time.Second): // generous: the race detector on a loaded machine
		t.Fatal("publisher did not connect")
	}
	t.Cleanup(pub.close)
	return pub
}

// send plays the clip's packets at their due times until it ends or stop
// is closed.
func (p *publisher) send(pkts []testmedia.Packet, stop <-chan struct{}) {
	start := time.Now()
	for _, pk := range pkts {
		if d := time.Until(start.Add(pk.At)); d > 0 {
			select {
			case <-time.After(d): // pacing real-time media, not synchronisation
			case <-stop:
				return
			}
		}
		tr := p.video
		if pk.Kind == "audio" {
			tr = p.audio
		}
		_ = tr.WriteRTP(pk.RTP)
	}
}

func (p *publisher) close() {
	p.p.Leave()
	_ = p.pc.Close()
}
