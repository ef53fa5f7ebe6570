//go:build sfudebug

package sfu

import (
	"net/http"
	"net/http/pprof"
	"os"
)

// With -tags sfudebug, a binary serves net/http/pprof (profiles and
// runtime/trace) on PLENARY_SFU_PPROF (e.g. 127.0.0.1:6061), for
// investigating the media path under the load tester. Never in a release
// build: the endpoints are unauthenticated.
func init() {
	addr := os.Getenv("PLENARY_SFU_PPROF")
	if addr == "" {
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	go func() { _ = http.ListenAndServe(addr, mux) }()
}
