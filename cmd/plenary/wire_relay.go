package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"github.com/plenaryhq/plenary/internal/noderegistry"
	"github.com/plenaryhq/plenary/sfu/relay"
)

// relayHeartbeat is how often an SFU node refreshes its registry entry;
// the entry expires after noderegistry.DefaultTTL without one.
const relayHeartbeat = time.Second

// sfuNodeID is this process's SFU node ID: --node-id, or
// "<region>-<hostname>".
func (p *platform) sfuNodeID() string {
	if p.cfg.NodeID != "" {
		return p.cfg.NodeID
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "node"
	}
	host = strings.Map(func(r rune) rune {
		if r == '.' || r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '-'
	}, host)
	return p.cfg.Region + "-" + host
}

// wireRelay cascades the rooms of this SFU node across nodes. It needs the
// sfu role and a shared Redis (--redis-url): the node registers itself in
// the Redis node registry (ID, region, addresses, load, the rooms it
// serves and the tracks its clients publish), heartbeating every second,
// and opens relay links on demand (relay.Node.Auto) to the nodes where the
// tracks its viewers want are published, through its region's hub when
// the publisher is in another region. Relay links are Pion peer
// connections signalled over the bus, carrying media on the node's own
// addresses. With one process (no Redis) there is nothing to relay to and
// it does nothing.
func (p *platform) wireRelay(ctx context.Context) error {
	if p.sfu == nil || p.cfg.RedisURL == "" {
		return nil
	}
	id := p.sfuNodeID()
	reg, err := noderegistry.NewRedisRegistry(ctx, noderegistry.RedisConfig{URL: p.cfg.RedisURL, Prefix: p.cfg.Prefix}, p.log)
	if err != nil {
		return err
	}
	p.closers = append(p.closers, reg.Close)

	// Relay links gather on the interfaces the SFU binds: the loopback
	// only when the SFU is bound there (a one-machine test), never mDNS.
	var se webrtc.SettingEngine
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	if bind := net.ParseIP(p.cfg.SFUBindIP); bind != nil && !bind.IsUnspecified() {
		se.SetIPFilter(func(ip net.IP) bool { return ip.Equal(bind) })
		if bind.IsLoopback() {
			se.SetIncludeLoopbackCandidate(true)
		}
	}
	api, err := relay.NewAPI(se)
	if err != nil {
		return err
	}
	node, err := relay.New(ctx, relay.Config{NodeID: id, Region: p.cfg.Region, API: api}, p.sfu, p.bus, p.log)
	if err != nil {
		return err
	}
	p.closers = append(p.closers, node.Close)

	addrs := noderegistry.Addresses{UDP: p.sfu.UDPAddr().String()}
	if a := p.sfu.TCPAddr(); a != nil {
		addrs.TCP = a.String()
	}
	cpu := newCPUMeter()
	snapshot := func() noderegistry.Node {
		rooms, origins, relayed := node.Presence()
		l := p.sfu.Load()
		return noderegistry.Node{ID: id, Region: p.cfg.Region, Addrs: addrs, Draining: l.Draining,
			Load: noderegistry.Load{Tracks: l.Tracks, Subscribers: l.Subscribers, PacketsPerSec: l.PacketsPerSec,
				CPU: cpu.utilisation()},
			Rooms: rooms, Origins: origins, Relayed: relayed}
	}
	p.announceDraining = func(ctx context.Context) {
		n := snapshot()
		n.Draining = true
		if err := reg.Heartbeat(ctx, n, 0); err != nil {
			p.log.Warn("could not mark the node draining in the registry", "err", err)
		}
	}
	p.drainWorkers = append(p.drainWorkers,
		func(ctx context.Context) error {
			return noderegistry.Heartbeat(ctx, reg, relayHeartbeat, 0, snapshot, p.log)
		},
		func(ctx context.Context) error {
			err := node.Auto(ctx, reg, relay.AutoOptions{})
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("relay: %w", err)
		})
	p.log.Info("relay node registered", "node", id, "region", p.cfg.Region)
	return nil
}

// cpuMeter reports this process's CPU use since the previous call as a
// fraction of the machine's cores, for the registry's load score.
type cpuMeter struct {
	mu        sync.Mutex
	lastWall  time.Time
	lastCPU   time.Duration
	lastValue float64
}

func newCPUMeter() *cpuMeter {
	m := &cpuMeter{lastWall: time.Now(), lastCPU: processCPU()}
	return m
}

func (m *cpuMeter) utilisation() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	now, cpu := time.Now(), processCPU()
	wall := now.Sub(m.lastWall)
	if wall < 100*time.Millisecond {
		return m.lastValue
	}
	v := float64(cpu-m.lastCPU) / float64(wall) / float64(runtime.NumCPU())
	m.lastWall, m.lastCPU, m.lastValue = now, cpu, min(max(v, 0), 1)
	return m.lastValue
}

// processCPU is the user+system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
