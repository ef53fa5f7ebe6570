package sfu

import (
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

type rtcpCapture struct{ pkts chan []rtcp.Packet }

func (c rtcpCapture) Write(pkts []rtcp.Packet, _ interceptor.Attributes) (int, error) {
	c.pkts <- pkts
	return 0, nil
}

func TestSenderReports(t *testing.T) {
	i, err := senderReportFactory{interval: 10 * time.Millisecond}.NewInterceptor("")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = i.Close() }()
	out := rtcpCapture{make(chan []rtcp.Packet, 16)}
	i.BindRTCPWriter(out)
	w := i.BindLocalStream(&interceptor.StreamInfo{SSRC: 7, ClockRate: 90000}, interceptor.RTPWriterFunc(
		func(_ *rtp.Header, p []byte, _ interceptor.Attributes) (int, error) { return len(p), nil }))
	i.BindLocalStream(&interceptor.StreamInfo{SSRC: 8, ClockRate: 48000}, nil) // never sends: no report

	h := rtp.Header{SequenceNumber: 100, Timestamp: 9000}
	payload := make([]byte, 1000)
	for range 3 { // one frame of three packets
		if _, err := w.Write(&h, payload, nil); err != nil {
			t.Fatal(err)
		}
		h.SequenceNumber++
	}
	late := rtp.Header{SequenceNumber: 50, Timestamp: 1}
	_, _ = w.Write(&late, payload[:10], nil) // reordered: counted, does not move the clock
	sentAt := time.Now()

	var sr *rtcp.SenderReport
	deadline := time.After(30 * time.Second)
	for sr == nil {
		select {
		case pkts := <-out.pkts:
			if len(pkts) != 1 {
				t.Fatalf("got %d reports, want 1 (the silent stream sends none)", len(pkts))
			}
			sr = pkts[0].(*rtcp.SenderReport)
		case <-deadline:
			t.Fatal("no sender report")
		}
	}
	if sr.SSRC != 7 || sr.PacketCount != 4 || sr.OctetCount != 3010 {
		t.Fatalf("report %+v, want SSRC 7, 4 packets, 3010 octets", sr)
	}
	// The RTP time is the frame's timestamp advanced at 90 kHz by the time
	// since it was sent; the NTP time is the wall clock.
	ntp := time.Unix(int64(sr.NTPTime>>32)-2208988800, int64((sr.NTPTime&0xffffffff)*1e9>>32))
	elapsed := ntp.Sub(sentAt)
	if elapsed < -time.Millisecond || elapsed > 30*time.Second {
		t.Fatalf("NTP time %v is %v from the send time", ntp, elapsed)
	}
	wantTS := 9000 + uint32(elapsed.Seconds()*90000)
	if d := int32(sr.RTPTime - wantTS); d < -900 || d > 900 { // ±10 ms
		t.Fatalf("RTP time %d, want about %d", sr.RTPTime, wantTS)
	}
}

func TestSenderReportsNoAlloc(t *testing.T) {
	i, _ := senderReportFactory{}.NewInterceptor("")
	defer func() { _ = i.Close() }()
	w := i.BindLocalStream(&interceptor.StreamInfo{SSRC: 7, ClockRate: 90000}, interceptor.RTPWriterFunc(
		func(_ *rtp.Header, p []byte, _ interceptor.Attributes) (int, error) { return len(p), nil }))
	h := rtp.Header{}
	payload := make([]byte, 1000)
	if a := testing.AllocsPerRun(100, func() {
		h.SequenceNumber++
		h.Timestamp += 3000
		_, _ = w.Write(&h, payload, nil)
	}); a != 0 {
		t.Fatalf("sender report path allocates %.1f times per packet", a)
	}
}
