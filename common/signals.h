// The signals the programs stop on, for main to wait for.
#ifndef PLATFORM_COMMON_SIGNALS_H_
#define PLATFORM_COMMON_SIGNALS_H_

#include <signal.h>

namespace platform {

// Blocks SIGTERM and SIGINT in this thread and every thread it starts later
// (gRPC's, libmicrohttpd's, the watches'), so that main alone receives them,
// with sigwait or sigtimedwait on the returned set. Call it before starting
// any thread.
sigset_t BlockShutdownSignals();

}  // namespace platform

#endif  // PLATFORM_COMMON_SIGNALS_H_
