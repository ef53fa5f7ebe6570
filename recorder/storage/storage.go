// Package storage keeps the recorder's media files (packaged VODs) behind a
// small interface. Local, a directory on disk, is the embedded default; an
// object store can implement the same two methods.
//
// Keys are slash-separated paths whose first element is the tenant, e.g.
// "acme/vod/rec1/r1/720p/seg_00001.ts", so every tenant's media lives under a
// prefix of its own. ValidKey rejects anything that could escape it.
package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/plenaryhq/plenary/internal/tenant"
)

// Sentinel errors of the storage.
var (
	// ErrNotFound means no object has the key.
	ErrNotFound = errors.New("storage: not found")
	// ErrInvalidKey means a key is malformed or would leave its tenant's
	// prefix.
	ErrInvalidKey = errors.New("storage: invalid key")
)

// MaxKeyLen is the longest key accepted.
const MaxKeyLen = 1024

// Storage stores and serves media objects.
type Storage interface {
	// Put stores r's content under key, replacing any object there. Readers
	// see the old object or the new one, never a partial one.
	Put(ctx context.Context, key string, r io.Reader) error
	// Open returns the object for reading; ErrNotFound when missing.
	Open(ctx context.Context, key string) (Object, error)
}

// Object is an open stored object. Seek lets HTTP serve byte ranges.
type Object interface {
	io.ReadSeekCloser
	// Size is the object's length in bytes; ModTime when it was stored.
	Size() int64
	ModTime() time.Time
}

// Key joins a tenant and a path into a storage key.
func Key(t tenant.ID, path string) string { return string(t) + "/" + path }

// ValidKey checks a key: 1-1024 bytes, elements separated by single
// slashes, the first a valid tenant ID, each made of letters, digits and
// "._-", none empty, none starting with a dot (so no ".." and no hidden
// files).
func ValidKey(key string) error {
	if key == "" || len(key) > MaxKeyLen {
		return fmt.Errorf("%w: length %d", ErrInvalidKey, len(key))
	}
	elems := strings.Split(key, "/")
	if len(elems) < 2 {
		return fmt.Errorf("%w: %q has no tenant prefix", ErrInvalidKey, key)
	}
	if _, err := tenant.Parse(elems[0]); err != nil {
		return fmt.Errorf("%w: %q: %w", ErrInvalidKey, key, err)
	}
	for _, e := range elems[1:] {
		if e == "" || e[0] == '.' {
			return fmt.Errorf("%w: %q", ErrInvalidKey, key)
		}
		for i := 0; i < len(e); i++ {
			c := e[i]
			switch {
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
			default:
				return fmt.Errorf("%w: %q: character %q", ErrInvalidKey, key, c)
			}
		}
	}
	return nil
}

// PutDir uploads every regular file under dir to prefix + its relative path
// (prefix ends with "/"). Packaged VODs are uploaded this way.
func PutDir(ctx context.Context, s Storage, prefix, dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		f, err := os.Open(path) //nolint:gosec // walking the caller's directory
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }()
		return s.Put(ctx, prefix+filepath.ToSlash(rel), f)
	})
}
