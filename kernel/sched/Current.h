// current_thread(): the thread running on this CPU (null before sched::init).
#pragma once

#include "arch/x86_64/PerCpu.h"

class Thread;

inline Thread* current_thread() { return this_cpu().current_thread; }

// current_thread()->signal_pending() (Thread.h), for code that cannot include
// Thread.h (the wait queues it includes).
bool current_signal_pending();
