// The provider as its container's init. In an image the provider is the
// first process (PID 1): nothing else reaps orphans (a supervisor whose
// program ended after the provider, an ssh ControlPersist master), and when
// PID 1 ends the kernel kills every other process of the container at once,
// so an OpenTofu run interrupted by the provider's death would be killed
// before it has written its state.
//
// RunAsInit forks: the child returns and goes on as the provider; the parent
// stays behind as a small init. It forwards the signals a container gets
// (SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2) to the provider,
// reaps every process handed to it, and when the provider ends, waits up to
// `drain` for the runs it left (each interrupted once by its supervisor) to
// end, kills what is left after that, and exits as the provider did.
#ifndef PROVIDER_EXEC_INIT_H_
#define PROVIDER_EXEC_INIT_H_

#include <chrono>

namespace exec {

// Call before any thread starts. Returns true in the child (the provider),
// with the caller's signal mask; false when fork failed (the caller goes on
// without an init). In the parent it does not return: it exits with the
// provider's exit code (128 + the signal when a signal ended it). The parent
// is made a child subreaper, so orphans are handed to it also when it is not
// PID 1 (the tests run it so).
bool RunAsInit(std::chrono::milliseconds drain);

}  // namespace exec

#endif  // PROVIDER_EXEC_INIT_H_
