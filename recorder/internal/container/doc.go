// Package container reads and writes the two simple media containers the
// recorder uses on disk: IVF (video frames with 64-bit timestamps) and Ogg
// (Opus packets with granule positions).
//
// Both formats are append-only sequences of self-delimiting records after a
// fixed header, which is why the recorder uses them: every record is written
// with one write call as it arrives, so a process killed mid-recording leaves
// a file whose complete records are all readable. The scanners here walk such
// files, stop quietly at a truncated tail and report what a packager needs
// (frame count, last timestamp, Opus pre-skip) without decoding media.
package container
