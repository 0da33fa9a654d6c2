// Helpers for table-driven protocol tests: messages from proto JSON, whole-
// message comparison with a readable diff, and case names for parameterized
// suites.
#ifndef PLATFORM_FUNCTION_TESTING_PROTO_TEST_UTIL_H_
#define PLATFORM_FUNCTION_TESTING_PROTO_TEST_UTIL_H_

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/message.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <string>

namespace platform::fn::testing {

// Parses proto JSON into a message; a parse error fails the current test.
template <typename M>
M FromJson(const std::string& json) {
  M m;
  auto status = google::protobuf::util::JsonStringToMessage(json, &m);
  EXPECT_TRUE(status.ok()) << status.ToString() << "\n" << json;
  return m;
}

// Compares two messages whole; on a mismatch shows the differences and both
// messages (summarised when large).
inline ::testing::AssertionResult EqualsProto(const google::protobuf::Message& want,
                                              const google::protobuf::Message& got) {
  google::protobuf::util::MessageDifferencer differencer;
  std::string diff;
  differencer.ReportDifferencesToString(&diff);
  if (differencer.Compare(want, got)) return ::testing::AssertionSuccess();
  const std::string want_text = want.ByteSizeLong() < 65536 ? want.DebugString() : "(large)\n";
  const std::string got_text = got.ByteSizeLong() < 65536 ? got.DebugString() : "(large)\n";
  return ::testing::AssertionFailure() << "differences:\n"
                                       << diff.substr(0, 65536) << "want:\n"
                                       << want_text << "got:\n"
                                       << got_text;
}

// The deterministic wire bytes of a message, to check pass-through is exact.
inline std::string WireBytes(const google::protobuf::Message& m) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    EXPECT_TRUE(m.SerializeToCodedStream(&coded));
  }
  return out;
}

// Names parameterized cases after their `name` field.
template <typename Case>
std::string CaseName(const ::testing::TestParamInfo<Case>& param) {
  return param.param.name;
}

}  // namespace platform::fn::testing

#endif  // PLATFORM_FUNCTION_TESTING_PROTO_TEST_UTIL_H_
