// Sends change-log entries to Crossplane's change-log sidecar: gRPC
// (changelogs.proto.v1alpha1.ChangeLogService/SendChangeLog) over the Unix
// socket the sidecar listens on, as every Crossplane provider started with
// --enable-changelogs does.
//
// A reconcile never waits for the sidecar: Record puts the entry in a
// bounded buffer and one thread sends the buffer in order, retrying with
// backoff while the sidecar is away (restarting, say). An entry is dropped
// only when the buffer is full (the oldest first) or when entries are still
// unsent as the provider stops past its flush deadline; both are counted and
// logged.
#ifndef PROVIDER_CHANGELOGS_GRPC_CHANGE_LOG_H_
#define PROVIDER_CHANGELOGS_GRPC_CHANGE_LOG_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "absl/status/statusor.h"
#include "changelogs/proto/v1alpha1/changelog.grpc.pb.h"
#include "provider/runtime/changelog.h"

namespace changelogs {

struct GrpcChangeLogOptions {
  // The sidecar's socket (Crossplane's default: /var/run/changelogs/changelogs.sock).
  std::string socket_path;
  // Who makes the changes, as "name:version".
  std::string provider;
  // Entries kept while the sidecar is away.
  size_t buffer = 10000;
  std::chrono::milliseconds send_timeout{std::chrono::seconds(5)};
  std::chrono::milliseconds min_backoff{200};
  std::chrono::milliseconds max_backoff{std::chrono::seconds(30)};
};

// The wire form of an entry. InvalidArgument when the snapshot cannot be a
// google.protobuf.Struct (it always can when it came from the API server).
absl::StatusOr<proto::v1alpha1::ChangeLogEntry> ToProto(const runtime::ChangeEntry& entry,
                                                        const std::string& provider);

class GrpcChangeLog : public runtime::ChangeLog {
 public:
  explicit GrpcChangeLog(GrpcChangeLogOptions options);
  ~GrpcChangeLog() override;  // Stop(0)
  GrpcChangeLog(const GrpcChangeLog&) = delete;
  GrpcChangeLog& operator=(const GrpcChangeLog&) = delete;

  void Record(runtime::ChangeEntry entry) override;

  // Sends what is buffered for up to `flush`, then stops the sender; what is
  // left is counted as dropped.
  void Stop(std::chrono::milliseconds flush);

  uint64_t sent() const { return sent_; }
  uint64_t dropped() const { return dropped_; }
  uint64_t failures() const { return failures_; }  // attempts that failed
  size_t pending() const;

 private:
  void Run();
  // Waits up to `d` or until stopped; false when stopped.
  bool Pause(std::chrono::milliseconds d);

  const GrpcChangeLogOptions options_;
  std::unique_ptr<proto::v1alpha1::ChangeLogService::Stub> stub_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  // In the order recorded, each with its sequence number.
  std::deque<std::pair<uint64_t, proto::v1alpha1::SendChangeLogRequest>> queue_;
  uint64_t next_seq_ = 0;
  std::optional<uint64_t> in_flight_;  // the entry being sent
  bool stopping_ = false;
  std::chrono::steady_clock::time_point flush_until_{};
  std::atomic<uint64_t> sent_{0};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> failures_{0};
  std::thread sender_;
};

}  // namespace changelogs

#endif  // PROVIDER_CHANGELOGS_GRPC_CHANGE_LOG_H_
