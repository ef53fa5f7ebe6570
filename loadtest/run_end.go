package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/protocol"
	"github.com/plenaryhq/plenary/signaling/client"
)

// errCode is the key under which err is counted: the protocol error code,
// "http_<status>" for a refused handshake, "timeout", or "network".
func errCode(err error) string {
	var pe *protocol.Error
	var he *client.HandshakeError
	switch {
	case errors.As(err, &pe):
		return strconv.Itoa(pe.Code)
	case errors.As(err, &he):
		return "http_" + strconv.Itoa(he.Status)
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, client.ErrClosed):
		return "closed"
	}
	return "network"
}

// tokenTTL is the lifetime of bot tokens: the whole run plus a margin.
func (r *run) tokenTTL() time.Duration {
	return r.sc.Duration.D() + r.sc.Drain.D() + tokenMargin
}

// helper opens a WebSocket for the runner itself (polls, head probes) as a
// moderator of room, with a plain client whose events are drained.
func (r *run) helper(ctx context.Context, name, room string) (*client.Client, error) {
	tok, err := r.opts.Tokens.Token(ctx, TokenRequest{Subject: subject(r.opts.RunID, name, r.opts.Shard.Index) + "-" + room,
		Name: "load test " + name, Role: auth.RoleModerator, Rooms: []string{room}, TTL: r.tokenTTL()})
	if err != nil {
		r.rec.Error("token")
		return nil, err
	}
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	cl, err := client.Dial(dctx, r.url(false), tok, client.Options{Dialer: r.dialer, EventBuffer: 64})
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			select {
			case <-cl.Events():
			case <-cl.Down():
				return
			}
		}
	}()
	no := false
	jctx, cancel2 := context.WithTimeout(ctx, requestTimeout)
	defer cancel2()
	if _, err := cl.Join(jctx, room, client.JoinOptions{Media: &no}); err != nil {
		_ = cl.Close()
		return nil, err
	}
	return cl, nil
}

// polls creates a poll in every room each Polls.Every (first shard only),
// closing the previous one, until the run's duration is over.
func (r *run) polls(ctx context.Context) {
	if r.sc.Polls.Every == 0 || r.opts.Shard.Index != 0 {
		return
	}
	var wg sync.WaitGroup
	for name := range r.rooms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.pollRoom(ctx, name)
		}()
	}
	wg.Wait()
}

// pollRoom runs the polls of one room.
func (r *run) pollRoom(ctx context.Context, room string) {
	var cl *client.Client
	defer func() {
		if cl != nil {
			_ = cl.Close()
		}
	}()
	opts := make([]string, r.sc.Polls.Options)
	for i := range opts {
		opts[i] = "Option " + string(rune('A'+i))
	}
	t := time.NewTicker(r.sc.Polls.Every.D())
	defer t.Stop()
	prev := ""
	for n := 1; ; n++ {
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		case <-r.stopActs:
			return
		}
		if cl != nil {
			select {
			case <-cl.Down():
				_ = cl.Close()
				cl = nil
			default:
			}
		}
		if cl == nil {
			var err error
			if cl, err = r.helper(ctx, "poller", room); err != nil {
				r.rec.Error("poller_" + errCode(err))
				continue
			}
		}
		rctx, cancel := context.WithTimeout(ctx, requestTimeout)
		if prev != "" {
			if _, err := cl.Request(rctx, "poll.close", room, map[string]string{"id": prev}); err != nil {
				r.rec.Error(errCode(err))
			}
		}
		reply, err := cl.Request(rctx, "poll.create", room, map[string]any{
			"question": fmt.Sprintf("Load test poll %d", n), "options": opts})
		cancel()
		if err != nil {
			r.rec.Error(errCode(err))
			continue
		}
		var ack struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(reply.Data, &ack)
		prev = ack.ID
		r.rec.Inc(CounterPolls)
	}
}

// finish counts completeness: each room's final sequence number is read
// by a fresh connection (the bots themselves may have missed the tail),
// and every bot counts what it received up to it.
func (r *run) finish(ctx context.Context) {
	heads := make(map[string]uint64, len(r.rooms))
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for name, rs := range r.rooms {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			head, err := r.probeHead(ctx, name)
			if err != nil {
				// The target is gone: fall back to the highest number any
				// bot saw, a lower bound of what was expected.
				r.rec.Error("head_probe_" + errCode(err))
				head = rs.maxSeq.Load()
			}
			mu.Lock()
			heads[name] = head
			mu.Unlock()
		}()
	}
	wg.Wait()
	for _, gr := range r.groups {
		for room, bots := range gr.byRoom {
			for _, b := range bots {
				b.Finish(heads[room])
			}
		}
	}
}

// probeHead joins room with a fresh connection and returns the head its
// chat.sync reports.
func (r *run) probeHead(ctx context.Context, room string) (uint64, error) {
	tok, err := r.opts.Tokens.Token(ctx, TokenRequest{Subject: subject(r.opts.RunID, "probe", r.opts.Shard.Index) + "-" + room,
		Name: "load test probe", Role: auth.RoleAttendee, Rooms: []string{room}, TTL: r.tokenTTL()})
	if err != nil {
		return 0, err
	}
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	cl, err := client.Dial(dctx, r.url(false), tok, client.Options{Dialer: r.dialer, EventBuffer: 256})
	if err != nil {
		return 0, err
	}
	defer func() { _ = cl.Close() }()
	no := false
	if _, err := cl.Join(dctx, room, client.JoinOptions{Media: &no}); err != nil {
		return 0, err
	}
	for {
		select {
		case e := <-cl.Events():
			if e.Type != "chat.sync" || e.Room != room {
				continue
			}
			var s struct {
				Head uint64 `json:"head"`
			}
			if err := json.Unmarshal(e.Data, &s); err != nil {
				return 0, fmt.Errorf("loadtest: chat.sync: %w", err)
			}
			return s.Head, nil
		case <-cl.Down():
			return 0, client.ErrClosed
		case <-dctx.Done():
			return 0, dctx.Err()
		}
	}
}

// closeAll closes every bot, a bounded number at a time.
func (r *run) closeAll(ctx context.Context) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, r.opts.MaxConnecting)
	for _, b := range r.bots {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			_ = b.Close()
		}()
	}
	wg.Wait()
}
