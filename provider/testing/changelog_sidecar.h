// A change-log sidecar for tests: Crossplane's ChangeLogService on a Unix
// socket, keeping every entry it is sent (the real sidecar prints them).
#ifndef PROVIDER_TESTING_CHANGELOG_SIDECAR_H_
#define PROVIDER_TESTING_CHANGELOG_SIDECAR_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "changelogs/proto/v1alpha1/changelog.grpc.pb.h"

namespace kube::testing {

// The string at `path` (field names) of an entry's snapshot; "" when absent.
inline std::string SnapshotString(const changelogs::proto::v1alpha1::ChangeLogEntry& entry,
                                  std::initializer_list<std::string> path) {
  const google::protobuf::Struct* at = &entry.snapshot();
  const google::protobuf::Value* value = nullptr;
  for (const std::string& field : path) {
    if (at == nullptr) return "";
    const auto it = at->fields().find(field);
    if (it == at->fields().end()) return "";
    value = &it->second;
    at = value->has_struct_value() ? &value->struct_value() : nullptr;
  }
  return value != nullptr ? value->string_value() : "";
}

class ChangeLogSidecar final : public changelogs::proto::v1alpha1::ChangeLogService::Service {
 public:
  using Entry = changelogs::proto::v1alpha1::ChangeLogEntry;

  // Listens on `socket` (a path of at most 107 bytes); up() says whether it
  // could.
  explicit ChangeLogSidecar(const std::string& socket) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("unix:" + socket, grpc::InsecureServerCredentials());
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
  }
  ~ChangeLogSidecar() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }
  bool up() const { return server_ != nullptr; }

  grpc::Status SendChangeLog(grpc::ServerContext*,
                             const changelogs::proto::v1alpha1::SendChangeLogRequest* request,
                             changelogs::proto::v1alpha1::SendChangeLogResponse*) override {
    std::lock_guard lock(mu_);
    entries_.push_back(request->entry());
    return grpc::Status::OK;
  }

  std::vector<Entry> entries() const {
    std::lock_guard lock(mu_);
    return entries_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<Entry> entries_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace kube::testing

#endif  // PROVIDER_TESTING_CHANGELOG_SIDECAR_H_
