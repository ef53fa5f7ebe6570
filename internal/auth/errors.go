package auth

import (
	"errors"
	"net/http"
)

// Sentinel errors of the auth package. Verify, the middleware and the tenant
// registry wrap them with %w; test with errors.Is. The message a client sees
// is never err.Error() but the fixed text of the matching ClientError, so
// internal details (key ids, store errors) do not leak.
var (
	// ErrMissingToken means the request carried no token at all.
	ErrMissingToken = errors.New("missing token")
	// ErrMalformed means the token is not a well-formed JWS compact
	// serialisation (segments, base64, JSON, kid header, size).
	ErrMalformed = errors.New("malformed token")
	// ErrExpired means the token's exp lies in the past (beyond the leeway).
	ErrExpired = errors.New("token expired")
	// ErrNotYetValid means the token's nbf or iat lies in the future (beyond
	// the leeway).
	ErrNotYetValid = errors.New("token not yet valid")
	// ErrBadSignature means the HMAC does not match: the token was altered or
	// signed with another key.
	ErrBadSignature = errors.New("bad token signature")
	// ErrAlgNone means the token declares the unsecured "none" algorithm.
	ErrAlgNone = errors.New("unsecured token (alg none)")
	// ErrBadAlgorithm means the token declares an algorithm other than HS256.
	ErrBadAlgorithm = errors.New("token algorithm not accepted")
	// ErrUnknownTenant means the token's tenant (tid) is not registered.
	ErrUnknownTenant = errors.New("unknown tenant")
	// ErrUnknownKey means the tenant has no usable key with the token's kid
	// (never issued, or retired).
	ErrUnknownKey = errors.New("unknown signing key")
	// ErrWrongTenant means a valid token of one tenant was presented for
	// another tenant's resource.
	ErrWrongTenant = errors.New("token belongs to another tenant")
	// ErrInvalidClaims means a signed token lacks a required claim or carries
	// a bad value (no exp, no sub, bad tid, unknown role, wrong iss or aud).
	ErrInvalidClaims = errors.New("invalid token claims")
	// ErrForbidden means the token is valid but its role or room grants do not
	// allow the request.
	ErrForbidden = errors.New("forbidden")
	// ErrUnavailable means the key store could not be read; the request may
	// succeed later.
	ErrUnavailable = errors.New("auth key store unavailable")

	// ErrTenantExists is returned by CreateTenant for an ID already taken.
	ErrTenantExists = errors.New("tenant already exists")
	// ErrLastKey is returned by RetireKey when retiring the key would leave
	// the tenant unable to mint tokens.
	ErrLastKey = errors.New("cannot retire the tenant's last usable key")
	// ErrInvalidRole is returned by ParseRole for a name it does not know.
	ErrInvalidRole = errors.New("invalid role")
	// ErrInvalidRequest is returned by Mint for a request it cannot sign
	// (no subject, unknown role, negative TTL).
	ErrInvalidRequest = errors.New("invalid mint request")
)

// Code is the stable numeric code sent to clients in error bodies and close
// frames. Codes never change meaning once released; the range 1000–1099 is
// reserved for authentication and authorisation.
type Code int

// Client-visible error codes.
const (
	// CodeOK is not an error; it labels successful verifications in metrics.
	CodeOK Code = 0
	// CodeMissingToken: no Authorization header and, for WebSocket upgrades,
	// no access_token query parameter.
	CodeMissingToken Code = 1001
	// CodeMalformed: the token is not a well-formed JWT.
	CodeMalformed Code = 1002
	// CodeExpired: exp is in the past.
	CodeExpired Code = 1003
	// CodeNotYetValid: nbf or iat is in the future.
	CodeNotYetValid Code = 1004
	// CodeBadSignature: the signature does not verify.
	CodeBadSignature Code = 1005
	// CodeAlgNone: the token is unsigned (alg none).
	CodeAlgNone Code = 1006
	// CodeBadAlgorithm: the algorithm is not HS256.
	CodeBadAlgorithm Code = 1007
	// CodeUnknownTenant: the token names a tenant that does not exist.
	CodeUnknownTenant Code = 1008
	// CodeUnknownKey: the token's kid is not a usable key of its tenant.
	CodeUnknownKey Code = 1009
	// CodeWrongTenant: the token belongs to another tenant than the URL.
	CodeWrongTenant Code = 1010
	// CodeInvalidClaims: a required claim is missing or invalid.
	CodeInvalidClaims Code = 1011
	// CodeForbidden: the role or room grants do not allow the request.
	CodeForbidden Code = 1012
	// CodeUnavailable: keys could not be loaded; retry later.
	CodeUnavailable Code = 1013
	// CodeInternal: an unexpected error; not caused by the token.
	CodeInternal Code = 1099
)

// ClientError is what a client is told about a rejected request: a stable
// code, a fixed message and whether retrying the same request may succeed.
type ClientError struct {
	Code      Code   `json:"code"`
	Message   string `json:"message"`
	Retryable bool   `json:"retryable"`
}

// Error makes ClientError usable as an error value.
func (e ClientError) Error() string { return e.Message }

// errorInfo ties a sentinel to its client view, HTTP status and metric label.
type errorInfo struct {
	err    error
	code   Code
	status int
	label  string
	msg    string
}

// errorTable is ordered so that the most specific sentinel wins when an error
// wraps several.
var errorTable = []errorInfo{
	{ErrMissingToken, CodeMissingToken, http.StatusUnauthorized, "missing_token", "a bearer token is required"},
	{ErrMalformed, CodeMalformed, http.StatusUnauthorized, "malformed", "the token is malformed"},
	{ErrExpired, CodeExpired, http.StatusUnauthorized, "expired", "the token has expired"},
	{ErrNotYetValid, CodeNotYetValid, http.StatusUnauthorized, "not_yet_valid", "the token is not valid yet"},
	{ErrBadSignature, CodeBadSignature, http.StatusUnauthorized, "bad_signature", "the token signature is invalid"},
	{ErrAlgNone, CodeAlgNone, http.StatusUnauthorized, "alg_none", "unsigned tokens are not accepted"},
	{ErrBadAlgorithm, CodeBadAlgorithm, http.StatusUnauthorized, "bad_algorithm", "the token algorithm is not accepted"},
	{ErrUnknownTenant, CodeUnknownTenant, http.StatusUnauthorized, "unknown_tenant", "the token names an unknown tenant"},
	{ErrUnknownKey, CodeUnknownKey, http.StatusUnauthorized, "unknown_key", "the token signing key is unknown or retired"},
	{ErrWrongTenant, CodeWrongTenant, http.StatusUnauthorized, "wrong_tenant", "the token belongs to another tenant"},
	{ErrInvalidClaims, CodeInvalidClaims, http.StatusUnauthorized, "invalid_claims", "the token claims are invalid"},
	{ErrForbidden, CodeForbidden, http.StatusForbidden, "forbidden", "the token does not grant access to this resource"},
	{ErrUnavailable, CodeUnavailable, http.StatusServiceUnavailable, "unavailable", "authentication is temporarily unavailable"},
}

// internalInfo describes errors that match no sentinel.
var internalInfo = errorInfo{nil, CodeInternal, http.StatusInternalServerError, "internal", "internal error"}

func infoFor(err error) errorInfo {
	for _, e := range errorTable {
		if errors.Is(err, e.err) {
			return e
		}
	}
	return internalInfo
}

// ToClientError maps err (from Verify, the middleware checks or the tenant
// registry) to the value a client may see. Signaling uses it to fill close
// frames; the HTTP middleware uses it for response bodies.
func ToClientError(err error) ClientError {
	in := infoFor(err)
	return ClientError{Code: in.code, Message: in.msg, Retryable: in.code == CodeUnavailable}
}

// HTTPStatus is the HTTP status for err: 401 for every token problem
// (including a token of the wrong tenant, as the foundation issue asks),
// 403 for a valid token without the needed role or room, 503 when keys cannot
// be loaded.
func HTTPStatus(err error) int { return infoFor(err).status }
