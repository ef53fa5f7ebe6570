package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Local stores objects as files under a root directory. Paths are resolved
// with os.Root, so neither a key nor a symlink planted inside the directory
// can reach a file outside it.
type Local struct {
	root      *os.Root
	seq       atomic.Uint64
	closeOnce sync.Once
	closeErr  error
}

var _ Storage = (*Local)(nil)

// NewLocal opens (creating it if needed) the directory dir.
func NewLocal(dir string) (*Local, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	return &Local{root: r}, nil
}

// Put implements Storage: the content goes to a temporary file next to the
// target, which is then renamed over it.
func (l *Local) Put(ctx context.Context, key string, r io.Reader) error {
	if err := ValidKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := l.root.MkdirAll(path.Dir(key), 0o750); err != nil {
		return fmt.Errorf("storage: put %s: %w", key, err)
	}
	// The temporary name starts with a dot, which ValidKey never accepts,
	// so a half-written file can never be served.
	tmp := path.Join(path.Dir(key), ".tmp-"+strconv.FormatUint(l.seq.Add(1), 10)+"-"+path.Base(key))
	f, err := l.root.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return fmt.Errorf("storage: put %s: %w", key, err)
	}
	_, werr := io.Copy(f, r)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = l.root.Remove(tmp)
		return fmt.Errorf("storage: put %s: %w", key, err)
	}
	if err := l.root.Rename(tmp, key); err != nil {
		_ = l.root.Remove(tmp)
		return fmt.Errorf("storage: put %s: %w", key, err)
	}
	return nil
}

// Open implements Storage.
func (l *Local) Open(_ context.Context, key string) (Object, error) {
	if err := ValidKey(key); err != nil {
		return nil, err
	}
	f, err := l.root.Open(key)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	if err != nil {
		return nil, fmt.Errorf("storage: open %s: %w", key, err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("storage: open %s: %w", key, err)
	}
	if !st.Mode().IsRegular() {
		_ = f.Close()
		return nil, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	return &localObject{File: f, size: st.Size(), mod: st.ModTime()}, nil
}

// Close releases the root directory. It is idempotent.
func (l *Local) Close() error {
	l.closeOnce.Do(func() { l.closeErr = l.root.Close() })
	return l.closeErr
}

type localObject struct {
	*os.File
	size int64
	mod  time.Time
}

func (o *localObject) Size() int64        { return o.size }
func (o *localObject) ModTime() time.Time { return o.mod }
