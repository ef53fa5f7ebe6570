package sfu

import "time"

// epoch anchors nanotime; time.Since uses the monotonic clock reading.
var epoch = time.Now()

// nanotime returns monotonic nanoseconds since process start, cheap enough
// for every packet and immune to wall-clock jumps.
func nanotime() int64 { return int64(time.Since(epoch)) }
