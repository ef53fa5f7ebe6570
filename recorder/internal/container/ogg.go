package container

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// Ogg page layout (RFC 3533 §6): a 27-byte header, a segment table of
// lacing values, then the page body. Packets are split into 255-byte
// segments; a lacing value below 255 ends a packet.
const (
	oggPageHeaderSize = 27
	// OpusGranuleRate is the granule clock of an Ogg Opus stream (RFC 7845 §4).
	OpusGranuleRate = 48000
)

// ErrNotOgg means a stream does not start with an Ogg page.
var ErrNotOgg = errors.New("not an Ogg stream")

var oggCRCTable = func() *[256]uint32 {
	var t [256]uint32
	for i := range t {
		r := uint32(i) << 24 //nolint:gosec // i < 256
		for range 8 {
			if r&0x80000000 != 0 {
				r = r<<1 ^ 0x04c11db7
			} else {
				r <<= 1
			}
		}
		t[i] = r
	}
	return &t
}()

func oggCRC(page []byte) uint32 {
	var crc uint32
	for i, b := range page {
		if i >= 22 && i < 26 { // the checksum field counts as zero
			b = 0
		}
		crc = crc<<8 ^ oggCRCTable[byte(crc>>24)^b]
	}
	return crc
}

// OggPage is one page of an Ogg stream.
type OggPage struct {
	// HeaderType holds the continuation/BOS/EOS flags.
	HeaderType byte
	// Granule is the granule position; ^0 means no packet ends on the page.
	Granule uint64
	// Serial identifies the logical stream.
	Serial uint32
	// Packets are the packet pieces on the page; Continues reports whether
	// the last one continues on the next page.
	Packets   [][]byte
	Continues bool
	// Size is the page's size in bytes.
	Size int
}

// OggReader reads pages and whole packets of an Ogg stream.
type OggReader struct {
	r       *bufio.Reader
	partial []byte
	pending [][]byte
}

// NewOggReader reads Ogg from r.
func NewOggReader(r io.Reader) *OggReader {
	return &OggReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// NextPage returns the next page whose checksum verifies, or io.EOF at the
// end of the stream. A torn or corrupt page ends the stream: the recorder's
// files only ever go bad at their tail.
func (o *OggReader) NextPage() (OggPage, error) {
	hdr := make([]byte, oggPageHeaderSize)
	if _, err := io.ReadFull(o.r, hdr); err != nil {
		return OggPage{}, io.EOF
	}
	if string(hdr[0:4]) != "OggS" || hdr[4] != 0 {
		return OggPage{}, ErrNotOgg
	}
	nseg := int(hdr[26])
	lacing := make([]byte, nseg)
	if _, err := io.ReadFull(o.r, lacing); err != nil {
		return OggPage{}, io.EOF
	}
	bodyLen := 0
	for _, l := range lacing {
		bodyLen += int(l)
	}
	body := make([]byte, bodyLen)
	if _, err := io.ReadFull(o.r, body); err != nil {
		return OggPage{}, io.EOF
	}
	raw := make([]byte, 0, oggPageHeaderSize+nseg+bodyLen)
	raw = append(append(append(raw, hdr...), lacing...), body...)
	if oggCRC(raw) != binary.LittleEndian.Uint32(hdr[22:]) {
		return OggPage{}, io.EOF
	}
	p := OggPage{
		HeaderType: hdr[5],
		Granule:    binary.LittleEndian.Uint64(hdr[6:]),
		Serial:     binary.LittleEndian.Uint32(hdr[14:]),
		Size:       len(raw),
	}
	start, off := 0, 0
	for i, l := range lacing {
		off += int(l)
		if l < 255 {
			p.Packets = append(p.Packets, body[start:off])
			start = off
		} else if i == len(lacing)-1 {
			p.Packets = append(p.Packets, body[start:off])
			p.Continues = true
		}
	}
	return p, nil
}

// NextPacket returns the next complete packet, reassembled across pages,
// or io.EOF at the end of the stream.
func (o *OggReader) NextPacket() ([]byte, error) {
	for {
		if len(o.pending) > 0 {
			pkt := o.pending[0]
			o.pending = o.pending[1:]
			return pkt, nil
		}
		p, err := o.NextPage()
		if err != nil {
			return nil, err
		}
		for i, piece := range p.Packets {
			last := i == len(p.Packets)-1
			if len(o.partial) > 0 || (last && p.Continues) {
				o.partial = append(o.partial, piece...)
				if last && p.Continues {
					continue
				}
				piece, o.partial = o.partial, nil
			}
			o.pending = append(o.pending, piece)
		}
	}
}

// OggInfo is what ScanOgg learned about an Ogg Opus file.
type OggInfo struct {
	// Channels and PreSkip come from the OpusHead packet (RFC 7845 §5.1).
	Channels int
	PreSkip  int
	// Pages is the number of complete pages; LastGranule is the last
	// granule position seen on one.
	Pages       int
	LastGranule uint64
	// ValidSize is the byte length of the complete pages; Truncated is true
	// when a torn page follows.
	ValidSize int64
	Truncated bool
}

// Duration is the playable length in seconds: the last granule minus the
// pre-skip, at 48 kHz.
func (i OggInfo) Duration() float64 {
	if i.LastGranule <= uint64(i.PreSkip) { //nolint:gosec // PreSkip is a u16
		return 0
	}
	return float64(i.LastGranule-uint64(i.PreSkip)) / OpusGranuleRate //nolint:gosec // PreSkip is a u16
}

// ScanOgg walks the pages of the Ogg Opus file at path.
func ScanOgg(path string) (OggInfo, error) {
	f, err := os.Open(path) //nolint:gosec // the path comes from a recording manifest the caller chose
	if err != nil {
		return OggInfo{}, fmt.Errorf("ogg: %w", err)
	}
	defer func() { _ = f.Close() }()
	st, err := f.Stat()
	if err != nil {
		return OggInfo{}, fmt.Errorf("ogg: %w", err)
	}
	r := NewOggReader(f)
	var info OggInfo
	for {
		p, err := r.NextPage()
		if errors.Is(err, ErrNotOgg) && info.Pages == 0 {
			return info, fmt.Errorf("%s: %w", path, ErrNotOgg)
		}
		if err != nil {
			break
		}
		if info.Pages == 0 {
			if len(p.Packets) == 0 || len(p.Packets[0]) < 19 || string(p.Packets[0][:8]) != "OpusHead" {
				return info, fmt.Errorf("%w: %s: no OpusHead", ErrNotOgg, path)
			}
			head := p.Packets[0]
			info.Channels = int(head[9])
			info.PreSkip = int(binary.LittleEndian.Uint16(head[10:]))
		}
		info.Pages++
		info.ValidSize += int64(p.Size)
		if p.Granule != ^uint64(0) && info.Pages > 2 {
			info.LastGranule = p.Granule
		}
	}
	if info.Pages == 0 {
		return info, fmt.Errorf("%w: %s: empty", ErrNotOgg, path)
	}
	info.Truncated = info.ValidSize < st.Size()
	return info, nil
}
