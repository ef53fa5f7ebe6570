// Package recorder writes live sessions to disk and describes them for the
// packager.
//
// A Recording is a directory (layout in docs/recording.md): one file per
// received track, written as packets arrive, and manifest.json, which says
// who published each track, its codec and the wall-clock time its first
// frame arrived. Video goes to IVF (VP8, VP9 or H.264 access units, 90 kHz
// timestamps) and Opus to Ogg; both formats are append-only, so a recorder
// killed mid-session leaves files whose complete frames are all playable, and
// the manifest, rewritten atomically at every change, never lags behind by
// more than the last event.
//
// Each track is fed through a Writer, a sink as small as Pion's media.Writer:
// WriteRTP and an idempotent Close. Behind it a short reorder buffer puts
// packets back in sequence order, a depacketizer assembles whole frames,
// frames broken by loss are dropped until the next keyframe (RequestKeyframe
// asks the sender for one), and gaps in the Opus timestamps are filled with
// silence so that audio stays in sync with video.
//
// Subpackages: packager turns a recording directory into adaptive HLS with
// ffmpeg; storage and playback keep and serve the result behind signed URLs;
// library holds recordings, courses, progress and certificates; vodjob runs
// packaging from the job queue; capture joins an SFU room and feeds Writers.
package recorder
