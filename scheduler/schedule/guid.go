package schedule

import (
	"crypto/sha1" //nolint:gosec // RFC 9562 name-based UUIDs are defined on SHA-1; not used for security
	"encoding/hex"
	"strings"
)

// namespaceURL is the RFC 9562 name space ID for URLs, which frab and the
// c3voc tools also use to derive guids.
var namespaceURL = [16]byte{0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}

// uuidV5 returns the name-based (SHA-1) UUID of name in namespace ns
// (RFC 9562 section 5.5), lower-case.
func uuidV5(ns [16]byte, name string) string {
	h := sha1.New() //nolint:gosec // see import
	h.Write(ns[:])
	h.Write([]byte(name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	return formatUUID(u)
}

// formatUUID renders u in the canonical 8-4-4-4-12 lower-case form.
func formatUUID(u [16]byte) string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}

// isUUID reports whether s has the 8-4-4-4-12 hex form the schedule.xml XSD
// requires of guids.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !isHex(c) {
				return false
			}
		}
	}
	return true
}

// isHex reports whether c is an ASCII hex digit.
func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// normalizeGUID trims s and lower-cases it when it is a UUID, so that
// re-imports match regardless of the exporter's case.
func normalizeGUID(s string) string {
	s = strings.TrimSpace(s)
	if isUUID(s) {
		return strings.ToLower(s)
	}
	return s
}
