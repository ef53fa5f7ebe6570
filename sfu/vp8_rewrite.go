package sfu

// VP8 payload descriptor rewriting across simulcast layer switches.
//
// Each simulcast layer of a VP8 track numbers its frames on its own: the
// picture ID, TL0PICIDX and KEYIDX fields of the payload descriptor (RFC
// 7741 §4.2) of layer q and layer f have nothing in common. A receiver uses
// them to track frame references and detect lost frames (libwebrtc's VP8
// reference finder), so a jump at a layer switch can make it wait for frames
// that never come or drop frames it takes for old. The SSRC, sequence
// number and timestamp are already made continuous by the munger; this does
// the same for the three descriptor fields: at each switch (always on a
// keyframe) the new layer's values are offset to continue where the
// previous ones stopped.
//
// Cost on the forwarding path: parsing a few descriptor bytes per packet;
// the payload is copied (into a buffer the down-track reuses) only while an
// offset is non-zero, since the payload buffer is shared by every
// subscriber of the track and must not be patched in place.

// vp8Field is one rewritten descriptor field: its offset and the last value
// sent.
type vp8Field struct {
	offset uint16
	last   uint16
	have   bool // last is set
}

// vp8Rewriter is owned by one DownTrack and used under its lock.
type vp8Rewriter struct {
	enabled bool
	pid     vp8Field // picture ID, 15-bit space (7-bit IDs are taken mod 128)
	tl0     vp8Field // TL0PICIDX, 8-bit
	keyIdx  vp8Field // KEYIDX, 5-bit
	buf     []byte
}

// vp8Desc locates the rewritable fields of a VP8 payload descriptor; an
// index of 0 means the field is absent (index 0 is never a field).
type vp8Desc struct {
	pidAt, tl0At, keyIdxAt int
	pidWide                bool // M bit: 15-bit picture ID
}

// parseVP8Desc parses the descriptor at the start of p (RFC 7741 §4.2). ok
// is false if p is too short for the fields its flags announce.
func parseVP8Desc(p []byte) (d vp8Desc, ok bool) {
	if len(p) < 1 {
		return vp8Desc{}, false
	}
	if p[0]&0x80 == 0 { // X: no extension byte, no optional field
		return d, true
	}
	if len(p) < 2 {
		return vp8Desc{}, false
	}
	x, i := p[1], 2
	if x&0x80 != 0 { // I: picture ID
		if len(p) <= i {
			return vp8Desc{}, false
		}
		d.pidAt = i
		if p[i]&0x80 != 0 { // M
			if len(p) <= i+1 {
				return vp8Desc{}, false
			}
			d.pidWide = true
			i++
		}
		i++
	}
	if x&0x40 != 0 { // L: TL0PICIDX
		if len(p) <= i {
			return vp8Desc{}, false
		}
		d.tl0At = i
		i++
	}
	if x&0x30 != 0 { // T or K: the TID/Y/KEYIDX byte
		if len(p) <= i {
			return vp8Desc{}, false
		}
		if x&0x10 != 0 { // K: KEYIDX is meaningful
			d.keyIdxAt = i
		}
	}
	return d, true
}

func (d vp8Desc) pictureID(p []byte) uint16 {
	if d.pidWide {
		return uint16(p[d.pidAt]&0x7F)<<8 | uint16(p[d.pidAt+1])
	}
	return uint16(p[d.pidAt] & 0x7F)
}

// switchTo is called at a switch point (a keyframe starting the new layer,
// or resuming after a pause or a publisher restart) with its payload and
// the track's codec: the offsets are set so that this frame continues the
// numbering of the last one sent.
func (w *vp8Rewriter) switchTo(kind codecKind, p []byte) {
	w.enabled = kind == codecVP8
	if !w.enabled {
		return
	}
	d, ok := parseVP8Desc(p)
	if !ok {
		return
	}
	if d.pidAt != 0 {
		mod := uint16(0x8000)
		if !d.pidWide {
			mod = 0x80
		}
		w.pid.rebase(d.pictureID(p), mod)
	}
	if d.tl0At != 0 {
		w.tl0.rebase(uint16(p[d.tl0At]), 0x100)
	}
	if d.keyIdxAt != 0 {
		w.keyIdx.rebase(uint16(p[d.keyIdxAt]&0x1F), 0x20)
	}
}

// rebase sets the offset so that in maps to the value after the last one
// sent (or to itself when nothing was sent yet).
func (f *vp8Field) rebase(in, mod uint16) {
	if !f.have {
		f.offset = 0
		return
	}
	f.offset = (f.last + 1 - in) & (mod - 1)
}

// apply maps in to its output value and remembers it as the last one sent
// when it is newer (half the space ahead, RFC 1982 style).
func (f *vp8Field) apply(in, mod uint16) uint16 {
	out := (in + f.offset) & (mod - 1)
	if !f.have || d16(out, f.last, mod) {
		f.last, f.have = out, true
	}
	return out
}

// d16 reports whether a is ahead of b in a space of size mod.
func d16(a, b, mod uint16) bool {
	diff := (a - b) & (mod - 1)
	return diff != 0 && diff < mod/2
}

// rewrite returns p with the descriptor fields offset, or p itself when
// there is nothing to change. The returned slice is valid until the next
// call.
func (w *vp8Rewriter) rewrite(p []byte) []byte {
	if !w.enabled {
		return p
	}
	d, ok := parseVP8Desc(p)
	if !ok || (d.pidAt == 0 && d.tl0At == 0 && d.keyIdxAt == 0) {
		return p
	}
	var pid, tl0, key uint16
	if d.pidAt != 0 {
		mod := uint16(0x8000)
		if !d.pidWide {
			mod = 0x80
		}
		pid = w.pid.apply(d.pictureID(p), mod)
	}
	if d.tl0At != 0 {
		tl0 = w.tl0.apply(uint16(p[d.tl0At]), 0x100)
	}
	if d.keyIdxAt != 0 {
		key = w.keyIdx.apply(uint16(p[d.keyIdxAt]&0x1F), 0x20)
	}
	if w.pid.offset == 0 && w.tl0.offset == 0 && w.keyIdx.offset == 0 {
		return p
	}
	if cap(w.buf) < len(p) {
		w.buf = make([]byte, len(p), max(len(p), mtu))
	}
	out := w.buf[:len(p)]
	copy(out, p)
	if d.pidAt != 0 {
		if d.pidWide {
			out[d.pidAt] = 0x80 | byte(pid>>8)
			out[d.pidAt+1] = byte(pid)
		} else {
			out[d.pidAt] = byte(pid) & 0x7F
		}
	}
	if d.tl0At != 0 {
		out[d.tl0At] = byte(tl0)
	}
	if d.keyIdxAt != 0 {
		out[d.keyIdxAt] = out[d.keyIdxAt]&^0x1F | byte(key)
	}
	return out
}
