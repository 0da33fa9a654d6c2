// Where the reconcilers send Kubernetes events; kube::EventRecorder writes
// them to the API server, tests keep them in memory.
#ifndef PROVIDER_RUNTIME_EVENTS_H_
#define PROVIDER_RUNTIME_EVENTS_H_

#include <map>
#include <string>

#include "provider/kube/client.h"

namespace runtime {

class EventSink {
 public:
  virtual ~EventSink() = default;
  // type is "Normal" or "Warning".
  virtual void Event(const kube::Json& involved, const std::string& type, const std::string& reason,
                     const std::string& message,
                     const std::map<std::string, std::string>& annotations) = 0;

  void Normal(const kube::Json& involved, const std::string& reason, const std::string& message,
              const std::map<std::string, std::string>& annotations = {}) {
    Event(involved, "Normal", reason, message, annotations);
  }
  void Warning(const kube::Json& involved, const std::string& reason, const std::string& message,
               const std::map<std::string, std::string>& annotations = {}) {
    Event(involved, "Warning", reason, message, annotations);
  }
};

}  // namespace runtime

#endif  // PROVIDER_RUNTIME_EVENTS_H_
