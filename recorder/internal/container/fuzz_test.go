package container

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// FuzzIVF feeds arbitrary bytes to the IVF scanner and reader: they may
// reject the input but must not panic or loop.
func FuzzIVF(f *testing.F) {
	h := IVFHeader{FourCC: FourCCVP8, Width: 64, Height: 64, TimebaseDen: 90000, TimebaseNum: 1}.marshal()
	f.Add(h)
	f.Add(append(append([]byte(nil), h...), 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 9, 9))
	f.Add([]byte("DKIF"))
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "f.ivf")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if info, err := ScanIVF(path); err == nil && info.ValidSize > int64(len(b)) {
			t.Fatalf("valid size %d beyond file size %d", info.ValidSize, len(b))
		}
		r, err := NewIVFReader(bytes.NewReader(b))
		if err != nil {
			return
		}
		for range len(b) + 1 {
			if _, err := r.Next(); errors.Is(err, io.EOF) {
				return
			}
		}
		t.Fatal("reader did not end")
	})
}

// FuzzOgg feeds arbitrary bytes to the Ogg reader and scanner.
func FuzzOgg(f *testing.F) {
	f.Add([]byte("OggS\x00\x02"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewOggReader(bytes.NewReader(b))
		for range len(b) + 2 {
			if _, err := r.NextPacket(); err != nil {
				break
			}
		}
		path := filepath.Join(t.TempDir(), "f.ogg")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		_, _ = ScanOgg(path)
	})
}

func TestIVFWriterRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.ivf")
	w, err := CreateIVF(path, IVFHeader{FourCC: FourCCH264, Width: 2, Height: 2, TimebaseDen: 90000, TimebaseNum: 1})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := w.WriteFrame([]byte{1, 2, byte(i)}, uint64(i)*3000); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if _, err := w.WriteFrame([]byte{1}, 0); err == nil {
		t.Fatal("write after close succeeded")
	}
	info, err := ScanIVF(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Frames != 3 || info.Header.Frames != 3 || info.LastPTS != 6000 || info.Truncated {
		t.Fatalf("info = %+v", info)
	}
	if d := info.Duration(); d < 0.0999 || d > 0.1001 {
		t.Fatalf("duration = %v, want 0.1", d)
	}
}
