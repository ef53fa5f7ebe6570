package loadtest

import (
	"os"
	"time"
)

// runMeta is what a run knows about itself besides its measurements.
type runMeta struct {
	scenario   *Scenario
	runID      string
	shard      Shard
	bots       int
	start, end time.Time
	memory     MemoryStats
}

// buildReport assembles a shard's report from its measurements.
func buildReport(meta runMeta, m Measurements) *Report {
	host, _ := os.Hostname()
	r := &Report{
		Scenario: meta.scenario.Name, Description: meta.scenario.Description, RunID: meta.runID,
		Start: meta.start.UTC(), End: meta.end.UTC(), Measurements: m,
		Shards: []ShardInfo{{Index: meta.shard.Index, Count: meta.shard.Count, Host: host, Bots: meta.bots,
			Start: meta.start.UTC(), End: meta.end.UTC(), Memory: meta.memory}},
	}
	r.finalize(meta.scenario.SLO)
	return r
}
