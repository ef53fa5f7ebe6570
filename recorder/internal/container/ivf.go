package container

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// IVF layout (libvpx, also read by ffmpeg for any fourcc it knows):
// a 32-byte file header, then per frame a 12-byte header (u32 size, u64 pts)
// followed by the frame. All integers are little-endian.
const (
	ivfFileHeaderSize  = 32
	ivfFrameHeaderSize = 12
	// MaxIVFFrame bounds a single frame when scanning; a larger size field
	// means the file is corrupt (a torn write), not a real frame.
	MaxIVFFrame = 32 << 20
)

// ErrNotIVF means a file does not start with an IVF header.
var ErrNotIVF = errors.New("not an IVF file")

// FourCC values for the codecs the recorder stores in IVF. ffmpeg's IVF
// demuxer maps any fourcc it knows from AVI, so H.264 access units in Annex-B
// form are readable too, with their timestamps, unlike a raw .h264 stream.
const (
	FourCCVP8  = "VP80"
	FourCCVP9  = "VP90"
	FourCCAV1  = "AV01"
	FourCCH264 = "H264"
)

// IVFHeader is the IVF file header.
type IVFHeader struct {
	// FourCC names the codec, e.g. FourCCVP8.
	FourCC string
	// Width and Height are the frame size in pixels; 0 when unknown.
	Width, Height uint16
	// TimebaseDen and TimebaseNum give the timestamp unit TimebaseNum/TimebaseDen
	// seconds; the recorder writes 1/90000, the RTP video clock.
	TimebaseDen, TimebaseNum uint32
	// Frames is the frame count field; writers fill it in on Close, so a
	// file from a killed writer has 0 here and must be scanned instead.
	Frames uint32
}

func (h IVFHeader) marshal() []byte {
	b := make([]byte, ivfFileHeaderSize)
	copy(b[0:4], "DKIF")
	binary.LittleEndian.PutUint16(b[4:], 0)
	binary.LittleEndian.PutUint16(b[6:], ivfFileHeaderSize)
	copy(b[8:12], h.FourCC)
	binary.LittleEndian.PutUint16(b[12:], h.Width)
	binary.LittleEndian.PutUint16(b[14:], h.Height)
	binary.LittleEndian.PutUint32(b[16:], h.TimebaseDen)
	binary.LittleEndian.PutUint32(b[20:], h.TimebaseNum)
	binary.LittleEndian.PutUint32(b[24:], h.Frames)
	return b
}

func parseIVFHeader(b []byte) (IVFHeader, error) {
	if len(b) < ivfFileHeaderSize || string(b[0:4]) != "DKIF" {
		return IVFHeader{}, ErrNotIVF
	}
	h := IVFHeader{
		FourCC:      string(b[8:12]),
		Width:       binary.LittleEndian.Uint16(b[12:]),
		Height:      binary.LittleEndian.Uint16(b[14:]),
		TimebaseDen: binary.LittleEndian.Uint32(b[16:]),
		TimebaseNum: binary.LittleEndian.Uint32(b[20:]),
		Frames:      binary.LittleEndian.Uint32(b[24:]),
	}
	if h.TimebaseDen == 0 || h.TimebaseNum == 0 {
		return h, fmt.Errorf("%w: zero timebase", ErrNotIVF)
	}
	return h, nil
}

// IVFWriter appends frames to an IVF file. Each frame goes to the file in a
// single write, so a killed process leaves at most one torn frame at the end,
// which IVF readers (and ScanIVF) skip. Safe for concurrent use.
type IVFWriter struct {
	mu     sync.Mutex
	f      *os.File
	frames uint32
	buf    []byte
	closed bool
}

// CreateIVF creates path (truncating it) and writes the file header.
func CreateIVF(path string, h IVFHeader) (*IVFWriter, error) {
	if len(h.FourCC) != 4 {
		return nil, fmt.Errorf("ivf: fourcc %q must have 4 characters", h.FourCC)
	}
	if h.TimebaseDen == 0 || h.TimebaseNum == 0 {
		return nil, errors.New("ivf: zero timebase")
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return nil, fmt.Errorf("ivf: %w", err)
	}
	h.Frames = 0
	if _, err := f.Write(h.marshal()); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("ivf: write header: %w", err)
	}
	return &IVFWriter{f: f}, nil
}

// WriteFrame appends one frame with the given timestamp (in timebase units).
func (w *IVFWriter) WriteFrame(frame []byte, pts uint64) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, os.ErrClosed
	}
	if len(frame) == 0 || len(frame) > MaxIVFFrame {
		return 0, fmt.Errorf("ivf: frame of %d bytes", len(frame))
	}
	n := ivfFrameHeaderSize + len(frame)
	if cap(w.buf) < n {
		w.buf = make([]byte, n)
	}
	b := w.buf[:n]
	binary.LittleEndian.PutUint32(b[0:], uint32(len(frame))) //nolint:gosec // bounded by MaxIVFFrame
	binary.LittleEndian.PutUint64(b[4:], pts)
	copy(b[ivfFrameHeaderSize:], frame)
	if _, err := w.f.Write(b); err != nil {
		return 0, fmt.Errorf("ivf: write frame: %w", err)
	}
	w.frames++
	return n, nil
}

// Close writes the frame count into the header and closes the file. It is
// idempotent.
func (w *IVFWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	var cnt [4]byte
	binary.LittleEndian.PutUint32(cnt[:], w.frames)
	_, werr := w.f.WriteAt(cnt[:], 24)
	cerr := w.f.Close()
	if werr != nil {
		return fmt.Errorf("ivf: frame count: %w", werr)
	}
	if cerr != nil {
		return fmt.Errorf("ivf: close: %w", cerr)
	}
	return nil
}

// IVFInfo is what ScanIVF learned about a file.
type IVFInfo struct {
	Header IVFHeader
	// Frames is the number of complete frames.
	Frames int
	// FirstPTS and LastPTS are the timestamps of the first and last complete
	// frames, in timebase units.
	FirstPTS, LastPTS uint64
	// ValidSize is the byte length of the header plus all complete frames;
	// anything after it is a torn write.
	ValidSize int64
	// Truncated is true when bytes follow ValidSize.
	Truncated bool
}

// Duration returns the span from the first to the last frame plus one
// average frame interval, in seconds: the presentation length of the file.
func (i IVFInfo) Duration() float64 {
	if i.Frames == 0 || i.Header.TimebaseDen == 0 {
		return 0
	}
	span := float64(i.LastPTS-i.FirstPTS) * float64(i.Header.TimebaseNum) / float64(i.Header.TimebaseDen)
	if i.Frames > 1 {
		span += span / float64(i.Frames-1)
	}
	return span
}

// ScanIVF reads the frame headers of the IVF file at path without keeping
// frame data. A torn last frame is not an error: it is reported through
// Truncated.
func ScanIVF(path string) (IVFInfo, error) {
	f, err := os.Open(path) //nolint:gosec // the path comes from a recording manifest the caller chose
	if err != nil {
		return IVFInfo{}, fmt.Errorf("ivf: %w", err)
	}
	defer func() { _ = f.Close() }()
	st, err := f.Stat()
	if err != nil {
		return IVFInfo{}, fmt.Errorf("ivf: %w", err)
	}
	r := bufio.NewReaderSize(f, 64<<10)
	hb := make([]byte, ivfFileHeaderSize)
	if _, err := io.ReadFull(r, hb); err != nil {
		return IVFInfo{}, fmt.Errorf("%w: %s: short header", ErrNotIVF, path)
	}
	h, err := parseIVFHeader(hb)
	if err != nil {
		return IVFInfo{}, fmt.Errorf("%s: %w", path, err)
	}
	info := IVFInfo{Header: h, ValidSize: ivfFileHeaderSize}
	fh := make([]byte, ivfFrameHeaderSize)
	for {
		if _, err := io.ReadFull(r, fh); err != nil {
			break
		}
		size := int64(binary.LittleEndian.Uint32(fh[0:]))
		pts := binary.LittleEndian.Uint64(fh[4:])
		if size == 0 || size > MaxIVFFrame || info.ValidSize+ivfFrameHeaderSize+size > st.Size() {
			break
		}
		if _, err := r.Discard(int(size)); err != nil {
			break
		}
		if info.Frames == 0 {
			info.FirstPTS = pts
		}
		info.LastPTS = pts
		info.Frames++
		info.ValidSize += ivfFrameHeaderSize + size
	}
	info.Truncated = info.ValidSize < st.Size()
	return info, nil
}

// IVFFrame is one frame read by IVFReader.
type IVFFrame struct {
	Data []byte
	PTS  uint64
}

// IVFReader reads frames of an IVF stream in order.
type IVFReader struct {
	r      io.Reader
	Header IVFHeader
}

// NewIVFReader reads the file header from r.
func NewIVFReader(r io.Reader) (*IVFReader, error) {
	hb := make([]byte, ivfFileHeaderSize)
	if _, err := io.ReadFull(r, hb); err != nil {
		return nil, fmt.Errorf("%w: short header", ErrNotIVF)
	}
	h, err := parseIVFHeader(hb)
	if err != nil {
		return nil, err
	}
	return &IVFReader{r: r, Header: h}, nil
}

// Next returns the next complete frame, or io.EOF at the end of the stream
// (a torn last frame also ends the stream).
func (r *IVFReader) Next() (IVFFrame, error) {
	fh := make([]byte, ivfFrameHeaderSize)
	if _, err := io.ReadFull(r.r, fh); err != nil {
		return IVFFrame{}, io.EOF
	}
	size := binary.LittleEndian.Uint32(fh[0:])
	if size == 0 || size > MaxIVFFrame {
		return IVFFrame{}, io.EOF
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(r.r, data); err != nil {
		return IVFFrame{}, io.EOF
	}
	return IVFFrame{Data: data, PTS: binary.LittleEndian.Uint64(fh[4:])}, nil
}
