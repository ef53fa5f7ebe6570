package playback

import (
	"bytes"
	"net/url"
	"strings"
)

// signPlaylist appends query to every relative URI of an HLS playlist
// (RFC 8216 §4: URI lines, and URI="..." attributes of tags such as
// EXT-X-MEDIA, EXT-X-MAP and EXT-X-I-FRAME-STREAM-INF), so that a player
// that resolves them against the playlist keeps the signature. Absolute
// URIs are left alone.
func signPlaylist(body []byte, query string) []byte {
	var out bytes.Buffer
	out.Grow(len(body) + 64*bytes.Count(body, []byte("\n")))
	for line := range strings.Lines(string(body)) {
		text := strings.TrimRight(line, "\r\n")
		eol := line[len(text):]
		switch {
		case text == "":
		case strings.HasPrefix(text, "#"):
			text = signAttr(text, query)
		default:
			text = withQuery(text, query)
		}
		out.WriteString(text)
		out.WriteString(eol)
	}
	return out.Bytes()
}

// signAttr rewrites a URI="..." attribute of a tag line.
func signAttr(line, query string) string {
	const attr = `URI="`
	i := strings.Index(line, attr)
	if i < 0 {
		return line
	}
	start := i + len(attr)
	end := strings.IndexByte(line[start:], '"')
	if end < 0 {
		return line
	}
	return line[:start] + withQuery(line[start:start+end], query) + line[start+end:]
}

// withQuery appends query to a relative URI.
func withQuery(uri, query string) string {
	u, err := url.Parse(uri)
	if err != nil || u.IsAbs() || u.Host != "" || strings.HasPrefix(uri, "/") {
		return uri
	}
	if u.RawQuery != "" {
		return uri + "&" + query
	}
	return uri + "?" + query
}
