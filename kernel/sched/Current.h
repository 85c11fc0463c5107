// current_thread(): the thread running on this CPU (null before sched::init).
#pragma once

#include "arch/x86_64/PerCpu.h"

class Thread;

inline Thread* current_thread() { return this_cpu().current_thread; }
