#include "provider/changelogs/grpc_change_log.h"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

namespace changelogs {

namespace pb = proto::v1alpha1;

namespace {

pb::OperationType OperationOf(runtime::ChangeOperation op) {
  switch (op) {
    case runtime::ChangeOperation::kCreate:
      return pb::OPERATION_TYPE_CREATE;
    case runtime::ChangeOperation::kUpdate:
      return pb::OPERATION_TYPE_UPDATE;
    case runtime::ChangeOperation::kDelete:
      return pb::OPERATION_TYPE_DELETE;
    case runtime::ChangeOperation::kObservedDrift:
      break;
  }
  return pb::OPERATION_TYPE_UNSPECIFIED;
}

}  // namespace

absl::StatusOr<pb::ChangeLogEntry> ToProto(const runtime::ChangeEntry& entry,
                                           const std::string& provider) {
  pb::ChangeLogEntry out;
  const auto nanos =
      std::chrono::duration_cast<std::chrono::nanoseconds>(entry.at.time_since_epoch()).count();
  *out.mutable_timestamp() = google::protobuf::util::TimeUtil::NanosecondsToTimestamp(nanos);
  out.set_provider(provider);
  const kube::Json& mr = entry.snapshot;
  const kube::Json meta = mr.value("metadata", kube::Json::object());
  out.set_api_version(mr.value("apiVersion", ""));
  out.set_kind(mr.value("kind", ""));
  out.set_name(meta.value("name", ""));
  const kube::Json annotations = meta.value("annotations", kube::Json::object());
  if (annotations.is_object()) {
    out.set_external_name(annotations.value("crossplane.io/external-name", ""));
  }
  out.set_operation(OperationOf(entry.operation));
  if (!mr.is_null()) {
    const auto parsed =
        google::protobuf::util::JsonStringToMessage(mr.dump(), out.mutable_snapshot());
    if (!parsed.ok()) {
      return absl::InvalidArgumentError("the snapshot is not a JSON object: " +
                                        std::string(parsed.message()));
    }
  }
  if (!entry.error.empty()) out.set_error_message(entry.error);
  auto& details = *out.mutable_additional_details();
  for (const auto& [k, v] : entry.details) details[k] = v;
  // Which operation an UNSPECIFIED entry stands for.
  if (entry.operation == runtime::ChangeOperation::kObservedDrift) {
    details["operation"] = "ObservedDrift";
  }
  return out;
}

namespace {

// A channel that notices a restarted sidecar within our own backoff, not
// gRPC's default reconnect backoff (up to two minutes).
std::shared_ptr<grpc::Channel> SidecarChannel(const GrpcChangeLogOptions& o) {
  grpc::ChannelArguments args;
  const int min_ms = static_cast<int>(std::max<int64_t>(o.min_backoff.count(), 1));
  const int max_ms = static_cast<int>(std::max<int64_t>(o.max_backoff.count(), min_ms));
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, min_ms);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, min_ms);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, max_ms);
  return grpc::CreateCustomChannel("unix:" + o.socket_path, grpc::InsecureChannelCredentials(),
                                   args);
}

}  // namespace

GrpcChangeLog::GrpcChangeLog(GrpcChangeLogOptions options)
    : options_(std::move(options)), stub_(pb::ChangeLogService::NewStub(SidecarChannel(options_))) {
  sender_ = std::thread([this] { Run(); });
}

GrpcChangeLog::~GrpcChangeLog() { Stop(std::chrono::milliseconds(0)); }

void GrpcChangeLog::Record(runtime::ChangeEntry entry) {
  absl::StatusOr<pb::ChangeLogEntry> wire = ToProto(entry, options_.provider);
  if (!wire.ok()) {
    ++dropped_;
    spdlog::error("change log: an entry for {} {} cannot be sent: {}",
                  entry.snapshot.value("kind", ""), kube::KeyOf(entry.snapshot).String(),
                  std::string(wire.status().message()));
    return;
  }
  pb::SendChangeLogRequest request;
  *request.mutable_entry() = *std::move(wire);
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      ++dropped_;
      return;
    }
    if (queue_.size() >= std::max<size_t>(options_.buffer, 1)) {
      // The oldest, unless it is being sent right now (it may well arrive):
      // then the one after it.
      if (in_flight_ && queue_.front().first == *in_flight_ && queue_.size() > 1) {
        queue_.erase(queue_.begin() + 1);
      } else {
        queue_.pop_front();
      }
      // The first of a run of drops, then every thousandth.
      if (dropped_++ % 1000 == 0) {
        spdlog::warn(
            "change log: {} entries buffered while the sidecar at {} is away; "
            "dropping the oldest ({} dropped so far)",
            queue_.size() + 1, options_.socket_path, dropped_.load());
      }
    }
    queue_.emplace_back(next_seq_++, std::move(request));
  }
  cv_.notify_all();
}

size_t GrpcChangeLog::pending() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

bool GrpcChangeLog::Pause(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  const auto until = std::chrono::steady_clock::now() + d;
  cv_.wait_until(lock, until,
                 [&] { return stopping_ && std::chrono::steady_clock::now() >= flush_until_; });
  return !(stopping_ && std::chrono::steady_clock::now() >= flush_until_);
}

void GrpcChangeLog::Run() {
  std::chrono::milliseconds backoff = options_.min_backoff;
  bool failing = false;
  for (;;) {
    uint64_t seq = 0;
    pb::SendChangeLogRequest request;
    std::chrono::system_clock::time_point deadline;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, all sent
      const auto now = std::chrono::steady_clock::now();
      if (stopping_ && now >= flush_until_) return;
      deadline = std::chrono::system_clock::now() + options_.send_timeout;
      // Stopping: no send outlives the flush deadline.
      if (stopping_) {
        deadline =
            std::min(deadline,
                     std::chrono::system_clock::now() +
                         std::chrono::duration_cast<std::chrono::milliseconds>(flush_until_ - now));
      }
      seq = queue_.front().first;
      request = queue_.front().second;
      in_flight_ = seq;
    }
    grpc::ClientContext context;
    context.set_deadline(deadline);
    pb::SendChangeLogResponse response;
    const grpc::Status status = stub_->SendChangeLog(&context, request, &response);
    {
      std::lock_guard lock(mu_);
      in_flight_.reset();
      // (A full buffer never drops the entry in flight: it is the front.)
      if (status.ok() && !queue_.empty() && queue_.front().first == seq) queue_.pop_front();
    }
    if (status.ok()) {
      ++sent_;
      if (failing)
        spdlog::info("change log: the sidecar at {} takes entries again", options_.socket_path);
      failing = false;
      backoff = options_.min_backoff;
      continue;
    }
    ++failures_;
    if (!failing) {
      spdlog::warn(
          "change log: cannot send to the sidecar at {} ({}: {}); {} entries wait, "
          "retrying with backoff",
          options_.socket_path, static_cast<int>(status.error_code()), status.error_message(),
          pending());
    }
    failing = true;
    if (!Pause(backoff)) return;
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

void GrpcChangeLog::Stop(std::chrono::milliseconds flush) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      stopping_ = true;
      flush_until_ = std::chrono::steady_clock::now() + flush;
    }
  }
  cv_.notify_all();
  if (sender_.joinable()) sender_.join();
  std::lock_guard lock(mu_);
  if (!queue_.empty()) {
    dropped_ += queue_.size();
    spdlog::warn("change log: stopping with {} entries the sidecar at {} did not take",
                 queue_.size(), options_.socket_path);
    queue_.clear();
  }
}

}  // namespace changelogs
