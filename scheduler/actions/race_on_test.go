//go:build race

package actions

// raceEnabled slows the compressed clock under the race detector, which
// makes the embedded store (FerretDB over pure-Go SQLite) many times slower.
const raceEnabled = true
