package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/plenaryhq/plenary/internal/tenant"
)

// MaxTokenSize is the longest token string Verify parses; longer input is
// rejected as malformed before any decoding.
const MaxTokenSize = 8 << 10

// DefaultLeeway is the clock skew tolerated on exp, nbf and iat.
const DefaultLeeway = 30 * time.Second

// Verifier checks a token and returns its claims. *JWTVerifier implements it;
// the middleware and signaling depend on this interface only.
type Verifier interface {
	// Verify returns the claims of a valid token, or an error wrapping one
	// of the package's sentinels (ErrExpired, ErrBadSignature, ...).
	Verify(ctx context.Context, token string) (*Claims, error)
}

var _ Verifier = (*JWTVerifier)(nil)

// VerifierOptions configures NewVerifier. The zero value is ready to use.
type VerifierOptions struct {
	// Leeway is the clock skew tolerated on exp, nbf and iat; zero means
	// DefaultLeeway (30s).
	Leeway time.Duration
	// Audience, when set, must appear in the token's aud claim.
	Audience string
	// Now replaces time.Now, for tests. Nil means time.Now.
	Now func() time.Time
}

// JWTVerifier verifies Plenary tokens: JWS compact serialisation, HS256
// only, kid header naming a usable key of the tenant in the tid claim,
// iss "plenary", exp required.
//
// Algorithm confusion is ruled out before any key is looked up: "none", RS*,
// ES*, PS*, EdDSA and other HMAC sizes are all rejected, so a public value
// can never be used as an HMAC secret and an unsigned token never passes.
// The key is chosen by the token's own tid, and each tenant has its own
// secrets, so a token signed with tenant A's key cannot verify as tenant B.
type JWTVerifier struct {
	keys   KeySource
	parser *jwt.Parser
}

// NewVerifier returns a verifier that takes keys from keys (normally the
// *Tenants registry, whose cache keeps Verify off the store).
func NewVerifier(keys KeySource, opts VerifierOptions) *JWTVerifier {
	leeway := opts.Leeway
	if leeway <= 0 {
		leeway = DefaultLeeway
	}
	popts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithLeeway(leeway),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(IssuerName),
		// Strict base64 makes each token's encoding unique: no trailing
		// bits or padding can be changed while keeping the signature valid.
		jwt.WithStrictDecoding(),
	}
	if opts.Audience != "" {
		popts = append(popts, jwt.WithAudience(opts.Audience))
	}
	if opts.Now != nil {
		popts = append(popts, jwt.WithTimeFunc(opts.Now))
	}
	return &JWTVerifier{keys: keys, parser: jwt.NewParser(popts...)}
}

// Verify checks token and returns its claims. Errors wrap exactly one of
// ErrMissingToken, ErrMalformed, ErrAlgNone, ErrBadAlgorithm,
// ErrBadSignature, ErrExpired, ErrNotYetValid, ErrInvalidClaims,
// ErrUnknownTenant, ErrUnknownKey or ErrUnavailable.
func (v *JWTVerifier) Verify(ctx context.Context, token string) (*Claims, error) {
	c, err := v.verify(ctx, token)
	countVerification(err)
	return c, err
}

func (v *JWTVerifier) verify(ctx context.Context, raw string) (*Claims, error) {
	if raw == "" {
		return nil, ErrMissingToken
	}
	if len(raw) > MaxTokenSize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrMalformed, len(raw), MaxTokenSize)
	}
	var (
		tc     tokenClaims
		kid    string
		keyErr error
	)
	// The parser calls this only after the header, claims and signature
	// decoded and the algorithm passed WithValidMethods.
	keyFunc := func(t *jwt.Token) (any, error) {
		kid, _ = t.Header["kid"].(string)
		if kid == "" {
			keyErr = fmt.Errorf("%w: no kid header", ErrMalformed)
			return nil, keyErr
		}
		id, err := tenant.Parse(tc.Tenant)
		if err != nil {
			keyErr = fmt.Errorf("%w: tid: %w", ErrInvalidClaims, err)
			return nil, keyErr
		}
		k, err := v.keys.VerificationKey(ctx, id, kid)
		if err != nil {
			keyErr = err
			return nil, err
		}
		return k.Secret, nil
	}
	tok, err := v.parser.ParseWithClaims(raw, &tc, keyFunc)
	if err != nil {
		if keyErr != nil {
			return nil, keyErr
		}
		return nil, classify(tok, err)
	}
	return tc.toClaims(kid)
}

// classify maps a jwt parse error onto the package's sentinels. The
// algorithm is checked before the signature because the library reports a
// refused algorithm as a signature error.
func classify(tok *jwt.Token, err error) error {
	if errors.Is(err, jwt.ErrTokenMalformed) {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if tok != nil {
		alg, _ := tok.Header["alg"].(string)
		switch {
		case strings.EqualFold(alg, "none"):
			return fmt.Errorf("%w: alg %q", ErrAlgNone, alg)
		case alg != jwt.SigningMethodHS256.Alg():
			return fmt.Errorf("%w: alg %q", ErrBadAlgorithm, alg)
		}
	}
	switch {
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return fmt.Errorf("%w: %v", ErrBadSignature, err)
	case errors.Is(err, jwt.ErrTokenExpired):
		return fmt.Errorf("%w: %v", ErrExpired, err)
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return fmt.Errorf("%w: %v", ErrNotYetValid, err)
	case errors.Is(err, jwt.ErrTokenInvalidClaims):
		return fmt.Errorf("%w: %v", ErrInvalidClaims, err)
	}
	return fmt.Errorf("%w: %v", ErrMalformed, err)
}
