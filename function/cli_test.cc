#include "function/cli.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"

// Flags like main.cc's, defined here so that this file is their "main".
ABSL_FLAG(std::string, address, "0.0.0.0:9443", "Address to listen on (host:port).");
ABSL_FLAG(bool, debug, false, "Log one line per call.");
ABSL_FLAG(bool, insecure, false, "Serve plaintext gRPC.");
ABSL_FLAG(std::string, tls_certs_dir, "", "Directory with tls.crt, tls.key and ca.crt.");
ABSL_FLAG(int, max_recv_message_size, 4, "Largest request accepted, in MiB.");

namespace platform::fn {
namespace {

class CliTest : public ::testing::Test {
 protected:
  // Every test starts from the defaults. (absl::FlagSaver would too, but
  // logs every value it restores.)
  void SetUp() override {
    absl::SetFlag(&FLAGS_address, "0.0.0.0:9443");
    absl::SetFlag(&FLAGS_debug, false);
    absl::SetFlag(&FLAGS_insecure, false);
    absl::SetFlag(&FLAGS_tls_certs_dir, "");
    absl::SetFlag(&FLAGS_max_recv_message_size, 4);
  }

  static std::vector<absl::CommandLineFlag*> Flags() {
    return FlagsDefinedWith(*absl::FindCommandLineFlag("address"));
  }
  static CommandLine Parse(const std::vector<std::string>& args) {
    return ParseCommandLine(args, Flags());
  }
};

TEST_F(CliTest, OwnFlagsAreTheOnesDefinedBesideTheSiblingSortedByName) {
  std::vector<std::string> names;
  for (const absl::CommandLineFlag* f : Flags()) names.push_back(std::string(f->Name()));
  EXPECT_EQ(names, (std::vector<std::string>{"address", "debug", "insecure",
                                             "max_recv_message_size", "tls_certs_dir"}));
}

TEST_F(CliTest, DashesUnderscoresInlineAndSeparateValues) {
  const CommandLine c = Parse({"--tls-certs-dir", "/certs", "--max_recv_message_size=8",
                               "-address=127.0.0.1:1", "--insecure"});
  EXPECT_EQ(c.action, CommandLine::kRun) << c.error;
  EXPECT_EQ(absl::GetFlag(FLAGS_tls_certs_dir), "/certs");
  EXPECT_EQ(absl::GetFlag(FLAGS_max_recv_message_size), 8);
  EXPECT_EQ(absl::GetFlag(FLAGS_address), "127.0.0.1:1");
  EXPECT_TRUE(absl::GetFlag(FLAGS_insecure));
}

TEST_F(CliTest, BooleansTakeNoSeparateValueAndCanBeNegated) {
  EXPECT_EQ(Parse({"-d"}).action, CommandLine::kRun);
  EXPECT_TRUE(absl::GetFlag(FLAGS_debug));
  EXPECT_EQ(Parse({"--no-debug", "--insecure=true"}).action, CommandLine::kRun);
  EXPECT_FALSE(absl::GetFlag(FLAGS_debug));
  EXPECT_TRUE(absl::GetFlag(FLAGS_insecure));
  EXPECT_EQ(Parse({"--insecure=false"}).action, CommandLine::kRun);
  EXPECT_FALSE(absl::GetFlag(FLAGS_insecure));
  // "--insecure true": true is an argument, not the flag's value.
  const CommandLine c = Parse({"--insecure", "true"});
  EXPECT_EQ(c.action, CommandLine::kError);
  EXPECT_EQ(c.error, "unexpected argument \"true\"");
}

TEST_F(CliTest, HelpAndVersionStopParsing) {
  EXPECT_EQ(Parse({"--help"}).action, CommandLine::kHelp);
  EXPECT_EQ(Parse({"-h"}).action, CommandLine::kHelp);
  EXPECT_EQ(Parse({"--insecure", "--help", "--bogus"}).action, CommandLine::kHelp);
  EXPECT_EQ(Parse({"--version"}).action, CommandLine::kVersion);
}

TEST_F(CliTest, ErrorsNameTheFlagAsSpelled) {
  struct Case {
    std::vector<std::string> args;
    std::string error;
  } cases[] = {
      {{"--bogus"}, "unknown flag --bogus"},
      {{"--tls-server-certs-dir=/x"}, "unknown flag --tls-server-certs-dir"},
      {{"--no-address"}, "unknown flag --no-address"},
      {{"--helpfull"}, "unknown flag --helpfull"},
      {{"--address"}, "flag --address needs a value"},
      {{"--max-recv-message-size", "big"},
       "invalid value \"big\" for flag --max-recv-message-size"},
      {{"--insecure=maybe"}, "invalid value \"maybe\" for flag --insecure"},
      {{"serve"}, "unexpected argument \"serve\""},
      {{"-"}, "unexpected argument \"-\""},
      {{"--", "x"}, "unexpected argument \"x\""},
  };
  for (const Case& c : cases) {
    const CommandLine got = Parse(c.args);
    EXPECT_EQ(got.action, CommandLine::kError) << c.error;
    EXPECT_EQ(got.error, c.error);
  }
  EXPECT_EQ(Parse({"--"}).action, CommandLine::kRun);
}

TEST_F(CliTest, UsageListsEveryFlagWithDashesTypeAndDefault) {
  const std::string usage = Usage("Usage: x [flags]", Flags());
  EXPECT_EQ(usage.rfind("Usage: x [flags]\n\nFlags:\n", 0), 0u) << usage;
  for (const char* want :
       {"  --address string\n        Address to listen on (host:port). (default "
        "\"0.0.0.0:9443\")\n",
        "  -d, --debug\n        Log one line per call.\n",
        "  --insecure\n        Serve plaintext gRPC.\n",
        "  --max-recv-message-size int\n        Largest request accepted, in MiB. (default 4)\n",
        "  --tls-certs-dir string\n        Directory with tls.crt, tls.key and ca.crt.\n",
        "  -h, --help\n", "  --version\n"}) {
    EXPECT_NE(usage.find(want), std::string::npos) << want << "\nin:\n" << usage;
  }
  EXPECT_EQ(usage.find("_"), std::string::npos) << usage;
}

}  // namespace
}  // namespace platform::fn
