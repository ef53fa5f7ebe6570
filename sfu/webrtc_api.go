package sfu

import (
	"fmt"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/logging"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// newMediaEngine registers the codecs and header extensions the SFU
// negotiates: Opus, VP8, VP9, H.264, AV1 with RTX (RFC 4588), simulcast
// (RFC 8852 rid, RFC 8843 mid), RFC 6464 audio levels and transport-wide
// congestion control feedback (draft-holmer-rmcat-transport-wide-cc).
func newMediaEngine() (*webrtc.MediaEngine, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, fmt.Errorf("sfu: register codecs: %w", err)
	}
	m.RegisterFeedback(webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBTransportCC}, webrtc.RTPCodecTypeVideo)
	m.RegisterFeedback(webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBTransportCC}, webrtc.RTPCodecTypeAudio)
	exts := []struct {
		uri  string
		kind webrtc.RTPCodecType
	}{
		{sdp.TransportCCURI, webrtc.RTPCodecTypeVideo},
		{sdp.TransportCCURI, webrtc.RTPCodecTypeAudio},
		{sdp.AudioLevelURI, webrtc.RTPCodecTypeAudio},
		{sdp.SDESMidURI, webrtc.RTPCodecTypeVideo},
		{sdp.SDESMidURI, webrtc.RTPCodecTypeAudio},
		{sdp.SDESRTPStreamIDURI, webrtc.RTPCodecTypeVideo},
		{sdp.SDESRepairRTPStreamIDURI, webrtc.RTPCodecTypeVideo},
	}
	for _, e := range exts {
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: e.uri}, e.kind); err != nil {
			return nil, fmt.Errorf("sfu: register header extension %s: %w", e.uri, err)
		}
	}
	return m, nil
}

// newPublisherAPI builds the API shared by all publisher (receive-only)
// connections: NACK generation (RFC 4585 §6.2.1), receiver reports and TWCC
// feedback so the browser's own congestion control works.
func newPublisherAPI(me *webrtc.MediaEngine, se webrtc.SettingEngine, lf logging.LoggerFactory) (*webrtc.API, error) {
	reg := &interceptor.Registry{}
	gen, err := nack.NewGeneratorInterceptor(nack.WithGeneratorLoggerFactory(lf))
	if err != nil {
		return nil, fmt.Errorf("sfu: nack generator: %w", err)
	}
	rr, err := report.NewReceiverInterceptor(report.WithReceiverLoggerFactory(lf))
	if err != nil {
		return nil, fmt.Errorf("sfu: receiver reports: %w", err)
	}
	fb, err := twcc.NewSenderInterceptor(twcc.WithLoggerFactory(lf))
	if err != nil {
		return nil, fmt.Errorf("sfu: twcc feedback: %w", err)
	}
	reg.Add(gen)
	reg.Add(rr)
	reg.Add(fb)
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se), webrtc.WithInterceptorRegistry(reg)), nil
}

// nackHistory is how many sent packets per stream the NACK responder keeps.
const nackHistory = 512

// newSubscriberAPI builds the API for one subscriber (send-only) connection.
// Each subscriber gets its own registry so that the Google Congestion Control
// estimator created for its connection is handed to onEstimator; the
// estimator uses a no-op pacer because an SFU forwards packets as they come
// and layer selection, not pacing, keeps it under the estimate.
func newSubscriberAPI(me *webrtc.MediaEngine, se webrtc.SettingEngine, lf logging.LoggerFactory, cfg Config,
	onEstimator func(cc.BandwidthEstimator), sendRate func() int,
) (*webrtc.API, error) {
	reg := &interceptor.Registry{}
	ccf, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
		bwe, err := gcc.NewSendSideBWE(
			gcc.SendSideBWEInitialBitrate(cfg.InitialBitrate),
			gcc.SendSideBWEMaxBitrate(cfg.MaxBitrate),
			gcc.SendSideBWEPacer(gcc.NewNoOpPacer()),
			gcc.WithLoggerFactory(lf),
		)
		if err != nil {
			return nil, err
		}
		return &retransmitBudget{BandwidthEstimator: bwe, sendRate: sendRate}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("sfu: congestion control: %w", err)
	}
	ccf.OnNewPeerConnection(func(_ string, e cc.BandwidthEstimator) {
		if rb, ok := e.(*retransmitBudget); ok {
			e = rb.BandwidthEstimator // the allocator wants the plain estimate
		}
		onEstimator(e)
	})
	// The responder keeps a copy of every sent packet for retransmission,
	// in a full-size buffer: 512 packets (1.7 s of a 3 Mbit/s stream, 3.8 s
	// of 720p) instead of Pion's 1,024, which held 1.5 MB per subscriber
	// video track, 0.7 GB for a 450-viewer stage. A NACK for an older
	// packet comes after any jitter buffer would have played past it.
	resp, err := nack.NewResponderInterceptor(nack.WithResponderLoggerFactory(lf), nack.ResponderSize(nackHistory))
	if err != nil {
		return nil, fmt.Errorf("sfu: nack responder: %w", err)
	}
	hdr, err := twcc.NewHeaderExtensionInterceptor()
	if err != nil {
		return nil, fmt.Errorf("sfu: twcc header: %w", err)
	}
	// Order matters. The first interceptor added sits next to the wire.
	// Congestion control is split in two (cc_split.go): its RTCP half goes
	// below the NACK responder, which then caps retransmissions to the
	// estimate; its RTP half above it, so retransmissions (RTX SSRC) bypass
	// the pacer, and after the TWCC header interceptor numbered each packet.
	halves := &ccHalves{factory: ccf}
	reg.Add(halves.rtcpFactory())
	reg.Add(resp)
	reg.Add(halves.rtpFactory())
	reg.Add(senderReportFactory{}) // sender_reports.go: not Pion's, see there
	reg.Add(hdr)
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se), webrtc.WithInterceptorRegistry(reg)), nil
}

// retransmitBudget is the estimator as the NACK responder sees it: Pion's
// responder caps retransmissions to the estimator's target bitrate (see
// cc_split.go). Capped at the estimate alone, a subscriber whose estimate
// collapsed (heavy loss, or a CPU-starved client) could not recover even
// moderate loss on a track it still receives; uncapped, its NACKs can
// multiply the SFU's load. So the budget is the estimate, but never less
// than a quarter of what is actually being sent to the subscriber: loss up
// to about 20% can always be repaired, a NACK storm adds at most 25%.
type retransmitBudget struct {
	cc.BandwidthEstimator
	sendRate func() int
}

// GetTargetBitrate implements cc.BandwidthEstimator for the responder.
func (r *retransmitBudget) GetTargetBitrate() int {
	return max(r.BandwidthEstimator.GetTargetBitrate(), r.sendRate()/4)
}
