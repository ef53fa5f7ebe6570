package signaling

// SetFanoutChunk lets external tests exercise the parallel fan-out with
// small rooms; it returns a function restoring the default.
func SetFanoutChunk(n int) (restore func()) {
	old := fanoutChunk.Swap(int64(n))
	return func() { fanoutChunk.Store(old) }
}
