package storage_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/recorder/storage"
)

func TestValidKey(t *testing.T) {
	good := []string{"acme/a", "acme/vod/rec-1/r_2/720p/seg_00001.ts", "a1/x.m3u8"}
	bad := []string{"", "acme", "acme/", "/acme/x", "acme//x", "acme/../beta/x", "acme/./x", "acme/.hidden",
		"ACME/x", "acme/x y", `acme/x\y`, "acme/x%2f", "-acme/x", strings.Repeat("a/", 600)}
	for _, k := range good {
		require.NoError(t, storage.ValidKey(k), k)
	}
	for _, k := range bad {
		require.ErrorIs(t, storage.ValidKey(k), storage.ErrInvalidKey, k)
	}
}

func TestLocal(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := storage.NewLocal(dir)
	require.NoError(t, err)
	defer func() { require.NoError(t, s.Close()); require.NoError(t, s.Close()) }()

	require.NoError(t, s.Put(ctx, "acme/vod/r/a.ts", strings.NewReader("one")))
	require.NoError(t, s.Put(ctx, "acme/vod/r/a.ts", strings.NewReader("second")))
	o, err := s.Open(ctx, "acme/vod/r/a.ts")
	require.NoError(t, err)
	b, err := io.ReadAll(o)
	require.NoError(t, err)
	require.Equal(t, "second", string(b))
	require.EqualValues(t, 6, o.Size())
	require.False(t, o.ModTime().IsZero())
	_, err = o.Seek(3, io.SeekStart)
	require.NoError(t, err)
	b, _ = io.ReadAll(o)
	require.Equal(t, "ond", string(b))
	require.NoError(t, o.Close())

	_, err = s.Open(ctx, "acme/vod/r/missing.ts")
	require.ErrorIs(t, err, storage.ErrNotFound)
	_, err = s.Open(ctx, "acme/vod/r")
	require.ErrorIs(t, err, storage.ErrNotFound, "directories are not objects")
	_, err = s.Open(ctx, "acme/../../etc/passwd")
	require.ErrorIs(t, err, storage.ErrInvalidKey)
	require.ErrorIs(t, s.Put(ctx, "acme/../x", strings.NewReader("")), storage.ErrInvalidKey)

	// A symlink planted inside the root cannot lead outside it.
	outside := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(outside, []byte("secret"), 0o600))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "acme", "vod", "link")))
	_, err = s.Open(ctx, "acme/vod/link")
	require.Error(t, err)
	require.NotErrorIs(t, err, storage.ErrNotFound)

	// No temporary files left behind.
	entries, err := os.ReadDir(filepath.Join(dir, "acme", "vod", "r"))
	require.NoError(t, err)
	require.Len(t, entries, 1)

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	require.ErrorIs(t, s.Put(cctx, "acme/x", bytes.NewReader(nil)), context.Canceled)
}

func TestPutDir(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(src, "720p"), 0o750))
	require.NoError(t, os.WriteFile(filepath.Join(src, "master.m3u8"), []byte("#EXTM3U\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(src, "720p", "seg_00000.ts"), []byte("ts"), 0o600))
	s, err := storage.NewLocal(t.TempDir())
	require.NoError(t, err)
	require.NoError(t, storage.PutDir(ctx, s, "acme/vod/r1/v1/", src))
	for _, k := range []string{"acme/vod/r1/v1/master.m3u8", "acme/vod/r1/v1/720p/seg_00000.ts"} {
		o, err := s.Open(ctx, k)
		require.NoError(t, err, k)
		require.NoError(t, o.Close())
	}
}
