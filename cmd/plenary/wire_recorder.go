package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pion/webrtc/v4"

	"github.com/plenaryhq/plenary/internal/config"
	"github.com/plenaryhq/plenary/recorder/capture"
	"github.com/plenaryhq/plenary/recorder/library"
	"github.com/plenaryhq/plenary/recorder/playback"
	"github.com/plenaryhq/plenary/recorder/storage"
	"github.com/plenaryhq/plenary/recorder/vodjob"
	"github.com/plenaryhq/plenary/signaling"
	"github.com/plenaryhq/plenary/signaling/sfunode"
)

// wireRecorder composes the library (web role: REST, xAPI, certificates,
// signed /media/), the capture manager and the packaging worker (recorder
// role). The capture manager joins rooms as a hidden participant of the
// media node the room is on: this process's SFU, or with --redis-url any
// SFU node of the registry, reached over the bus (recorderSelector).
func (p *platform) wireRecorder(ctx context.Context) error {
	cfg := p.cfg
	recDir := orDefault(cfg.RecordingsDir, filepath.Join(cfg.DataDir, "recordings"))
	mediaDir := orDefault(cfg.MediaDir, filepath.Join(cfg.DataDir, "media"))
	key, err := mediaSigningKey(cfg)
	if err != nil {
		return err
	}
	signer, err := playback.NewSigner(key)
	if err != nil {
		return fmt.Errorf("media signing key: %w", err)
	}
	media, err := storage.NewLocal(mediaDir)
	if err != nil {
		return fmt.Errorf("media dir: %w", err)
	}
	lib, err := library.New(ctx, p.store, library.Config{PublicURL: cfg.BaseURL(), Playback: signer}, p.log)
	if err != nil {
		return err
	}
	p.library = lib
	if cfg.HasRole(config.RoleWeb) {
		p.http.Handle("/media/", playback.NewHandler(media, signer, p.log))
		lib.Register(p.http.Mux(), p.authMW)
		p.workers = append(p.workers, lib.Run)
	}
	if !cfg.HasRole(config.RoleRecorder) {
		return nil
	}
	if err := os.MkdirAll(recDir, 0o750); err != nil {
		return fmt.Errorf("recordings dir: %w", err)
	}
	worker, err := vodjob.New(p.queue, media, lib, vodjob.Config{RecordingsDir: recDir}, p.log)
	if err != nil {
		return err
	}
	p.workers = append(p.workers, worker.Run)
	if p.sfu == nil && p.cfg.RedisURL == "" {
		p.log.Warn("recorder role without a local sfu role and without --redis-url: recordings are packaged here but captured by a process that reaches an SFU")
		return nil
	}
	sel, err := p.recorderSelector(ctx)
	if err != nil {
		return err
	}
	api, err := capture.NewAPI(webrtc.SettingEngine{})
	if err != nil {
		return err
	}
	mgr, err := capture.NewManager(sel, p.queue, lib, capture.ManagerConfig{RecordingsDir: recDir, API: api}, p.log)
	if err != nil {
		return err
	}
	p.workers = append(p.workers, mgr.Run)
	return nil
}

// recorderSelector is how the capture manager reaches SFU nodes: with the
// signaling role or a shared Redis, the gateway's selector (the Redis node
// registry and the bus RPC, this process's SFU called directly); with
// neither, this process's SFU (which the caller checked exists) as the only
// node.
func (p *platform) recorderSelector(ctx context.Context) (signaling.NodeSelector, error) {
	if p.cfg.HasRole(config.RoleSignaling) || p.cfg.RedisURL != "" {
		return p.mediaSelector(ctx)
	}
	return signaling.SingleNode{Node: sfunode.New(p.sfuNodeID(), p.sfu)}, nil
}

// mediaSigningKey returns the configured key or, for the one-machine
// default, a random key created once and kept in the data dir.
func mediaSigningKey(cfg config.Config) ([]byte, error) {
	if cfg.MediaSigningKey != "" {
		return []byte(cfg.MediaSigningKey), nil
	}
	path := filepath.Join(cfg.DataDir, "media-signing.key")
	b, err := os.ReadFile(path)
	if err == nil {
		return []byte(strings.TrimSpace(string(b))), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("media signing key: %w", err)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, err
	}
	k := hex.EncodeToString(raw[:])
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, []byte(k+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("media signing key: %w", err)
	}
	return []byte(k), nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
