// Package playback serves packaged VODs over HTTP behind signed URLs.
//
// A signed URL grants one tenant's files under one path prefix until an
// expiry: the query carries tenant, prefix and expires, and sig, an
// HMAC-SHA256 over the three. The handler serves /media/{tenant}/{path} only
// when the signature verifies, the URL's tenant is the path's tenant, the
// path lies under the prefix and the expiry has not passed; anything else is
// 403. HLS players resolve playlist entries relative to the playlist and drop
// its query, so the handler appends the caller's signature to every URI in
// the playlists it serves: one signed master URL plays the whole VOD.
//
// Playlists are sent with a short Cache-Control, segments as immutable
// (the VOD job writes every packaging run under a new prefix, so a segment
// URL never changes content).
package playback

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/plenaryhq/plenary/internal/tenant"
)

// Sentinel errors of the package.
var (
	// ErrForbidden means a URL's signature is missing, forged, expired,
	// for another tenant or for another prefix.
	ErrForbidden = errors.New("playback: forbidden")
	// ErrKey means a signing key is too short.
	ErrKey = errors.New("playback: signing key must be at least 32 bytes")
)

// Query parameter names of a signed URL.
const (
	ParamTenant  = "tenant"
	ParamPrefix  = "prefix"
	ParamExpires = "expires"
	ParamSig     = "sig"
)

// MinKeyLen is the shortest signing key accepted.
const MinKeyLen = 32

// Signer signs and verifies playback URLs. It is safe for concurrent use.
type Signer struct {
	keys [][]byte // keys[0] signs; all verify (rotation)
	now  func() time.Time
}

// NewSigner returns a Signer that signs with key and also accepts
// signatures made with any of previous (for key rotation).
func NewSigner(key []byte, previous ...[]byte) (*Signer, error) {
	s := &Signer{now: time.Now}
	for _, k := range append([][]byte{key}, previous...) {
		if len(k) < MinKeyLen {
			return nil, ErrKey
		}
		s.keys = append(s.keys, append([]byte(nil), k...))
	}
	return s, nil
}

// WithClock returns a copy of s that reads time from now (tests).
func (s *Signer) WithClock(now func() time.Time) *Signer {
	c := *s
	c.now = now
	return &c
}

// mac computes the signature of (tenant, prefix, expires) with key.
func mac(key []byte, t tenant.ID, prefix string, expires int64) []byte {
	m := hmac.New(sha256.New, key)
	// Length-prefixed fields, so that no two triples share an encoding.
	fmt.Fprintf(m, "plenary-media-v1\n%d:%s\n%d:%s\n%d", len(t), t, len(prefix), prefix, expires)
	return m.Sum(nil)
}

// Sign returns the query that grants tenant t's files under prefix (a path
// relative to the tenant's root: "vod/rec1/run1/" for a directory, or one
// file's path) until expires.
func (s *Signer) Sign(t tenant.ID, prefix string, expires time.Time) url.Values {
	exp := expires.Unix()
	return url.Values{
		ParamTenant:  {string(t)},
		ParamPrefix:  {prefix},
		ParamExpires: {strconv.FormatInt(exp, 10)},
		ParamSig:     {base64.RawURLEncoding.EncodeToString(mac(s.keys[0], t, prefix, exp))},
	}
}

// URL returns base + "/media/{t}/{file}?{signature}", signed for prefix and
// valid for ttl. file must lie under prefix.
func (s *Signer) URL(base string, t tenant.ID, prefix, file string, ttl time.Duration) string {
	q := s.Sign(t, prefix, s.now().Add(ttl))
	return strings.TrimSuffix(base, "/") + DefaultMount + string(t) + "/" + file + "?" + q.Encode()
}

// Verify checks that q grants tenant t the file at path (relative to the
// tenant's root). The returned error wraps ErrForbidden and says why, for
// logs; clients only ever see 403.
func (s *Signer) Verify(t tenant.ID, path string, q url.Values) error {
	if q.Get(ParamTenant) != string(t) {
		return fmt.Errorf("%w: signed for another tenant", ErrForbidden)
	}
	prefix := q.Get(ParamPrefix)
	if !underPrefix(path, prefix) {
		return fmt.Errorf("%w: %q is outside the signed prefix %q", ErrForbidden, path, prefix)
	}
	exp, err := strconv.ParseInt(q.Get(ParamExpires), 10, 64)
	if err != nil {
		return fmt.Errorf("%w: bad expiry", ErrForbidden)
	}
	sig, err := base64.RawURLEncoding.DecodeString(q.Get(ParamSig))
	if err != nil || len(sig) != sha256.Size {
		return fmt.Errorf("%w: bad signature", ErrForbidden)
	}
	ok := false
	for _, k := range s.keys {
		if hmac.Equal(sig, mac(k, t, prefix, exp)) {
			ok = true
		}
	}
	if !ok {
		return fmt.Errorf("%w: signature does not verify", ErrForbidden)
	}
	if !s.now().Before(time.Unix(exp, 0)) {
		return fmt.Errorf("%w: expired", ErrForbidden)
	}
	return nil
}

// underPrefix: a prefix ending in "/" grants everything below it, any other
// non-empty prefix grants exactly that file, and "" grants the whole tenant.
func underPrefix(path, prefix string) bool {
	switch {
	case prefix == "":
		return true
	case strings.HasSuffix(prefix, "/"):
		return strings.HasPrefix(path, prefix)
	}
	return path == prefix
}
