package sfu

import (
	"testing"
	"time"

	"github.com/pion/transport/v5/vnet"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	plog "github.com/plenaryhq/plenary/internal/logging"
)

func histogramSnapshot(t *testing.T, h prometheus.Observer) (count uint64, sum float64) {
	t.Helper()
	var m dto.Metric
	require.NoError(t, h.(prometheus.Metric).Write(&m))
	return m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
}

// TestSubscriberLossMetric: with 10% loss on the SFU→subscriber path, the
// subscriber's receiver reports feed plenary_sfu_subscriber_loss_ratio with
// a clearly non-zero mean.
func TestSubscriberLossMetric(t *testing.T) {
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
	lossy, err := vnet.NewLossFilter(subNet, 10, vnet.WithLossSeed(7))
	require.NoError(t, err)
	require.NoError(t, wan.AddNet(lossy))
	require.NoError(t, wan.Start())
	t.Cleanup(func() { _ = wan.Stop() })

	s := newTestSFU(t, func(c *Config) {
		c.BindIP = "10.0.0.1"
		c.IncludeLoopback = false
		c.Net = sfuNet
	})
	count0, sum0 := histogramSnapshot(t, lossVideo)
	pub := joinClient(t, s, "room", "pub", JoinOptions{}, pubNet)
	sub := joinClient(t, s, "room", "sub", JoinOptions{AutoSubscribe: true}, subNet)
	pub.publishVideo([]layerSpec{{"", 4, 800}}, 50) // 200 packets/s
	tid := trackID("pub", "cam")
	waitFor(t, 30*time.Second, "1000 packets received", func() bool {
		r := sub.received(tid)
		if r == nil {
			return false
		}
		n, _ := r.snapshot()
		return n >= 1000
	})
	waitFor(t, 30*time.Second, "5 receiver report blocks", func() bool {
		c, _ := histogramSnapshot(t, lossVideo)
		return c >= count0+5
	})
	count, sum := histogramSnapshot(t, lossVideo)
	mean := (sum - sum0) / float64(count-count0)
	t.Logf("10%% link loss: %d report blocks, mean fraction lost %.3f", count-count0, mean)
	require.Greater(t, mean, 0.02, "receiver reports must show the loss")
	require.Less(t, mean, 0.5)
}
