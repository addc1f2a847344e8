//go:build race

package secgroup

// raceEnabled trims the property test under -race, where it is 10x slower;
// the concurrency it checks is covered by TestConcurrentEvaluate.
const raceEnabled = true
