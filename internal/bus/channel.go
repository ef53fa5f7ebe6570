package bus

import (
	"fmt"
	"strings"

	"github.com/plenaryhq/plenary/internal/tenant"
)

// Channel is a bus channel name. It always carries its scope: a tenant
// ("t:{tenant}:{name}") or the explicit system scope ("sys:{name}") for
// traffic that belongs to no tenant, such as node-addressed RPC. Build one
// with TenantChannel or SystemChannel; Publish and Subscribe reject any other
// shape with ErrInvalidChannel, so a channel without a scope cannot reach the
// wire by accident.
//
// On the wire the backend prepends its configured key prefix and a colon:
// "plenary:t:acme:room:42:chat".
type Channel string

const (
	tenantScope = "t:"
	systemScope = "sys:"
)

// MaxNameLen is the longest channel name (the part after the scope) accepted.
const MaxNameLen = 200

// TenantChannel returns the channel called name inside tenant t. Two tenants
// using the same name get two distinct channels, which is what keeps one
// tenant's messages away from another's subscribers.
//
// name must be 1–MaxNameLen characters of ASCII letters, digits and
// "-_.:/@+=~"; it may be structured with colons ("room:42:chat"). Spaces,
// control characters and Redis glob characters are rejected with
// ErrInvalidChannel, as is an invalid tenant ID.
func TenantChannel(t tenant.ID, name string) (Channel, error) {
	if !t.Valid() {
		return "", fmt.Errorf("%w: tenant %q: %w", ErrInvalidChannel, string(t), tenant.ErrInvalid)
	}
	if err := validateName(name); err != nil {
		return "", err
	}
	return Channel(tenantScope + string(t) + ":" + name), nil
}

// SystemChannel returns the channel called name in the system scope, for
// traffic that belongs to the platform rather than to a tenant (node-addressed
// RPC, node heartbeats). name follows the rules of TenantChannel.
func SystemChannel(name string) (Channel, error) {
	if err := validateName(name); err != nil {
		return "", err
	}
	return Channel(systemScope + name), nil
}

// Tenant returns the tenant that owns ch, and false for a system channel or a
// malformed one. Use it for log attributes, never for authorization.
func (ch Channel) Tenant() (tenant.ID, bool) {
	rest, ok := strings.CutPrefix(string(ch), tenantScope)
	if !ok {
		return "", false
	}
	id, _, ok := strings.Cut(rest, ":")
	if !ok || !tenant.ID(id).Valid() {
		return "", false
	}
	return tenant.ID(id), true
}

// Validate reports whether ch has one of the two shapes TenantChannel and
// SystemChannel produce, with ErrInvalidChannel if it has not.
func (ch Channel) Validate() error {
	s := string(ch)
	if rest, ok := strings.CutPrefix(s, systemScope); ok {
		return validateName(rest)
	}
	if rest, ok := strings.CutPrefix(s, tenantScope); ok {
		id, name, ok := strings.Cut(rest, ":")
		if !ok || !tenant.ID(id).Valid() {
			return fmt.Errorf("%w: %q: no valid tenant after %q", ErrInvalidChannel, s, tenantScope)
		}
		return validateName(name)
	}
	return fmt.Errorf("%w: %q: must start with %q or %q (use TenantChannel or SystemChannel)",
		ErrInvalidChannel, s, tenantScope, systemScope)
}

// String returns the channel without the wire prefix.
func (ch Channel) String() string { return string(ch) }

// validateName checks the name part of a channel.
func validateName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty name", ErrInvalidChannel)
	}
	if len(name) > MaxNameLen {
		return fmt.Errorf("%w: name is %d bytes, at most %d", ErrInvalidChannel, len(name), MaxNameLen)
	}
	for i := 0; i < len(name); i++ {
		if !nameByte(name[i]) {
			return fmt.Errorf("%w: name %q: byte %d (%q) not allowed; use letters, digits and -_.:/@+=~",
				ErrInvalidChannel, name, i, name[i])
		}
	}
	return nil
}

// nameByte reports whether c may appear in a channel name. The set is safe in
// a Redis channel, a log line and a metric-free debug dump, and excludes the
// glob characters * ? [ ] so a future pattern subscription cannot be widened
// by a crafted name.
func nameByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("-_.:/@+=~", c) >= 0
}

// validatePrefix checks a configured wire prefix; it follows the name rules.
func validatePrefix(p string) error {
	if err := validateName(p); err != nil {
		return fmt.Errorf("%w: prefix %q: %w", ErrInvalidConfig, p, err)
	}
	return nil
}

// wireName is the channel name as the backend sees it: prefix ":" channel.
func wireName(prefix string, ch Channel) string { return prefix + ":" + string(ch) }
