package library

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/plenaryhq/plenary/internal/tenant"
)

// LRSConfig is a tenant's external Learning Record Store.
type LRSConfig struct {
	// Endpoint is the LRS's xAPI base URL (statements are POSTed to
	// Endpoint + "statements"); empty disables forwarding.
	Endpoint string `bson:"endpoint" json:"endpoint"`
	// Username and Password are sent with HTTP basic auth (the LRS key and
	// secret). The password is stored as given and never returned by the
	// API.
	Username string `bson:"username" json:"username"`
	Password string `bson:"password" json:"password,omitempty"`
}

type lrsDoc struct {
	DocID     string `bson:"_id"`
	LRSConfig `bson:",inline"`
}

// Forwarding tuning.
const (
	forwardQueue    = 4096
	forwardBatch    = 50
	forwardAttempts = 3
	lrsCacheTTL     = 30 * time.Second
)

// SetLRS stores a tenant's LRS configuration; an empty Endpoint turns
// forwarding off.
func (l *Library) SetLRS(ctx context.Context, t tenant.ID, c LRSConfig) error {
	if c.Endpoint != "" {
		u, err := url.Parse(c.Endpoint)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("%w: LRS endpoint %q must be an http(s) URL", ErrInvalid, c.Endpoint)
		}
		if !strings.HasSuffix(c.Endpoint, "/") {
			c.Endpoint += "/"
		}
	}
	id := docID(t, "lrs")
	if _, err := l.lrs.Tenant(t).ReplaceOne(ctx, byID(id), lrsDoc{DocID: id, LRSConfig: c}, true); err != nil {
		return wrapStore(err, "lrs")
	}
	l.fwd.forget(t)
	return nil
}

// LRS returns a tenant's LRS configuration (zero when none).
func (l *Library) LRS(ctx context.Context, t tenant.ID) (LRSConfig, error) {
	var d lrsDoc
	err := l.lrs.Tenant(t).FindOne(ctx, bson.D{{Key: "_id", Value: docID(t, "lrs")}}, &d)
	if err != nil && isNotFound(wrapStore(err, "")) {
		return LRSConfig{}, nil
	}
	return d.LRSConfig, wrapStore(err, "lrs")
}

type fwdItem struct {
	t    tenant.ID
	json string
}

type cachedLRS struct {
	cfg LRSConfig
	at  time.Time
}

// forwarder sends statements to tenants' LRSs in the background. Delivery
// is best effort: a few retries, then the batch is dropped and counted.
// Statements stay in the library either way.
type forwarder struct {
	l      *Library
	ch     chan fwdItem
	client *http.Client

	mu    sync.Mutex
	cache map[tenant.ID]cachedLRS
}

func newForwarder(l *Library) *forwarder {
	return &forwarder{
		l:      l,
		ch:     make(chan fwdItem, forwardQueue),
		client: &http.Client{Timeout: l.cfg.LRSTimeout},
		cache:  map[tenant.ID]cachedLRS{},
	}
}

// config returns the tenant's LRS configuration, cached briefly.
func (f *forwarder) config(ctx context.Context, t tenant.ID) (LRSConfig, error) {
	f.mu.Lock()
	c, ok := f.cache[t]
	f.mu.Unlock()
	if ok && time.Since(c.at) < lrsCacheTTL {
		return c.cfg, nil
	}
	cfg, err := f.l.LRS(ctx, t)
	if err != nil {
		return cfg, err
	}
	f.mu.Lock()
	f.cache[t] = cachedLRS{cfg: cfg, at: time.Now()}
	f.mu.Unlock()
	return cfg, nil
}

func (f *forwarder) forget(t tenant.ID) {
	f.mu.Lock()
	delete(f.cache, t)
	f.mu.Unlock()
}

// enqueue queues a statement if the tenant forwards; it never blocks.
func (f *forwarder) enqueue(t tenant.ID, stmt string) {
	cfg, err := f.config(context.Background(), t)
	if err != nil || cfg.Endpoint == "" {
		return
	}
	select {
	case f.ch <- fwdItem{t: t, json: stmt}:
	default:
		forwarded.WithLabelValues("dropped").Inc()
	}
}

// Run forwards queued statements to the tenants' LRSs until ctx ends.
// main runs it once per process next to the HTTP server.
func (l *Library) Run(ctx context.Context) error {
	f := l.fwd
	for {
		var first fwdItem
		select {
		case <-ctx.Done():
			return nil
		case first = <-f.ch:
		}
		// Batch what is already waiting, per tenant.
		batches := map[tenant.ID][]string{first.t: {first.json}}
	fill:
		for n := 1; n < forwardBatch; n++ {
			select {
			case it := <-f.ch:
				batches[it.t] = append(batches[it.t], it.json)
			default:
				break fill
			}
		}
		for t, stmts := range batches {
			f.send(ctx, t, stmts)
		}
	}
}

// send POSTs one batch with retries.
func (f *forwarder) send(ctx context.Context, t tenant.ID, stmts []string) {
	cfg, err := f.config(ctx, t)
	if err != nil || cfg.Endpoint == "" {
		return
	}
	body := "[" + strings.Join(stmts, ",") + "]"
	backoff := time.Second
	for attempt := 1; ; attempt++ {
		err = f.post(ctx, cfg, body)
		if err == nil {
			forwarded.WithLabelValues("ok").Add(float64(len(stmts)))
			return
		}
		if attempt >= forwardAttempts || ctx.Err() != nil {
			break
		}
		timer := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			timer.Stop()
		case <-timer.C:
		}
		backoff *= 2
	}
	forwarded.WithLabelValues("failed").Add(float64(len(stmts)))
	f.l.log.Warn("statements not forwarded to LRS", "tenant", t, "count", len(stmts), "err", err)
}

// post sends one xAPI statements request (xAPI 1.0.3 Communication §2.1).
func (f *forwarder) post(ctx context.Context, cfg LRSConfig, body string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.Endpoint+"statements", bytes.NewBufferString(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Experience-API-Version", XAPIVersion)
	if cfg.Username != "" || cfg.Password != "" {
		req.SetBasicAuth(cfg.Username, cfg.Password)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	// 409 means the LRS already has these statement IDs: delivered.
	if resp.StatusCode/100 == 2 || resp.StatusCode == http.StatusConflict {
		return nil
	}
	return fmt.Errorf("LRS answered %s", resp.Status)
}
