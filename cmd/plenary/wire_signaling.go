package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"

	"github.com/plenaryhq/plenary/chat"
	"github.com/plenaryhq/plenary/internal/config"
	"github.com/plenaryhq/plenary/internal/noderegistry"
	"github.com/plenaryhq/plenary/signaling"
	"github.com/plenaryhq/plenary/signaling/sfunode"
	"github.com/plenaryhq/plenary/signaling/sfurpc"
)

// mediaSelector is how the gateway reaches SFU nodes. With a shared Redis
// it places participants on the nodes of the Redis node registry (this
// process's own SFU, if it runs one, is called directly; others over the
// bus RPC, signaling/sfurpc). Without Redis there is one process and its
// own SFU is the only node.
func (p *platform) mediaSelector(ctx context.Context) (signaling.NodeSelector, error) {
	if p.media != nil {
		return p.media, nil
	}
	sel, err := p.buildMediaSelector(ctx)
	if err != nil {
		return nil, err
	}
	p.media = sel
	return sel, nil
}

func (p *platform) buildMediaSelector(ctx context.Context) (signaling.NodeSelector, error) {
	var local signaling.MediaNode
	if p.sfu != nil {
		local = sfunode.New(p.sfuNodeID(), p.sfu)
	}
	if p.cfg.RedisURL == "" {
		if local == nil {
			p.log.Warn("signaling without an sfu role and without --redis-url: rooms work without media (run SFU nodes with a shared Redis)")
			return signaling.SingleNode{}, nil
		}
		return signaling.SingleNode{Node: local}, nil
	}
	reg, err := noderegistry.NewRedisRegistry(ctx, noderegistry.RedisConfig{URL: p.cfg.RedisURL, Prefix: p.cfg.Prefix}, p.log)
	if err != nil {
		return nil, err
	}
	p.closers = append(p.closers, reg.Close)
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	client, err := sfurpc.NewClient(ctx, p.bus, p.sfuNodeID()+"-gw-"+hex.EncodeToString(suffix[:]), sfurpc.Config{}, p.log)
	if err != nil {
		return nil, err
	}
	p.closers = append(p.closers, client.Close)
	return &sfurpc.Selector{Registry: reg, Client: client, Local: local, Region: p.cfg.Region}, nil
}

// serveSFURPC answers gateways in other processes for this node's SFU.
func (p *platform) serveSFURPC() error {
	srv, err := sfurpc.NewServer(p.bus, sfunode.New(p.sfuNodeID(), p.sfu), sfurpc.Config{}, p.log)
	if err != nil {
		return err
	}
	p.drainWorkers = append(p.drainWorkers, srv.Run)
	return nil
}

// wireSignaling composes the WebSocket gateway (signaling role), the chat
// service on the same WebSocket (chat role) and the live page.
func (p *platform) wireSignaling(ctx context.Context) error {
	cfg := p.cfg
	if !cfg.HasRole(config.RoleSignaling) {
		if cfg.HasRole(config.RoleChat) && len(cfg.Roles) > 0 {
			p.log.Warn("chat role without the signaling role does nothing: chat is served on the gateway's WebSocket")
		}
		return nil
	}
	deps := signaling.Deps{Bus: p.bus, Verifier: p.verifier, Draining: p.http.Draining, Log: p.log}
	if cfg.RedisURL != "" {
		st, err := signaling.NewRedisState(ctx, signaling.RedisStateConfig{URL: cfg.RedisURL, Prefix: cfg.Prefix}, p.log)
		if err != nil {
			return err
		}
		deps.State = st
		p.addService("signaling-state", st)
	}
	media, err := p.mediaSelector(ctx)
	if err != nil {
		return err
	}
	deps.Media = media
	origins := []string(cfg.AllowedOrigins)
	if len(origins) == 0 && cfg.PublicURL != "" {
		origins = []string{cfg.BaseURL()}
	}
	window := cfg.ChatWindow
	if window == 0 {
		window = -1 // signaling: negative is off, 0 the default
	}
	gw, err := signaling.New(signaling.Config{AllowedOrigins: origins, ChatWindow: window}, deps)
	if err != nil {
		return err
	}
	gw.RegisterRoutes(p.http)
	p.http.OnDrain(gw.Drain)
	p.workers = append(p.workers, gw.Run)
	p.closers = append(p.closers, gw.Close)

	if !cfg.HasRole(config.RoleChat) {
		return nil
	}
	var hist chat.History
	if cfg.RedisURL != "" {
		rh, err := chat.NewRedisHistory(ctx, chat.RedisHistoryConfig{URL: cfg.RedisURL, Prefix: cfg.Prefix}, p.log)
		if err != nil {
			return err
		}
		hist = rh
		p.addService("chat-history", rh)
	}
	svc, err := chat.New(chat.Config{}, chat.Deps{Store: p.store, History: hist, Publisher: gw, Bus: p.bus, Log: p.log})
	if err != nil {
		return err
	}
	p.closers = append(p.closers, svc.Close)
	for _, prefix := range chat.Prefixes() {
		if err := gw.Register(prefix, svc); err != nil {
			return err
		}
	}
	gw.AddObserver(svc)
	p.http.Handle(chat.HistoryRoute, p.authMW(svc.HistoryHandler()))
	return nil
}
