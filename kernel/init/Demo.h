// The default workload when the command line names none (no ktest=, bench=):
// a short random-read benchmark on every block device, through blk-mq and the
// driver's raw queue loop, so a plain `tools/run` shows the I/O path working.
#pragma once

namespace demo {

void run_default();

} // namespace demo
