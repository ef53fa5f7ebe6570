package sfu

import (
	"testing"
	"time"

	"github.com/pion/transport/v5/vnet"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	plog "github.com/plenaryhq/plenary/internal/logging"
)

// TestNACKRecoversLoss: with 5% random loss on the SFU→subscriber path
// (pion/transport vnet), NACK/RTX recovers all but < 0.5% of packets.
func TestNACKRecoversLoss(t *testing.T) {
	wan, err := vnet.NewRouter(&vnet.RouterConfig{CIDR: "10.0.0.0/24", LoggerFactory: &plog.PionFactory{Log: testLogger()}})
	require.NoError(t, err)
	newNet := func(ip string) *vnet.Net {
		n, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{ip}})
		require.NoError(t, err)
		return n
	}
	sfuNet, pubNet, subNet := newNet("10.0.0.1"), newNet("10.0.0.2"), newNet("10.0.0.3")
	require.NoError(t, wan.AddNet(sfuNet))
	require.NoError(t, wan.AddNet(pubNet))
	lossy, err := vnet.NewLossFilter(subNet, 5, vnet.WithLossSeed(1))
	require.NoError(t, err)
	require.NoError(t, wan.AddNet(lossy))
	require.NoError(t, wan.Start())
	t.Cleanup(func() { _ = wan.Stop() })

	s := newTestSFU(t, func(c *Config) {
		c.BindIP = "10.0.0.1"
		c.IncludeLoopback = false
		c.Net = sfuNet
	})
	pub := joinClient(t, s, "room", "pub", JoinOptions{}, pubNet)
	sub := joinClient(t, s, "room", "sub", JoinOptions{AutoSubscribe: true}, subNet)
	vp := pub.publishVideo([]layerSpec{{"", 4, 800}}, 50) // 200 packets/s
	tid := trackID("pub", "cam")
	waitFor(t, 20*time.Second, "subscriber receives video", func() bool {
		r := sub.received(tid)
		if r == nil {
			return false
		}
		n, _ := r.snapshot()
		return n > 0
	})
	waitFor(t, 30*time.Second, "2000 packets", func() bool {
		n, _ := sub.received(tid).snapshot()
		return n >= 2000
	})
	t.Logf("SFU→subscriber bandwidth estimate: %d bit/s", sub.p.Bandwidth())
	vp.close()
	time.Sleep(time.Second) // last retransmissions

	r := sub.received(tid)
	r.mu.Lock()
	defer r.mu.Unlock()
	// Judge the span that had time for recovery: up to 200 packets (1 s)
	// before the newest one.
	end := r.lastSeq - 200
	var missing, total int
	for seq := r.firstSeq; seq <= end; seq++ {
		total++
		if _, ok := r.seqs[uint16(seq)]; !ok {
			missing++
		}
	}
	residual := float64(missing) / float64(total)
	var m dto.Metric
	require.NoError(t, metricNACKs.Write(&m))
	t.Logf("NACK packets received by the SFU: %v", m.GetCounter().GetValue())
	t.Logf("5%% loss: %d of %d packets missing after NACK/RTX (%.3f%%), %d received in total",
		missing, total, 100*residual, r.packets)
	require.Less(t, residual, 0.005)
}
