package sfu

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/logging"
	"github.com/pion/transport/v5"
	"github.com/pion/webrtc/v4"

	plog "github.com/plenaryhq/plenary/internal/logging"
)

// nodeTransport owns the node's sockets: one UDP port shared by every peer
// connection through the ICE UDP mux (connections are told apart by ICE
// ufrag, then by remote address), and one optional ICE-TCP port (RFC 6544
// passive candidates, RFC 4571 framing).
type nodeTransport struct {
	udpConn net.PacketConn
	udpMux  *ice.UDPMuxDefault
	tcpLn   net.Listener
	tcpMux  *ice.TCPMuxDefault
}

func openTransport(cfg Config, lf logging.LoggerFactory) (*nodeTransport, error) {
	var nw transport.Net = cfg.Net
	addr := net.JoinHostPort(cfg.BindIP, strconv.Itoa(cfg.UDPPort))
	var (
		conn net.PacketConn
		err  error
	)
	if nw != nil {
		udpAddr, rerr := net.ResolveUDPAddr("udp4", addr)
		if rerr != nil {
			return nil, fmt.Errorf("sfu: resolve %s: %w", addr, rerr)
		}
		conn, err = nw.ListenUDP("udp4", udpAddr)
	} else {
		conn, err = net.ListenPacket("udp4", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("sfu: listen udp %s: %w", addr, err)
	}
	conn = batchSends(conn, cfg, lf)
	t := &nodeTransport{udpConn: conn}
	t.udpMux = ice.NewUDPMuxDefault(ice.UDPMuxParams{
		Logger:  lf.NewLogger("udpmux"),
		UDPConn: conn,
		Net:     nw,
	})
	if cfg.TCPPort >= 0 && nw == nil {
		taddr := net.JoinHostPort(cfg.BindIP, strconv.Itoa(cfg.TCPPort))
		ln, err := net.Listen("tcp4", taddr)
		if err != nil {
			_ = t.close()
			return nil, fmt.Errorf("sfu: listen tcp %s: %w", taddr, err)
		}
		t.tcpLn = ln
		t.tcpMux = ice.NewTCPMuxDefault(ice.TCPMuxParams{
			Listener:        ln,
			Logger:          lf.NewLogger("tcpmux"),
			ReadBufferSize:  64,
			WriteBufferSize: 4 << 20,
		})
	}
	return t, nil
}

// batchSends wraps a real UDP socket so that the ICE mux's writes go out in
// sendmmsg batches (batch_conn.go). A vnet socket (cfg.Net) is not a kernel
// socket and is returned as is, as is any socket when batching is off.
func batchSends(conn net.PacketConn, cfg Config, lf logging.LoggerFactory) net.PacketConn {
	udp, ok := conn.(*net.UDPConn)
	if !ok || cfg.Net != nil || cfg.UDPSendQueue < 0 {
		return conn
	}
	log := slog.New(slog.DiscardHandler)
	if pf, ok := lf.(*plog.PionFactory); ok && pf.Log != nil {
		log = pf.Log
	}
	return newBatchConn(udp, cfg.UDPSendQueue, log.With("scope", "udpbatch"))
}

// settingEngine returns the Pion settings every peer connection of the node
// shares.
func (t *nodeTransport) settingEngine(cfg Config, lf logging.LoggerFactory) (webrtc.SettingEngine, error) {
	var se webrtc.SettingEngine
	se.LoggerFactory = lf
	// An SFU has a public address and never initiates connectivity checks
	// towards clients behind NAT itself: ICE-lite (RFC 8445 §2.5).
	se.SetLite(true)
	se.SetICEUDPMux(t.udpMux)
	networks := []webrtc.NetworkType{webrtc.NetworkTypeUDP4}
	if t.tcpMux != nil {
		se.SetICETCPMux(t.tcpMux)
		networks = append(networks, webrtc.NetworkTypeTCP4)
	}
	se.SetNetworkTypes(networks)
	se.SetIncludeLoopbackCandidate(cfg.IncludeLoopback)
	if cfg.Net != nil {
		se.SetNet(cfg.Net)
	}
	se.SetICETimeouts(cfg.DisconnectTimeout, 2*cfg.DisconnectTimeout, 2*time.Second)
	if len(cfg.NAT1To1IPs) > 0 {
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External:        cfg.NAT1To1IPs,
			AsCandidateType: webrtc.ICECandidateTypeHost,
			Mode:            webrtc.ICEAddressRewriteReplace,
		}); err != nil {
			return se, fmt.Errorf("sfu: NAT 1:1 rules: %w", err)
		}
	}
	return se, nil
}

// udpAddr is the bound UDP address (useful when UDPPort was 0).
func (t *nodeTransport) udpAddr() net.Addr { return t.udpConn.LocalAddr() }

// tcpAddr is the bound ICE-TCP address, nil when ICE-TCP is off.
func (t *nodeTransport) tcpAddr() net.Addr {
	if t.tcpLn == nil {
		return nil
	}
	return t.tcpLn.Addr()
}

func (t *nodeTransport) close() error {
	var errs []error
	if t.udpMux != nil {
		// Closes the underlying UDP conn too.
		errs = append(errs, t.udpMux.Close())
	} else if t.udpConn != nil {
		errs = append(errs, t.udpConn.Close())
	}
	if t.tcpMux != nil {
		errs = append(errs, t.tcpMux.Close())
	} else if t.tcpLn != nil {
		errs = append(errs, t.tcpLn.Close())
	}
	return errors.Join(errs...)
}
