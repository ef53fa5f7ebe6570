package loadtest

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"strconv"
)

// memSampler measures the tester's own memory: a baseline before any bot
// starts and one measurement with every bot connected.
type memSampler struct {
	base uint64
	st   MemoryStats
}

// live returns the live heap and stack bytes after a collection.
func live() (heap, stack uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc, ms.StackInuse
}

// baseline measures the idle process.
func (m *memSampler) baseline() {
	h, s := live()
	m.base = h + s
}

// measure records the memory with connected bots up.
func (m *memSampler) measure(connected int64) {
	h, s := live()
	m.st.HeapBytes, m.st.StackBytes = h, s
	m.st.Goroutines = runtime.NumGoroutine()
	m.st.BotsMeasured = connected
	if connected > 0 && h+s > m.base {
		m.st.BytesPerBot = (h + s - m.base) / uint64(connected)
	}
}

// stats returns the measurements and the peak resident set.
func (m *memSampler) stats() MemoryStats {
	st := m.st
	st.RSSBytes = peakRSS()
	return st
}

// peakRSS reads VmHWM from /proc/self/status (Linux); 0 elsewhere.
func peakRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmHWM:")); ok {
			f := bytes.Fields(v)
			if len(f) > 0 {
				kb, _ := strconv.ParseUint(string(f[0]), 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}
