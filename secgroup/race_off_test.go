//go:build !race

package secgroup

const raceEnabled = false
