package sfu

import (
	"context"
	"fmt"
)

// RestartICE restarts ICE on the participant's subscriber connection from
// the server side (RFC 8445 §9; RFC 8839 §4.4.1.1.1 for the SDP): the SFU
// makes a new offer with fresh ICE credentials (ufrag and password) and
// sends it as EventSubscriberOffer; the client answers through
// HandleSubscriberAnswer as for any offer, with its own new credentials,
// and both agents gather and check candidates again. DTLS and SRTP are not
// renegotiated, so media resumes with the same keys, SSRCs and sequence
// numbers once a new pair is selected; until then packets go on flowing
// over the old pair if it still works.
//
// Use it when the client's network changed (Wi-Fi to cellular) or the
// subscriber connection went "disconnected"/"failed". If an offer is
// outstanding the restart is queued: the next offer, sent once the
// outstanding one is answered, carries the new credentials (one offer in
// flight at a time, so no glare). RestartICE returns ErrNotSupported for a
// participant joined with ClientOffer (the client restarts ICE itself by
// offering) and ErrClosed after Leave; before the first subscriber offer
// there is nothing to restart and it does nothing.
func (p *Participant) RestartICE(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if p.opts.ClientOffer {
		return fmt.Errorf("%w: ICE restart of a client-offered subscriber connection", ErrNotSupported)
	}
	if p.isClosed() {
		return ErrClosed
	}
	if p.sub.LocalDescription() == nil {
		return nil // no offer made yet: the first one has fresh credentials anyway
	}
	p.log.Info("subscriber ICE restart")
	metricICERestarts.Inc()
	return p.offer(true)
}
