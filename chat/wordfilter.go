package chat

import (
	"strings"
	"unicode"
)

// wordFilter rejects text containing any of a tenant's banned words or
// phrases. Matching is on whole words, case-insensitively: text and entries
// are lower-cased and split into runs of letters and digits, so "Spam!" and
// "a-spam-b" match the entry "spam" while "spammer" does not. Multi-word
// entries match the same words in sequence, whatever separates them.
type wordFilter struct {
	words   map[string]struct{} // single-word entries
	phrases []string            // multi-word entries, words joined by one space
}

// newWordFilter compiles entries (normalised by normalizeFilterEntry).
func newWordFilter(entries []string) *wordFilter {
	f := &wordFilter{words: make(map[string]struct{})}
	for _, e := range entries {
		e = normalizeFilterEntry(e)
		switch {
		case e == "":
		case strings.Contains(e, " "):
			f.phrases = append(f.phrases, e)
		default:
			f.words[e] = struct{}{}
		}
	}
	return f
}

// empty reports whether the filter rejects nothing.
func (f *wordFilter) empty() bool { return f == nil || (len(f.words) == 0 && len(f.phrases) == 0) }

// match reports whether text contains a banned entry.
func (f *wordFilter) match(text string) bool {
	if f.empty() {
		return false
	}
	toks := tokens(text)
	for _, t := range toks {
		if _, ok := f.words[t]; ok {
			return true
		}
	}
	if len(f.phrases) == 0 {
		return false
	}
	joined := " " + strings.Join(toks, " ") + " "
	for _, p := range f.phrases {
		if strings.Contains(joined, " "+p+" ") {
			return true
		}
	}
	return false
}

// normalizeFilterEntry lower-cases an entry and reduces it to its words
// separated by single spaces ("" if it has none).
func normalizeFilterEntry(s string) string { return strings.Join(tokens(s), " ") }

// tokens splits s into lower-case runs of letters, digits and marks.
func tokens(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r)
	})
}
