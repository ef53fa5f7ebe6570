package main

import (
	"context"

	"github.com/plenaryhq/plenary/chat"
	"github.com/plenaryhq/plenary/internal/config"
	"github.com/plenaryhq/plenary/signaling"
	"github.com/plenaryhq/plenary/signaling/sfunode"
)

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
	if p.sfu != nil {
		deps.Media = signaling.SingleNode{Node: sfunode.New(cfg.Region, p.sfu)}
	} else {
		p.log.Warn("signaling without a local sfu role: rooms work without media (cross-process SFU RPC is not built yet)")
	}
	origins := []string(cfg.AllowedOrigins)
	if len(origins) == 0 && cfg.PublicURL != "" {
		origins = []string{cfg.BaseURL()}
	}
	gw, err := signaling.New(signaling.Config{AllowedOrigins: origins}, deps)
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
