//go:build race

package app_test

// raceEnabled: the race detector makes the pure-Go SQLite many times
// slower; long property runs shrink under it.
const raceEnabled = true
