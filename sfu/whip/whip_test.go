package whip_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/sfu/whip"
)

// TestIngestToPlayback: an OBS-like client publishes H.264 and Opus over
// WHIP, a WHEP player receives both; when the broadcaster reconnects with a
// new session the player keeps receiving on the same stream, without
// renegotiation and with continuous sequence numbers.
func TestIngestToPlayback(t *testing.T) {
	e := newEnv(t)
	speaker := e.token("speaker-1", auth.RoleSpeaker, "stage")
	o := e.startOBS("stage", speaker)
	require.True(t, strings.HasPrefix(o.location, "/v1/whip/stage/"), o.location)
	waitFor(t, 10*time.Second, "both tracks published", func() bool { return roomTracks(t, e.sfu, "stage") == 2 })

	v := e.startViewer("stage", e.token("viewer-1", auth.RoleAttendee))
	require.True(t, strings.HasPrefix(v.location, "/v1/whep/stage/"), v.location)
	waitFor(t, 10*time.Second, "player receives video and audio", func() bool {
		return v.count(webrtc.RTPCodecTypeVideo) > 10 && v.count(webrtc.RTPCodecTypeAudio) > 10
	})
	v.mu.Lock()
	require.Equal(t, webrtc.MimeTypeH264, v.mimes[webrtc.RTPCodecTypeVideo])
	require.Equal(t, webrtc.MimeTypeOpus, v.mimes[webrtc.RTPCodecTypeAudio])
	v.mu.Unlock()
	require.Equal(t, 1, e.ingest.Sessions())
	require.Equal(t, 1, e.playback.Sessions())

	// The broadcaster stops (DELETE) and comes back with a new session.
	status, _, body := e.do(http.MethodDelete, o.location, speaker, "", "")
	require.Equal(t, http.StatusOK, status, body)
	o.close()
	waitFor(t, 5*time.Second, "tracks unpublished", func() bool { return roomTracks(t, e.sfu, "stage") == 0 })
	before := v.count(webrtc.RTPCodecTypeVideo)
	o2 := e.startOBS("stage", speaker)
	require.NotEqual(t, o.location, o2.location)
	waitFor(t, 10*time.Second, "player receives the new broadcast", func() bool {
		return v.count(webrtc.RTPCodecTypeVideo) > before+10
	})
	v.mu.Lock()
	defer v.mu.Unlock()
	for kind, seqs := range v.seqs {
		require.Len(t, v.ssrcs[kind], 1, "%s: one SSRC across broadcasts", kind)
		for i := 1; i < len(seqs); i++ {
			// Loopback does not reorder; allow small gaps for loss only.
			d := int16(seqs[i] - seqs[i-1])
			require.True(t, d > 0 && d < 50, "%s: sequence jumps from %d to %d", kind, seqs[i-1], seqs[i])
		}
	}
}

// TestHTTPContract covers the status codes of RFC 9725 and the platform's
// auth rules.
func TestHTTPContract(t *testing.T) {
	e := newEnv(t)
	speaker := e.token("speaker-1", auth.RoleSpeaker)
	o := e.startOBS("stage", speaker)

	cases := []struct {
		name   string
		method string
		path   string
		token  string
		ctype  string
		body   string
		want   int
	}{
		{"no token", http.MethodPost, "/v1/whip/stage", "", "application/sdp", "v=0", http.StatusUnauthorized},
		{"garbage token", http.MethodPost, "/v1/whip/stage", "nope", "application/sdp", "v=0", http.StatusUnauthorized},
		{"attendee may not ingest", http.MethodPost, "/v1/whip/stage", e.token("a", auth.RoleAttendee), "application/sdp", "v=0", http.StatusForbidden},
		{"room not granted", http.MethodPost, "/v1/whip/stage", e.token("s", auth.RoleSpeaker, "other"), "application/sdp", "v=0", http.StatusForbidden},
		{"not sdp", http.MethodPost, "/v1/whip/stage", speaker, "application/json", "{}", http.StatusUnsupportedMediaType},
		{"bad sdp", http.MethodPost, "/v1/whip/stage", speaker, "application/sdp", "v=0", http.StatusBadRequest},
		{"bad sdp playback", http.MethodPost, "/v1/whep/stage", e.token("a", auth.RoleAttendee), "application/sdp", "garbage", http.StatusBadRequest},
		{"trickle not supported", http.MethodPatch, o.location, speaker, "application/trickle-ice-sdpfrag", "a=end-of-candidates", http.StatusMethodNotAllowed},
		{"get not allowed", http.MethodGet, "/v1/whip/stage", speaker, "", "", http.StatusMethodNotAllowed},
		{"options", http.MethodOptions, "/v1/whip/stage", "", "", "", http.StatusNoContent},
		{"unknown resource", http.MethodDelete, "/v1/whip/stage/0123", speaker, "", "", http.StatusNotFound},
		{"wrong room", http.MethodDelete, strings.Replace(o.location, "/stage/", "/other/", 1), speaker, "", "", http.StatusNotFound},
		{"someone else's session", http.MethodDelete, o.location, e.token("speaker-2", auth.RoleSpeaker), "", "", http.StatusForbidden},
		{"moderator may end it", http.MethodDelete, o.location, e.token("mod", auth.RoleModerator), "", "", http.StatusOK},
		{"gone", http.MethodDelete, o.location, speaker, "", "", http.StatusNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, h, body := e.do(c.method, c.path, c.token, c.ctype, c.body)
			require.Equal(t, c.want, status, body)
			if c.want == http.StatusUnauthorized {
				require.Contains(t, h.Get("WWW-Authenticate"), "Bearer")
			}
			if c.method == http.MethodOptions {
				require.Equal(t, "application/sdp", h.Get("Accept-Post"))
			}
		})
	}
	require.Zero(t, e.ingest.Sessions())
}

// TestCloseEndsSessions: Close ends live sessions and refuses new ones.
func TestCloseEndsSessions(t *testing.T) {
	e := newEnv(t)
	speaker := e.token("speaker-1", auth.RoleSpeaker)
	e.startOBS("stage", speaker)
	waitFor(t, 10*time.Second, "tracks published", func() bool { return roomTracks(t, e.sfu, "stage") == 2 })
	require.NoError(t, e.ingest.Close())
	require.Zero(t, e.ingest.Sessions())
	waitFor(t, 5*time.Second, "tracks unpublished", func() bool { return roomTracks(t, e.sfu, "stage") == 0 })
	status, _, _ := e.do(http.MethodPost, "/v1/whip/stage", speaker, "application/sdp", "v=0")
	require.Equal(t, http.StatusServiceUnavailable, status)
}

func TestParseKind(t *testing.T) {
	for _, k := range []whip.Kind{whip.KindIngest, whip.KindPlayback} {
		got, err := whip.ParseKind(k.String())
		require.NoError(t, err)
		require.Equal(t, k, got)
	}
	_, err := whip.ParseKind("rtmp")
	require.Error(t, err)
}
