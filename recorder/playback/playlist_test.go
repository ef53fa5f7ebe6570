package playback

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSignPlaylist(t *testing.T) {
	in := "#EXTM3U\r\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",URI=\"audio/index.m3u8\"\n#EXT-X-MAP:URI=\"init.mp4?x=1\"\n" +
		"#EXT-X-STREAM-INF:BANDWIDTH=1\n720p/index.m3u8\n\nhttps://cdn.example/abs.ts\n/root.ts\nseg.ts?v=2\n"
	want := "#EXTM3U\r\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",URI=\"audio/index.m3u8?s=1\"\n#EXT-X-MAP:URI=\"init.mp4?x=1&s=1\"\n" +
		"#EXT-X-STREAM-INF:BANDWIDTH=1\n720p/index.m3u8?s=1\n\nhttps://cdn.example/abs.ts\n/root.ts\nseg.ts?v=2&s=1\n"
	require.Equal(t, want, string(signPlaylist([]byte(in), "s=1")))
}
