#include "common/files.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace platform {
namespace {

namespace fs = std::filesystem;

class ReadFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/read-file-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path Write(const std::string& name, const std::string& content) {
    const fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
  fs::path dir_;
};

TEST_F(ReadFileTest, ReadsBinaryContentWhole) {
  const std::string content("a\0b\r\nc", 6);
  auto got = ReadFile(Write("f", content));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, content);
}

TEST_F(ReadFileTest, EmptyFileIsEmptyString) {
  auto got = ReadFile(Write("empty", ""));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, "");
}

TEST_F(ReadFileTest, MissingFileIsNotFoundNamingThePath) {
  auto got = ReadFile(dir_ / "absent");
  ASSERT_EQ(got.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(got.status().message().find("absent"), std::string::npos) << got.status();
}

TEST_F(ReadFileTest, DirectoryIsFailedPrecondition) {
  auto got = ReadFile(dir_);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kFailedPrecondition) << got.status();
}

}  // namespace
}  // namespace platform
