package sfu

import (
	"fmt"
	"net"
	"time"

	"github.com/pion/transport/v5"
)

// Config configures an SFU node. The zero value is usable: every zero field
// means "default", and each field's comment says what the default is.
type Config struct {
	// UDPPort is the single UDP port all ICE/DTLS/SRTP traffic of the node is
	// multiplexed on (ICE UDP mux). Default 0: a random free port, which is
	// what tests want; production sets a fixed port (7882 in the k8s
	// manifests) and opens it in the firewall.
	UDPPort int
	// TCPPort is the ICE-TCP fallback port (RFC 6544 passive candidates) for
	// clients behind UDP-blocking firewalls. Default 0: random; -1 disables
	// ICE-TCP.
	TCPPort int
	// BindIP is the address the UDP and TCP ports are bound to. Default
	// "0.0.0.0" (all IPv4 interfaces; candidates for each interface).
	BindIP string
	// NAT1To1IPs are public IPs to advertise instead of the host addresses,
	// for cloud nodes behind 1:1 NAT (AWS, GCP). Default: none.
	NAT1To1IPs []string
	// IncludeLoopback also advertises loopback candidates. Tests bind to
	// 127.0.0.1 and need it. Default false.
	IncludeLoopback bool

	// KeyframeInterval is the throttle window for keyframe requests (PLI)
	// sent to a publisher for one layer: however many subscribers ask, the
	// publisher gets at most one PLI per window. Default 500ms.
	KeyframeInterval time.Duration
	// AllocationInterval is how often each subscriber's bandwidth is divided
	// among its video tracks and layers are re-selected. Default 500ms.
	AllocationInterval time.Duration
	// UpgradeHold is how long a higher layer must fit the bandwidth before a
	// subscriber switches up (hysteresis; downgrades are immediate).
	// Default 2s.
	UpgradeHold time.Duration
	// InitialBitrate is the starting bandwidth estimate of a subscriber
	// connection, in bit/s. Default 1,000,000.
	InitialBitrate int
	// MaxBitrate caps the bandwidth estimate of a subscriber connection, in
	// bit/s. Default 10,000,000.
	MaxBitrate int
	// SpeakerInterval is the active-speaker evaluation period. Default 300ms.
	SpeakerInterval time.Duration
	// SpeakerMinLevel is the quietest audio level, in -dBov (RFC 6464: 0 is
	// loudest, 127 silence), that can make a participant the active speaker.
	// Default 70.
	SpeakerMinLevel int
	// FanoutWorkers is the number of goroutines shared by all tracks for
	// fanning a packet out to large audiences. Default runtime.GOMAXPROCS(0).
	FanoutWorkers int
	// FanoutChunk is the number of subscribers a packet is written to
	// sequentially before the fan-out is split across workers. Default 64.
	FanoutChunk int
	// DisconnectTimeout is how long ICE may stay disconnected before the
	// connection is considered failed. Default 5s.
	DisconnectTimeout time.Duration
	// ProbeDuration is how long a bandwidth probe sends padding before its
	// result is judged (see prober.go). Default 500ms.
	ProbeDuration time.Duration
	// DisableProbing turns bandwidth probing off: layer upgrades then wait
	// for the congestion controller's own slow growth. Default false.
	DisableProbing bool
	// MeasureLatency records the forwarding latency of every packet written
	// to a subscriber (SFU.ForwardLatency). It costs one clock read and two
	// atomic adds per write, so it is for benchmarks and diagnosis. Default
	// false.
	MeasureLatency bool

	// UDPSendQueue is how many outgoing datagrams the node's UDP socket
	// queues for its flusher, which sends them in batches with one
	// sendmmsg(2) call each instead of one sendto(2) per datagram (see
	// batch_conn.go). A full queue makes writers wait. Default 1024 (about
	// 10 ms of traffic at 100k packets/s, 1.5 MiB); -1 turns batching off
	// and every write is its own system call. Ignored when Net is set.
	UDPSendQueue int

	// Net replaces the operating system network, for tests with
	// pion/transport vnet (loss, delay, bandwidth limits). Default: the OS.
	Net transport.Net
}

// Defaults used for zero Config fields.
const (
	DefaultKeyframeInterval   = 500 * time.Millisecond
	DefaultAllocationInterval = 500 * time.Millisecond
	DefaultUpgradeHold        = 2 * time.Second
	DefaultInitialBitrate     = 1_000_000
	DefaultMaxBitrate         = 10_000_000
	DefaultSpeakerInterval    = 300 * time.Millisecond
	DefaultSpeakerMinLevel    = 70
	DefaultFanoutChunk        = 64
	DefaultDisconnectTimeout  = 5 * time.Second
	DefaultProbeDuration      = 500 * time.Millisecond
	DefaultUDPSendQueue       = 1024

	// maxUDPSendQueue bounds the send queue's memory (1.5 KiB a slot).
	maxUDPSendQueue = 1 << 16
)

// withDefaults returns c with every zero field replaced by its default.
func (c Config) withDefaults() Config {
	if c.BindIP == "" {
		c.BindIP = "0.0.0.0"
	}
	if c.KeyframeInterval == 0 {
		c.KeyframeInterval = DefaultKeyframeInterval
	}
	if c.AllocationInterval == 0 {
		c.AllocationInterval = DefaultAllocationInterval
	}
	if c.UpgradeHold == 0 {
		c.UpgradeHold = DefaultUpgradeHold
	}
	if c.InitialBitrate == 0 {
		c.InitialBitrate = DefaultInitialBitrate
	}
	if c.MaxBitrate == 0 {
		c.MaxBitrate = DefaultMaxBitrate
	}
	if c.SpeakerInterval == 0 {
		c.SpeakerInterval = DefaultSpeakerInterval
	}
	if c.SpeakerMinLevel == 0 {
		c.SpeakerMinLevel = DefaultSpeakerMinLevel
	}
	if c.FanoutChunk == 0 {
		c.FanoutChunk = DefaultFanoutChunk
	}
	if c.DisconnectTimeout == 0 {
		c.DisconnectTimeout = DefaultDisconnectTimeout
	}
	if c.ProbeDuration == 0 {
		c.ProbeDuration = DefaultProbeDuration
	}
	if c.UDPSendQueue == 0 {
		c.UDPSendQueue = DefaultUDPSendQueue
	}
	return c
}

// Validate reports the first invalid field with a message saying what to
// change. It is called by New.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.UDPPort < 0 || c.UDPPort > 65535:
		return fmt.Errorf("%w: UDPPort %d: use 0 (random) or 1-65535", ErrInvalidConfig, c.UDPPort)
	case c.TCPPort < -1 || c.TCPPort > 65535:
		return fmt.Errorf("%w: TCPPort %d: use -1 (off), 0 (random) or 1-65535", ErrInvalidConfig, c.TCPPort)
	case net.ParseIP(c.BindIP) == nil:
		return fmt.Errorf("%w: BindIP %q: use an IP address such as 0.0.0.0", ErrInvalidConfig, c.BindIP)
	case c.KeyframeInterval < 0, c.AllocationInterval < 0, c.UpgradeHold < 0,
		c.SpeakerInterval < 0, c.DisconnectTimeout < 0, c.ProbeDuration < 0:
		return fmt.Errorf("%w: durations must not be negative", ErrInvalidConfig)
	case c.InitialBitrate < 0 || c.MaxBitrate < 0 || c.InitialBitrate > c.MaxBitrate:
		return fmt.Errorf("%w: InitialBitrate %d must be between 0 and MaxBitrate %d",
			ErrInvalidConfig, c.InitialBitrate, c.MaxBitrate)
	case c.SpeakerMinLevel < 0 || c.SpeakerMinLevel > 127:
		return fmt.Errorf("%w: SpeakerMinLevel %d: use 1-127 (-dBov)", ErrInvalidConfig, c.SpeakerMinLevel)
	case c.FanoutWorkers < 0 || c.FanoutChunk < 0:
		return fmt.Errorf("%w: FanoutWorkers and FanoutChunk must not be negative", ErrInvalidConfig)
	case c.UDPSendQueue < -1 || c.UDPSendQueue > maxUDPSendQueue:
		return fmt.Errorf("%w: UDPSendQueue %d: use -1 (no batching), 0 (default %d) or a length up to %d",
			ErrInvalidConfig, c.UDPSendQueue, DefaultUDPSendQueue, maxUDPSendQueue)
	}
	for _, ip := range c.NAT1To1IPs {
		if net.ParseIP(ip) == nil {
			return fmt.Errorf("%w: NAT1To1IPs entry %q is not an IP address", ErrInvalidConfig, ip)
		}
	}
	return nil
}
