package sfu

import (
	"sync"

	"github.com/pion/interceptor"
)

// The congestion-control interceptor has to sit at two different places of
// a subscriber connection's interceptor chain:
//
//   - on the RTP write path above the NACK responder, so retransmissions
//     (on the RTX SSRC, RFC 4588) go straight from the responder to the
//     transport: the estimator's pacer only knows media SSRCs and would drop
//     them;
//   - on the RTCP read path below the NACK responder, so the responder gets
//     the estimator's target bitrate with every NACK and caps
//     retransmissions to it (to retransmitBudget, webrtc_api.go). Without
//     a cap, a subscriber that loses much (a saturated link or CPU) NACKs
//     most packets, the retransmissions add to the load, and the loss
//     feeds itself.
//
// A chain has one order for both paths, so one interceptor instance is
// registered as two halves: the RTCP half first (nearest the wire), the RTP
// half after the responder.
type ccHalves struct {
	factory interceptor.Factory

	mu  sync.Mutex
	cur interceptor.Interceptor // built by the RTCP half for the connection being built
}

// rtcpFactory and rtpFactory build the two halves. The registry builds a
// connection's interceptors in order, so the RTP half finds the instance
// the RTCP half has just built.
func (h *ccHalves) rtcpFactory() interceptor.Factory { return ccRTCPFactory{h} }
func (h *ccHalves) rtpFactory() interceptor.Factory  { return ccRTPFactory{h} }

type ccRTCPFactory struct{ h *ccHalves }

// NewInterceptor implements interceptor.Factory: it builds the
// connection's congestion-control interceptor and returns its RTCP half.
func (f ccRTCPFactory) NewInterceptor(id string) (interceptor.Interceptor, error) {
	i, err := f.h.factory.NewInterceptor(id)
	if err != nil {
		return nil, err
	}
	f.h.mu.Lock()
	f.h.cur = i
	f.h.mu.Unlock()
	return &ccRTCPHalf{cc: i}, nil
}

type ccRTPFactory struct{ h *ccHalves }

// NewInterceptor implements interceptor.Factory: the RTP half of the
// instance the RTCP half just built.
func (f ccRTPFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	f.h.mu.Lock()
	defer f.h.mu.Unlock()
	return &ccRTPHalf{cc: f.h.cur}, nil
}

// ccRTCPHalf feeds RTCP to the estimator and owns its Close.
type ccRTCPHalf struct {
	interceptor.NoOp
	cc interceptor.Interceptor
}

// BindRTCPReader implements interceptor.Interceptor.
func (c *ccRTCPHalf) BindRTCPReader(r interceptor.RTCPReader) interceptor.RTCPReader {
	return c.cc.BindRTCPReader(r)
}

// Close implements interceptor.Interceptor; it closes the estimator.
func (c *ccRTCPHalf) Close() error { return c.cc.Close() }

// ccRTPHalf records sent packets for the estimator.
type ccRTPHalf struct {
	interceptor.NoOp
	cc interceptor.Interceptor
}

// BindLocalStream implements interceptor.Interceptor.
func (c *ccRTPHalf) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	return c.cc.BindLocalStream(info, w)
}

// UnbindLocalStream implements interceptor.Interceptor.
func (c *ccRTPHalf) UnbindLocalStream(info *interceptor.StreamInfo) { c.cc.UnbindLocalStream(info) }
