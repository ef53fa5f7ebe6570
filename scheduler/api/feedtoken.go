package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
)

// feedDomain separates feed signatures from any other use of the secret.
const feedDomain = "plenary.feed.v1."

// maxFeedToken bounds the token a feed request may carry.
const maxFeedToken = 1024

// feedClaims is the payload of a private feed token.
type feedClaims struct {
	Tenant     string `json:"t"`
	Convention string `json:"c"`
	User       string `json:"u"`
	Nonce      string `json:"n"`
}

var errBadFeedToken = errors.New("malformed feed token")

// signFeed returns the token for fc: base64url(payload) "." base64url(mac).
func signFeed(secret []byte, fc feedClaims) (string, error) {
	b, err := json.Marshal(fc)
	if err != nil {
		return "", err
	}
	payload := base64.RawURLEncoding.EncodeToString(b)
	return payload + "." + base64.RawURLEncoding.EncodeToString(feedMAC(secret, payload)), nil
}

// feedMAC is HMAC-SHA256 over the domain string and the encoded payload.
func feedMAC(secret []byte, payload string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(feedDomain))
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// parseFeed splits and decodes a token without checking its signature
// (the tenant it names selects the secret); verifyFeed checks it.
func parseFeed(tok string) (fc feedClaims, payload string, mac []byte, err error) {
	if len(tok) > maxFeedToken {
		return fc, "", nil, errBadFeedToken
	}
	payload, sig, ok := strings.Cut(tok, ".")
	if !ok {
		return fc, "", nil, errBadFeedToken
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return fc, "", nil, errBadFeedToken
	}
	if mac, err = base64.RawURLEncoding.DecodeString(sig); err != nil || len(mac) != sha256.Size {
		return fc, "", nil, errBadFeedToken
	}
	if err := json.Unmarshal(raw, &fc); err != nil || fc.Tenant == "" || fc.Convention == "" || fc.User == "" || fc.Nonce == "" {
		return fc, "", nil, errBadFeedToken
	}
	return fc, payload, mac, nil
}

// verifyFeed checks the token's signature in constant time.
func verifyFeed(secret []byte, payload string, mac []byte) bool {
	return hmac.Equal(feedMAC(secret, payload), mac)
}
