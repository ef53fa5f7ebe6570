// Package packager turns a recording directory (see docs/recording.md) into
// an adaptive-bitrate HLS VOD with ffmpeg: an H.264/AAC ladder that never
// upscales beyond the source, segments of a few seconds that each start with
// a keyframe aligned across renditions, a master playlist carrying
// BANDWIDTH, RESOLUTION and CODECS, and a poster image.
//
// # Timeline and layout
//
// Every track is placed on one timeline by the wall-clock time its first
// frame arrived (manifest first_media_at), which is how tracks of speakers
// who joined late line up with the rest. The timeline is cut wherever a video
// track starts or stops (and, in LayoutSpeaker, where the active speaker
// changes); each piece shows its live video tracks full-frame when there is
// one, in a grid when there are several. Audio tracks are delayed to their
// offsets and mixed.
//
// The ffmpeg filter graph decodes each track once. A track that appears in
// several cell sizes is split into one scaled branch per size; each branch
// is overlaid on the canvas over its whole life, with enable and x/y
// expressions of t selecting where and when it is drawn. Every branch of a
// split is therefore consumed at the same pace and nothing piles up in the
// filter graph however long the recording is.
//
// # Partial recordings
//
// A recording whose recorder was killed has no stop times and may end in a
// torn frame. Durations come from scanning the files themselves, so such a
// recording packages like any other; torn tails are cut off before ffmpeg
// reads them.
package packager
