package pool

import "time"

// SetAfterCall makes f run after each call returns, before Serve reads
// whether the watchdog interrupted it. Set it before the first Serve.
func (p *Pool) SetAfterCall(f func()) { p.afterCall = f }

// InterruptOverdue runs the watchdog's check as if the time were now.
func (p *Pool) InterruptOverdue(now time.Time) { p.interruptOverdue(now) }
