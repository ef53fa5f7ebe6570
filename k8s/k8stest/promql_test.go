package k8stest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// selector is a metric selector in a PromQL expression: the metric name and
// the label names of its matchers.
type selector struct {
	Metric string
	Labels []string
}

// promKeywords are identifiers that are not metric names: aggregation
// operators, binary-operator keywords and modifiers.
var promKeywords = map[string]bool{
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true,
	"count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true,
	"limitk": true, "limit_ratio": true,
	"and": true, "or": true, "unless": true, "atan2": true, "bool": true, "offset": true,
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"inf": true, "nan": true, "start": true, "end": true,
}

// labelListKeywords are followed by a parenthesised list of label names.
var labelListKeywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
}

// selectors extracts the metric selectors of a PromQL expression. It is a
// lexer, not a parser (promtool checks the syntax): strings are skipped,
// label lists after by/without/on/ignoring/group_* are skipped, an
// identifier followed by '(' is a function, keywords are skipped, and any
// other identifier is a metric name, with its {matchers} if any.
func selectors(expr string) ([]selector, error) {
	var out []selector
	s := expr
	i := 0
	skipSpace := func() {
		for i < len(s) && strings.ContainsRune(" \t\r\n", rune(s[i])) {
			i++
		}
	}
	skipString := func() error {
		q := s[i]
		i++
		for i < len(s) && s[i] != q {
			if s[i] == '\\' && q != '`' {
				i++
			}
			i++
		}
		if i >= len(s) {
			return fmt.Errorf("unterminated string in %q", expr)
		}
		i++
		return nil
	}
	ident := func() string {
		start := i
		for i < len(s) && (isIdentChar(s[i]) || s[i] == ':') {
			i++
		}
		return s[start:i]
	}
	// matchers reads {name op "value", ...} and returns the label names.
	matchers := func() ([]string, error) {
		var labels []string
		i++ // '{'
		for {
			skipSpace()
			if i >= len(s) {
				return nil, fmt.Errorf("unterminated matchers in %q", expr)
			}
			switch c := s[i]; {
			case c == '}':
				i++
				return labels, nil
			case c == ',':
				i++
			case c == '"' || c == '\'' || c == '`':
				if err := skipString(); err != nil {
					return nil, err
				}
			case isIdentStart(c):
				labels = append(labels, ident())
				skipSpace()
				for i < len(s) && strings.ContainsRune("=!~", rune(s[i])) {
					i++
				}
				skipSpace()
				if i < len(s) && (s[i] == '"' || s[i] == '\'' || s[i] == '`') {
					if err := skipString(); err != nil {
						return nil, err
					}
				}
			default:
				return nil, fmt.Errorf("unexpected %q in matchers of %q", c, expr)
			}
		}
	}
	for i < len(s) {
		c := s[i]
		switch {
		// Label values and regexps may hold anything, braces included.
		case c == '"' || c == '\'' || c == '`':
			if err := skipString(); err != nil {
				return nil, err
			}
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		// Range and subquery durations ([5m], [1h:1m]) hold no names.
		case c == '[':
			for i < len(s) && s[i] != ']' {
				i++
			}
		// Numbers and durations outside brackets (offset 5m, 0.99).
		case c >= '0' && c <= '9' || c == '.':
			for i < len(s) && (isIdentChar(s[i]) || s[i] == '.') {
				i++
			}
		// {__name__=~"..."} could name any metric: refuse it, so that
		// every selector's metric can be checked.
		case c == '{':
			return nil, fmt.Errorf("selector without a metric name in %q: name the metric", expr)
		case isIdentStart(c):
			id := ident()
			skipSpace()
			next := byte(0)
			if i < len(s) {
				next = s[i]
			}
			switch {
			// by (a, b) and friends: the list holds label names.
			case labelListKeywords[id]:
				if next == '(' {
					for i < len(s) && s[i] != ')' {
						i++
					}
				}
			// Operators, and functions (a name followed by '(').
			case promKeywords[id], next == '(':
			default:
				sel := selector{Metric: id}
				if next == '{' {
					labels, err := matchers()
					if err != nil {
						return nil, err
					}
					sel.Labels = labels
				}
				out = append(out, sel)
			}
		default:
			i++
		}
	}
	return out, nil
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isIdentChar(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

// TestSelectors pins the lexer on the shapes the rules and dashboards use.
func TestSelectors(t *testing.T) {
	cases := []struct {
		expr string
		want []selector
	}{
		{`up == 0`, []selector{{Metric: "up"}}},
		{`sum by (region, le) (rate(a_bucket{x="1",y=~"a|b"}[5m])) > 0.5`,
			[]selector{{Metric: "a_bucket", Labels: []string{"x", "y"}}}},
		{`sum by (pod) (rate(a[5m])) / on (pod) group_left max by (pod) (b{c!="}"})`,
			[]selector{{Metric: "a"}, {Metric: "b", Labels: []string{"c"}}}},
		{"max by (queue) (r{queue=~`p\\..*`, queue!~`.*\\.dlq`}) > 100 or absent(s)",
			[]selector{{Metric: "r", Labels: []string{"queue", "queue"}}, {Metric: "s"}}},
		{`histogram_quantile(0.99, sum(rate(h_bucket[1h]))) * 8 and x offset 5m`,
			[]selector{{Metric: "h_bucket"}, {Metric: "x"}}},
	}
	for _, c := range cases {
		got, err := selectors(c.expr)
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		if !slices.EqualFunc(got, c.want, func(a, b selector) bool {
			return a.Metric == b.Metric && slices.Equal(a.Labels, b.Labels)
		}) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.expr, got, c.want)
		}
	}
	if _, err := selectors(`{__name__="x"}`); err == nil {
		t.Error("a selector without a name must be refused (its metric cannot be checked)")
	}
}
