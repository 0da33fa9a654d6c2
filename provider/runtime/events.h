// Where the reconcilers send Kubernetes events: kube::EventRecorder writes
// them to the API server, tests keep them in memory.
#ifndef PROVIDER_RUNTIME_EVENTS_H_
#define PROVIDER_RUNTIME_EVENTS_H_

#include "provider/kube/events.h"

namespace runtime {

using EventSink = kube::Recorder;

}  // namespace runtime

#endif  // PROVIDER_RUNTIME_EVENTS_H_
