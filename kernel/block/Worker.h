// The block layer's worker thread ("kblockd"): block work that must not run
// in interrupt context. Today that is the request timeout scan: a TagSet's
// timeout timer (kernel/time/Timer.h) fires in the timer interrupt and only
// queues its set here; the worker then runs TagSet::run_timeout_check(),
// where the driver's timeout() may send an Abort and wait for it, or reset
// the controller and requeue what was in flight.
#pragma once

namespace block {

class TagSet;

// Start the worker (once, from thread context, at boot). Tag sets created
// before it run their checks as soon as it is up.
void start_worker();
bool worker_running();

// Have the worker run `set`'s timeout check. Any context; false if the worker
// is not running yet.
bool queue_timeout_check(TagSet& set);
// Drop `set` from the worker's list and wait until a check of it that is
// running has finished (before the set is freed). Thread context.
void forget_timeout_checks(TagSet& set);

} // namespace block
