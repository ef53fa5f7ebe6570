package loadtest

import (
	"fmt"
	"sort"
)

// Merge reads the reports of the shards of one run (directories holding
// report.json, or the files) and returns the combined report. Histograms,
// counters, errors and series are merged exactly, then every summary
// figure and SLO verdict is recomputed, so the result equals the report of
// one process that ran every bot. Write it with Report.Write.
func Merge(dirs ...string) (*Report, error) {
	reports := make([]*Report, 0, len(dirs))
	for _, d := range dirs {
		r, err := ReadReport(d)
		if err != nil {
			return nil, err
		}
		reports = append(reports, r)
	}
	return MergeReports(reports...)
}

// MergeReports combines reports of the shards of one run (see Merge). It
// refuses reports of different scenarios or SLO targets, a shard given
// twice, and a set with shards missing.
func MergeReports(reports ...*Report) (*Report, error) {
	if len(reports) == 0 {
		return nil, fmt.Errorf("%w: nothing to merge: give the report of every shard", ErrInvalidReport)
	}
	first := reports[0]
	slo, err := sloFromResults(first.SLO)
	if err != nil {
		return nil, err
	}
	out := &Report{Scenario: first.Scenario, Description: first.Description, RunID: first.RunID,
		Start: first.Start, End: first.End}
	seen := map[int]bool{}
	shardCount := 0
	for i, r := range reports {
		if r.Scenario != first.Scenario {
			return nil, fmt.Errorf("%w: report %d is of scenario %q, report 0 of %q", ErrInvalidReport, i, r.Scenario, first.Scenario)
		}
		if !sameTargets(r.SLO, first.SLO) {
			return nil, fmt.Errorf("%w: report %d has other SLO targets than report 0; were they run with the same scenario file?", ErrInvalidReport, i)
		}
		for _, s := range r.Shards {
			if shardCount == 0 {
				shardCount = s.Count
			}
			if s.Count != shardCount {
				return nil, fmt.Errorf("%w: shard %d/%d does not belong to a run of %d shards", ErrInvalidReport, s.Index, s.Count, shardCount)
			}
			if seen[s.Index] {
				return nil, fmt.Errorf("%w: shard %d/%d is given twice", ErrInvalidReport, s.Index, s.Count)
			}
			seen[s.Index] = true
			out.Shards = append(out.Shards, s)
		}
		if r.Start.Before(out.Start) {
			out.Start = r.Start
		}
		if r.End.After(out.End) {
			out.End = r.End
		}
		if i == 0 {
			out.Measurements = r.Measurements
			continue
		}
		if out.Measurements, err = out.Measurements.Merge(r.Measurements); err != nil {
			return nil, fmt.Errorf("%w: report %d: %w", ErrInvalidReport, i, err)
		}
	}
	for i := 0; i < shardCount; i++ {
		if !seen[i] {
			return nil, fmt.Errorf("%w: shard %d/%d is missing; pass the report of every shard", ErrInvalidReport, i, shardCount)
		}
	}
	if len(reports) == 1 {
		// Normalise a single report through Merge so its maps are copies.
		if out.Measurements, err = out.Measurements.Merge(Measurements{}); err != nil {
			return nil, err
		}
	}
	sort.Slice(out.Shards, func(i, j int) bool { return out.Shards[i].Index < out.Shards[j].Index })
	out.finalize(slo)
	return out, nil
}

// sameTargets reports whether two verdict sets have the same SLOs and
// targets.
func sameTargets(a, b map[string]SLOResult) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w.Target != v.Target || w.Op != v.Op {
			return false
		}
	}
	return true
}
