package loadtest

import (
	"fmt"
	"math"
)

// SLOResult is the verdict on one service level.
type SLOResult struct {
	// Target is the scenario's bound.
	Target float64 `json:"target"`
	// Op says how Actual is compared: "<=" (at most) or ">=" (at least).
	Op string `json:"op"`
	// Actual is the measured value; null when nothing was measured (which
	// fails: an SLO about viewers with no viewer connected is not met).
	Actual *float64 `json:"actual"`
	// Pass reports whether Actual meets Target.
	Pass bool `json:"pass"`
}

// sloTarget binds one SLO field to the report value it bounds.
type sloTarget struct {
	name string
	// ref is the SLO field; *ref is nil when the SLO is not set.
	ref     **float64
	pct     bool
	atLeast bool
	// actual reads the measured value from a finished report; ok is false
	// when there were no samples.
	actual func(r *Report) (v float64, ok bool)
}

// targets lists the SLOs in report order.
func (o *SLO) targets() []sloTarget {
	q := func(sel func(r *Report) Quantiles) func(r *Report) (float64, bool) {
		return func(r *Report) (float64, bool) {
			v := sel(r)
			return v.P99, v.Count > 0
		}
	}
	return []sloTarget{
		{name: "connect_p99_ms", ref: &o.ConnectP99MS, actual: q(func(r *Report) Quantiles { return r.ConnectMS })},
		{name: "join_p99_ms", ref: &o.JoinP99MS, actual: q(func(r *Report) Quantiles { return r.JoinMS })},
		{name: "chat_delivery_p99_ms", ref: &o.ChatDeliveryP99MS, actual: q(func(r *Report) Quantiles { return r.Chat.LatencyMS })},
		{name: "chat_missing_pct", ref: &o.ChatMissingPct, pct: true, actual: func(r *Report) (float64, bool) {
			return r.Chat.MissingPct, r.Chat.Expected > 0
		}},
		{name: "first_frame_p99_ms", ref: &o.FirstFrameP99MS, actual: q(func(r *Report) Quantiles { return r.Media.FirstFrameMS })},
		{name: "media_latency_p99_ms", ref: &o.MediaLatencyP99MS, actual: q(func(r *Report) Quantiles { return r.Media.LatencyMS })},
		{name: "media_loss_pct", ref: &o.MediaLossPct, pct: true, actual: func(r *Report) (float64, bool) {
			return r.Media.LossPct, r.Media.Packets.Expected > 0
		}},
		{name: "joined_min_pct", ref: &o.JoinedMinPct, pct: true, atLeast: true, actual: func(r *Report) (float64, bool) {
			if r.Bots == 0 {
				return 0, false
			}
			return round3(100 * float64(r.BotsJoined) / float64(r.Bots)), true
		}},
		{name: "errors_max", ref: &o.ErrorsMax, actual: func(r *Report) (float64, bool) {
			return float64(r.ErrorsTotal), true
		}},
	}
}

// evaluate computes the verdict of every SLO set in o on r.
func (o *SLO) evaluate(r *Report) map[string]SLOResult {
	out := map[string]SLOResult{}
	for _, t := range o.targets() {
		if *t.ref == nil {
			continue
		}
		res := SLOResult{Target: **t.ref, Op: "<="}
		if t.atLeast {
			res.Op = ">="
		}
		if v, ok := t.actual(r); ok {
			res.Actual = &v
			res.Pass = v <= res.Target
			if t.atLeast {
				res.Pass = v >= res.Target
			}
		}
		out[t.name] = res
	}
	return out
}

// sloFromResults rebuilds the SLO targets from a report's verdicts (Merge
// re-evaluates them on the merged figures).
func sloFromResults(res map[string]SLOResult) (SLO, error) {
	var o SLO
	fields := map[string]*(*float64){}
	for _, t := range o.targets() {
		fields[t.name] = t.ref
	}
	for name, r := range res {
		ref, ok := fields[name]
		if !ok {
			return o, fmt.Errorf("%w: unknown SLO %q", ErrInvalidReport, name)
		}
		if math.IsNaN(r.Target) || math.IsInf(r.Target, 0) {
			return o, fmt.Errorf("%w: SLO %s: target is not a number", ErrInvalidReport, name)
		}
		*ref = ptr(r.Target)
	}
	return o, nil
}
