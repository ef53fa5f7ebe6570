package relay

import (
	"context"
	"time"

	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/sfu"
)

// Backoff bounds between attempts of Maintain.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// Maintain keeps a relay link from origin for room (t, room) open until ctx
// ends: when the link breaks (ICE failure, connect timeout, the origin
// leaving or restarting) it is rebuilt, with exponential backoff between
// failed attempts. onLink, if not nil, is called with each new link. It
// returns ctx's error, or ErrClosed when the node closes.
func (n *Node) Maintain(ctx context.Context, origin string, t tenant.ID, room sfu.RoomID, onLink func(*Link)) error {
	return n.MaintainVia(ctx, origin, origin, t, room, onLink)
}

// MaintainVia is Maintain for a link from upstream carrying root's tracks
// (see LinkVia).
func (n *Node) MaintainVia(ctx context.Context, origin, root string, t tenant.ID, room sfu.RoomID, onLink func(*Link)) error {
	backoff := minBackoff
	for {
		l, err := n.LinkVia(ctx, origin, root, t, room)
		if err == nil {
			if onLink != nil {
				onLink(l)
			}
			start := time.Now()
			select {
			case <-l.Done():
			case <-ctx.Done():
				_ = l.Close()
				return ctx.Err()
			case <-n.ctx.Done():
				return ErrClosed
			}
			relayRebuilds.WithLabelValues(linkLabel(origin, n.id)).Inc()
			if time.Since(start) > maxBackoff {
				backoff = minBackoff // it was healthy for a while
			}
			n.log.Info("relay: link closed, rebuilding", "link", l.ID(), "origin", origin, "backoff", backoff)
		} else if n.ctx.Err() != nil {
			return ErrClosed
		} else {
			n.log.Warn("relay: link attempt failed", "origin", origin, "err", err, "backoff", backoff)
		}
		timer := time.NewTimer(backoff)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-n.ctx.Done():
			timer.Stop()
			return ErrClosed
		}
		backoff = min(2*backoff, maxBackoff)
	}
}
