// Package sfurpc serves the signaling media interfaces (signaling.MediaNode,
// signaling.MediaSession) over the bus, so that gateway processes drive SFU
// nodes in other processes: the second transport of ARCHITECTURE.md "How
// signaling drives the SFU" (the first is signaling/sfunode, in process).
// Both transports pass one conformance suite (signaling/mediatest).
//
// # Shape
//
// Every SFU node runs a Server that subscribes to its node-addressed system
// channel "sys:sfurpc.node.<node-id>" and wraps the node's local MediaNode.
// Every gateway runs one Client that subscribes to
// "sys:sfurpc.gw.<gateway-id>"; requests carry that address, and the node
// sends replies and the session's events there. A request carries a
// deadline; the node abandons work whose caller has given up.
//
// # Delivery and liveness
//
// The bus is at-most-once (package bus). A request or reply lost in a Redis
// outage surfaces as a timeout at the caller. Events carry a per-session
// sequence number: a gap means an event was lost (an ICE candidate, an
// offer), so the client ends the session — its Events channel closes — and
// the gateway re-joins the participant, as it does when a node fails.
//
// Sessions are leased: the client pings each node it has sessions on every
// Config.KeepAlive (250 ms) with the list of its session IDs. A node leaves
// sessions not pinged for Config.SessionTTL (10 s: a gateway that died), and
// answers with the IDs it does not know (a node that restarted) so the
// client closes them; a node that does not answer for Config.NodeTimeout
// (4 s) is considered dead and every session on it is closed, which makes
// the gateway move its participants to another node.
//
// A crashed node is found sooner. On a bus that counts receivers
// (bus.Reacher: Redis answers PUBLISH with the number of subscribed
// connections) a request that reached nobody fails at once with
// ErrUnreachable — no reply can come — and two keep-alive pings that
// reached nobody, with no answer between them, end the node's sessions:
// the bus server sees a killed process's connection close, so that takes
// one to two KeepAlive periods (0.25–0.5 s) instead of NodeTimeout +
// KeepAlive. One ping is not enough: a node resubscribing after a bus
// reconnect is absent for a moment. A node that hangs while its
// connection stays up (CPU starvation, a deadlock) still gets the full
// NodeTimeout. That was 1 s until the crash path existed; in the keynote
// load test (20,000 bots on 2 cores) a live SFU node missed it and both
// gateways ended its 107 sessions, so with crashes found in 0.5 s it is
// now 4 s: a node hung that long is moved off, a slow one is not.
//
// Messages are JSON: they are control traffic (joins, SDP, candidates), a
// few per participant per minute, never media.
package sfurpc
