#include "provider/common/crypto.h"

#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <stdexcept>
#include <string>

#include "provider/testing/status.h"

namespace provider {
namespace {

using namespace std::string_literals;

using provider::testing::ErrorOf;

TEST(CryptoTest, GzipRoundTrip) {
  const std::string text = std::string(10000, 'a') + "{\"serial\": 1}";
  const std::string packed = Gzip(text).value();
  EXPECT_LT(packed.size(), text.size());
  EXPECT_EQ(static_cast<unsigned char>(packed[0]), 0x1f);
  EXPECT_EQ(Gunzip(packed).value(), text);
  EXPECT_EQ(Gunzip(Gzip("").value()).value(), "");
}

TEST(CryptoTest, GunzipRejectsGarbageAndTruncation) {
  EXPECT_NE(ErrorOf(Gunzip("not gzip at all, no no no")), "");
  const std::string packed = Gzip(std::string(5000, 'x') + "tail").value();
  EXPECT_NE(ErrorOf(Gunzip(packed.substr(0, packed.size() / 2))), "");
  EXPECT_NE(ErrorOf(Gunzip(Gzip(std::string(5000, 'x')).value(), 100)).find("too large"),
            std::string::npos);
}

TEST(CryptoTest, SealRoundTrip) {
  const std::string plain = "secret state \0 with nul"s;
  const std::string sealed = Seal("key material", plain).value();
  EXPECT_TRUE(IsSealed(sealed));
  EXPECT_EQ(sealed.compare(0, 7, "tfenc1:"), 0);
  EXPECT_EQ(sealed.size(), 7 + 12 + plain.size() + 16);
  EXPECT_EQ(sealed.find("secret state"), std::string::npos);
  EXPECT_EQ(Open("key material", sealed).value(), plain);
  EXPECT_NE(Seal("key material", plain).value(), sealed);  // a fresh nonce each time
  EXPECT_EQ(Open("k", Seal("k", "").value()).value(), "");
  EXPECT_FALSE(IsSealed(plain));
}

TEST(CryptoTest, WrongKey) {
  const std::string sealed = Seal("right", "data").value();
  EXPECT_EQ(ErrorOf(Open("wrong", sealed)), "state is encrypted and the key does not match");
}

TEST(CryptoTest, NoKey) {
  const std::string sealed = Seal("right", "data").value();
  EXPECT_EQ(ErrorOf(Open("", sealed)), "state is encrypted but no key is configured");
}

TEST(CryptoTest, TamperedBlob) {
  std::string sealed = Seal("k", "some state to protect").value();
  sealed[7 + 12 + 3] ^= 1;
  EXPECT_EQ(ErrorOf(Open("k", sealed)), "state is encrypted and the key does not match");
  std::string tag_changed = Seal("k", "x").value();
  tag_changed.back() ^= 0x80;
  EXPECT_NE(ErrorOf(Open("k", tag_changed)), "");
}

TEST(CryptoTest, GarbageNeverCrashes) {
  EXPECT_NE(ErrorOf(Open("k", "tfenc1:")), "");
  EXPECT_NE(ErrorOf(Open("k", "tfenc1:short")), "");
  EXPECT_NE(ErrorOf(Open("k", "plain text")), "");
  std::mt19937 rng(42);
  for (int i = 0; i < 200; ++i) {
    std::string blob = "tfenc1:";
    const size_t n = rng() % 100;
    for (size_t j = 0; j < n; ++j) blob.push_back(static_cast<char>(rng()));
    EXPECT_NE(ErrorOf(Open("k", blob)), "");
    std::string gz(n, '\0');
    for (auto& c : gz) c = static_cast<char>(rng());
    (void)Gunzip(gz);
  }
}

TEST(CryptoTest, Base64) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  for (const std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\x00\x80"}) {
    EXPECT_EQ(Base64Decode(Base64Encode(s)).value(), s);
  }
  EXPECT_EQ(Base64Decode("Zm9v!").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Base64Decode("Z").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(CryptoTest, Sha256Hex) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace provider
