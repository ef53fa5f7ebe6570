package loadtest

import (
	"encoding/json"
	"sync"
	"sync/atomic"
)

// roomState is what the bots of one room share: the newest chat message
// (what reactions go to), recent questions (what upvotes go to), the open
// poll (what votes go to) and the highest sequence number any bot saw.
// Keeping it per room instead of per bot is what keeps chat bots small.
type roomState struct {
	name string

	maxSeq  atomic.Uint64 // highest sequence number seen by any bot
	lastMsg atomic.Uint64 // sequence number of the newest chat message
	lastQ   atomic.Uint64 // sequence number of the newest question event
	lastP   atomic.Uint64 // sequence number of the newest poll event

	mu        sync.Mutex
	questions [16]string // ring of recent question IDs
	nq        int
	poll      string // ID of the open poll
	pollOpts  int
	pollGen   uint64 // incremented for each new poll
}

// noteSeq records that a bot saw sequence number n.
func (r *roomState) noteSeq(n uint64) {
	for {
		m := r.maxSeq.Load()
		if n <= m || r.maxSeq.CompareAndSwap(m, n) {
			return
		}
	}
}

// advance moves a to n if n is newer; it reports whether this caller did,
// so that of 20,000 bots seeing the same event only one decodes it.
func advance(a *atomic.Uint64, n uint64) bool {
	for {
		m := a.Load()
		if n <= m {
			return false
		}
		if a.CompareAndSwap(m, n) {
			return true
		}
	}
}

// noteMessage records a chat message's sequence number.
func (r *roomState) noteMessage(seq uint64) { advance(&r.lastMsg, seq) }

// noteQuestion records a qa.question event (once per event per room).
func (r *roomState) noteQuestion(seq uint64, data []byte) {
	if !advance(&r.lastQ, seq) {
		return
	}
	var q struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	if json.Unmarshal(data, &q) != nil || q.ID == "" || q.Status == "dismissed" {
		return
	}
	r.mu.Lock()
	r.questions[r.nq%len(r.questions)] = q.ID
	r.nq++
	r.mu.Unlock()
}

// notePoll records a poll.created event.
func (r *roomState) notePoll(seq uint64, data []byte) {
	if !advance(&r.lastP, seq) {
		return
	}
	var p struct {
		ID      string   `json:"id"`
		Options []string `json:"options"`
	}
	if json.Unmarshal(data, &p) != nil || p.ID == "" || len(p.Options) == 0 {
		return
	}
	r.mu.Lock()
	r.poll, r.pollOpts = p.ID, len(p.Options)
	r.pollGen++
	r.mu.Unlock()
}

// question returns a recent question ID chosen with pick, or "".
func (r *roomState) question(pick func(n int) int) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := min(r.nq, len(r.questions))
	if n == 0 {
		return ""
	}
	return r.questions[(r.nq-1-pick(n))%len(r.questions)]
}

// openPoll returns the open poll, its option count and generation.
func (r *roomState) openPoll() (id string, options int, gen uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.poll, r.pollOpts, r.pollGen
}
