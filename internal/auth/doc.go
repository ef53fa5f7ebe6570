// Package auth authenticates Plenary's HTTP and WebSocket clients with
// per-tenant JWTs.
//
// # Tenants and keys
//
// Every organizer is a tenant, registered in the store's system collection
// "tenants" (Tenants). Each tenant has its own HMAC-SHA256 signing keys,
// generated at random (32 bytes) and kept in the tenant's document. The
// newest usable key signs new tokens; RotateKey adds a key and RetireKey
// stops an old one from verifying. Keys are cached in memory for a short
// TTL, so verifying a token does not read the store; a token naming a kid
// the cache does not know re-reads its tenant, which is how a key rotated in
// by another process is picked up.
//
// # Tokens
//
// Tokens are JWS compact serialisations (RFC 7515) signed with HS256 only,
// with a kid header naming the key. The payload carries the registered
// claims sub, iss ("plenary"), exp (required), iat, nbf and optionally aud,
// and Plenary's claims:
//
//	tid    tenant ID; selects whose keys verify the token
//	name   display name
//	role   attendee | speaker | moderator | organizer
//	rooms  room grants; absent or empty = every room of the tenant
//
// Room grants follow one rule for every role: no rooms means all of the
// tenant's rooms, a list means exactly those rooms (Claims.CanAccessRoom).
// The role decides what the bearer may do inside a room (Role.AtLeast).
//
// # HTTP
//
// Middleware verifies "Authorization: Bearer <JWT>" (and, on WebSocket
// upgrades only, ?access_token=<JWT>) and stores the Claims in the request
// context (ClaimsFrom). RequireTenant, RequireRole and RequireRoom refine the
// check per route. Refusals carry a stable numeric Code in a JSON body
// {"error":{"code":N,"message":"...","retryable":false}} and a
// WWW-Authenticate challenge (RFC 6750 §3).
package auth
