package library

import (
	"bytes"
	"fmt"
	"strconv"
	"time"
)

// A minimal PDF 1.4 writer (ISO 32000-1) for one-page certificates: text in
// the standard Helvetica fonts (§9.6.2.2, never embedded) with
// WinAnsiEncoding (Annex D.2), lines and rectangles. It exists so that the
// certificate needs no dependency; it is not a general PDF library.

// Page size: A4 landscape, in points.
const (
	pageW = 842.0
	pageH = 595.0
)

// certificateText is what a certificate says.
type certificateText struct {
	Issuer, Name, Course, Date, Code, Verify string
	Lessons                                  int
}

// certificatePDF lays out and serialises the certificate.
func certificatePDF(c certificateText, created time.Time) []byte {
	var page pdfPage
	// Double border.
	page.rect(24, 24, pageW-48, pageH-48, 3, [3]float64{0.12, 0.23, 0.45})
	page.rect(34, 34, pageW-68, pageH-68, 0.8, [3]float64{0.12, 0.23, 0.45})
	page.centered(c.Issuer, fontRegular, 16, 500, gray)
	page.centered("Certificate of Completion", fontBold, 36, 440, navy)
	page.centered("This certifies that", fontRegular, 16, 380, gray)
	page.centered(c.Name, fontBold, 30, 335, black)
	page.line(pageW/2-220, 322, pageW/2+220, 322, 0.8, gray)
	page.centered("has completed the course", fontRegular, 16, 285, gray)
	page.centered(c.Course, fontBold, 24, 245, black)
	lessons := "1 lesson"
	if c.Lessons != 1 {
		lessons = strconv.Itoa(c.Lessons) + " lessons"
	}
	page.centered(lessons+" - issued "+c.Date, fontRegular, 13, 205, gray)
	page.centered("Verification code "+c.Code, fontBold, 14, 110, navy)
	page.centered("Verify at "+c.Verify, fontRegular, 11, 88, gray)
	return page.document("Certificate of Completion - "+c.Name, created)
}

type pdfFont int

const (
	fontRegular pdfFont = iota
	fontBold
)

var (
	black = [3]float64{0, 0, 0}
	gray  = [3]float64{0.35, 0.35, 0.35}
	navy  = [3]float64{0.12, 0.23, 0.45}
)

// pdfPage accumulates a content stream (§8.2, §9.4).
type pdfPage struct{ content bytes.Buffer }

func (p *pdfPage) rect(x, y, w, h, width float64, rgb [3]float64) {
	fmt.Fprintf(&p.content, "%s RG %s w %s %s %s %s re S\n", rgbString(rgb), num(width), num(x), num(y), num(w), num(h))
}

func (p *pdfPage) line(x1, y1, x2, y2, width float64, rgb [3]float64) {
	fmt.Fprintf(&p.content, "%s RG %s w %s %s m %s %s l S\n", rgbString(rgb), num(width), num(x1), num(y1), num(x2), num(y2))
}

// centered writes one line of text centred on the page at baseline y,
// shrinking the size until it fits between the borders.
func (p *pdfPage) centered(s string, f pdfFont, size, y float64, rgb [3]float64) {
	enc := winAnsi(s)
	for size > 6 && textWidth(enc, f, size) > pageW-120 {
		size--
	}
	x := (pageW - textWidth(enc, f, size)) / 2
	name := "/F1"
	if f == fontBold {
		name = "/F2"
	}
	fmt.Fprintf(&p.content, "BT %s rg %s %s Tf %s %s Td (%s) Tj ET\n", rgbString(rgb), name, num(size), num(x), num(y), escapePDF(enc))
}

// document serialises the page as a complete PDF file with a correct
// cross-reference table (§7.5.4).
func (p *pdfPage) document(title string, created time.Time) []byte {
	var out bytes.Buffer
	var offsets []int
	obj := func(body string) {
		offsets = append(offsets, out.Len())
		fmt.Fprintf(&out, "%d 0 obj\n%s\nendobj\n", len(offsets), body)
	}
	out.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	obj("<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
	obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %s %s] /Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> /Contents 6 0 R >>",
		num(pageW), num(pageH)))
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>")
	obj(fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", p.content.Len(), p.content.String()))
	obj(fmt.Sprintf("<< /Title (%s) /Producer (Plenary) /CreationDate (D:%s) >>",
		escapePDF(winAnsi(title)), created.UTC().Format("20060102150405")+"Z"))
	xref := out.Len()
	fmt.Fprintf(&out, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, off := range offsets {
		fmt.Fprintf(&out, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&out, "trailer\n<< /Size %d /Root 1 0 R /Info 7 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, xref)
	return out.Bytes()
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func rgbString(c [3]float64) string { return num(c[0]) + " " + num(c[1]) + " " + num(c[2]) }

// escapePDF escapes a literal string (§7.3.4.2).
func escapePDF(b []byte) string {
	var s bytes.Buffer
	for _, c := range b {
		switch c {
		case '(', ')', '\\':
			s.WriteByte('\\')
			s.WriteByte(c)
		case '\n', '\r':
			s.WriteByte(' ')
		default:
			s.WriteByte(c)
		}
	}
	return s.String()
}

// winAnsiExtra maps the Unicode characters of WinAnsiEncoding's 0x80-0x9F
// range (Annex D.2); 0xA0-0xFF coincide with Latin-1.
var winAnsiExtra = map[rune]byte{
	'€': 0x80, '‚': 0x82, 'ƒ': 0x83, '„': 0x84, '…': 0x85, '†': 0x86, '‡': 0x87, 'ˆ': 0x88, '‰': 0x89,
	'Š': 0x8A, '‹': 0x8B, 'Œ': 0x8C, 'Ž': 0x8E, '‘': 0x91, '’': 0x92, '“': 0x93, '”': 0x94, '•': 0x95,
	'–': 0x96, '—': 0x97, '˜': 0x98, '™': 0x99, 'š': 0x9A, '›': 0x9B, 'œ': 0x9C, 'ž': 0x9E, 'Ÿ': 0x9F,
}

// winAnsi encodes s for the standard fonts; characters they cannot show
// become '?'. (Names in other scripts need an embedded font, which this
// writer deliberately lacks; the verification page shows them exactly.)
func winAnsi(s string) []byte {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		switch {
		case r >= 0x20 && r < 0x7f, r >= 0xa0 && r <= 0xff:
			out = append(out, byte(r))
		case winAnsiExtra[r] != 0:
			out = append(out, winAnsiExtra[r])
		case r == '\t':
			out = append(out, ' ')
		default:
			out = append(out, '?')
		}
	}
	return out
}

// Glyph widths of Helvetica and Helvetica-Bold for codes 32-126, in 1/1000
// em, from the fonts' AFM files. Other codes use an average width.
var (
	helveticaWidths = [95]int{
		278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
		556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
		1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
		667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
		333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
		556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
	}
	helveticaBoldWidths = [95]int{
		278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278,
		556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611,
		975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778,
		667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556,
		333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611,
		611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
	}
)

// textWidth is the width in points of WinAnsi text at size.
func textWidth(b []byte, f pdfFont, size float64) float64 {
	widths := &helveticaWidths
	if f == fontBold {
		widths = &helveticaBoldWidths
	}
	total := 0
	for _, c := range b {
		if c >= 32 && c <= 126 {
			total += widths[c-32]
		} else {
			total += 556
		}
	}
	return float64(total) * size / 1000
}
