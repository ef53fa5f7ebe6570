// Package whip serves the two standard HTTP entry points of the media
// plane: WHIP ingest (RFC 9725), with which a broadcaster such as OBS
// publishes to a stage, and WHEP playback (draft-ietf-wish-whep), with which
// a player watches one. Both are the same exchange:
//
//	POST   /v1/whip/{room}             Content-Type: application/sdp, body: SDP offer
//	  → 201 Created                    Location: /v1/whip/{room}/{resource}, body: SDP answer
//	DELETE /v1/whip/{room}/{resource}  → 200 OK: the session ends
//	PATCH  /v1/whip/{room}/{resource}  → 405: trickle ICE and ICE restarts are
//	                                     not offered (RFC 9725 §4.3.1)
//
// The answer carries the SFU's candidates (ICE-lite, single UDP port plus
// ICE-TCP), so clients need no trickle. The client's offer should carry its
// candidates too; OBS and browsers-with-gathering-complete do.
//
// Authentication is the platform's: "Authorization: Bearer <JWT>" verified
// with internal/auth (or claims already put in the request context by
// auth.Middleware). The tenant is the token's; the room comes from the URL
// and must be granted by the token. Ingest needs the speaker role or above,
// playback any role. Ending a session needs the token that started it, or a
// moderator's of the same tenant.
//
// An ingest session is a participant that publishes whatever the offer
// sends (typically H.264 or VP8 video and Opus audio). A playback session is
// a participant joined with sfu.JoinOptions{ClientOffer, AutoSubscribe}: the
// offer's receive-only sections are filled with the room's tracks, and
// refilled when a broadcaster reconnects, without renegotiation.
package whip
