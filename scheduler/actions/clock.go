package actions

import "time"

// Clock tells the planner and the workers what time it is in the schedule's
// world. Production uses System; tests compress a convention into seconds
// with Scaled.
type Clock interface {
	// Now is the current instant.
	Now() time.Time
	// Wall converts an instant of this clock to the real instant at which it
	// occurs, for the queue's Job.NotBefore (the queue runs on real time).
	Wall(t time.Time) time.Time
}

// System is the real clock.
func System() Clock { return systemClock{} }

type systemClock struct{}

func (systemClock) Now() time.Time             { return time.Now() }
func (systemClock) Wall(t time.Time) time.Time { return t }

// Scaled returns a clock that reads origin now and runs factor times faster
// than real time: with factor 1800, a 30-minute session lasts one real
// second. Every Scaled clock made from the same origin, start and factor
// agrees, so two schedulers in one test share a timeline.
func Scaled(origin, start time.Time, factor float64) Clock {
	if factor <= 0 {
		factor = 1
	}
	return scaledClock{origin: origin, start: start, factor: factor}
}

type scaledClock struct {
	origin, start time.Time
	factor        float64
}

func (c scaledClock) Now() time.Time {
	return c.origin.Add(time.Duration(float64(time.Since(c.start)) * c.factor))
}

func (c scaledClock) Wall(t time.Time) time.Time {
	return c.start.Add(time.Duration(float64(t.Sub(c.origin)) / c.factor))
}
