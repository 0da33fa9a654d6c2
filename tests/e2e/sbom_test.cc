// The images' SBOMs (scripts/sbom.py, written by scripts/image.sh and
// scripts/provider-image.sh beside the image tars): valid SPDX 2.3 for the
// SPDX project's own parser (pyspdxtools, `scripts/tools.sh spdx-tools`), and
// complete against the images themselves, read from the tars the build wrote
// (not podman's store, whose tags other checkouts share): the provider's SBOM
// lists exactly the packages of the image's dpkg status database plus the
// packages of the libraries copied from the build machine; the function's
// lists the package of every shared library in it. Both architectures: the
// native images (`make image provider-image`) and the arm64 ones, whose
// libraries come from this machine's arm64 packages (`make arm64`).
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/subprocess.h"

namespace platform::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kSource = PLATFORM_SOURCE_DIR;
const std::string kBuild = PLATFORM_BUILD_DIR;
const std::string kArm64Build = PLATFORM_ARM64_BUILD_DIR;

RunResult Cmd(const std::vector<std::string>& argv) {
  return RunCommand(argv, std::chrono::seconds(300));
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

// pyspdxtools parses and validates: exit 0 and nothing printed when valid.
RunResult Validate(const std::string& sbom) {
  static const std::string bin = [] {
    RunResult r = Cmd({kSource + "/scripts/tools.sh", "spdx-tools"});
    return Lines(r.out).empty() ? std::string("pyspdxtools") : Lines(r.out).back();
  }();
  return Cmd({bin, "-i", sbom});
}

// A docker-archive's layers unpacked in order into <dir>/rootfs.
std::string Unpack(const std::string& tar, const TempDir& dir) {
  const std::string root = dir.path() + "/rootfs";
  fs::create_directories(root);
  RunResult r = Cmd({"tar", "-xf", tar, "-C", dir.path()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const json manifest = json::parse(ReadFile(dir.path() + "/manifest.json"));
  for (const json& layer : manifest[0]["Layers"]) {
    r = Cmd({"tar", "-xf", dir.path() + "/" + layer.get<std::string>(), "-C", root});
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  return root;
}

// A Debian package as "name:arch version".
using Packages = std::set<std::string>;

// The installed packages of <root>/var/lib/dpkg/status, read by dpkg itself.
Packages DpkgStatus(const std::string& root) {
  RunResult r = Cmd({"dpkg-query", "--admindir=" + root + "/var/lib/dpkg", "-W", "-f",
                     "${db:Status-Abbrev} ${Package}:${Architecture} ${Version}\n"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  Packages out;
  for (const std::string& line : Lines(r.out)) {
    if (line.starts_with("ii ")) out.insert(line.substr(line.find(' ', 3) + 1));
  }
  return out;
}

// Every path the image's dpkg database says a package installed.
std::set<std::string> DpkgOwned(const std::string& root) {
  std::set<std::string> out;
  const fs::path info = fs::path(root) / "var/lib/dpkg/info";
  if (!fs::exists(info)) return out;
  for (const auto& e : fs::directory_iterator(info)) {
    if (e.path().extension() != ".list") continue;
    for (const std::string& p : Lines(ReadFile(e.path()))) out.insert(p);
  }
  return out;
}

// The build machine's packages of the image's shared libraries that its own
// dpkg database does not hold (`dpkg -S`, both sides of the /usr merge and
// the file a symlink names); `unowned` gets the libraries no package holds.
Packages HostLibraryPackages(const std::string& root, std::vector<std::string>* unowned) {
  const std::set<std::string> owned = DpkgOwned(root);
  std::map<std::string, std::vector<std::string>> candidates;  // image path -> host paths
  std::vector<std::string> all;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (!e.is_regular_file() || e.path().filename().string().find(".so") == std::string::npos) {
      continue;
    }
    const std::string p = "/" + fs::relative(e.path(), root).string();
    if (owned.contains(p)) continue;
    std::vector<std::string>& c = candidates[p];
    const std::string real = fs::weakly_canonical(p).string();
    for (const std::string& q : {p, real}) {
      c.push_back(q);
      c.push_back(q.starts_with("/usr/") ? q.substr(4) : "/usr" + q);
    }
    all.insert(all.end(), c.begin(), c.end());
  }
  std::map<std::string, std::string> owner;  // host path -> package
  if (!all.empty()) {
    std::vector<std::string> argv = {"dpkg", "-S"};
    argv.insert(argv.end(), all.begin(), all.end());
    for (const std::string& line : Lines(Cmd(argv).out)) {
      if (line.starts_with("diversion")) continue;
      const std::size_t sep = line.find(": ");
      if (sep == std::string::npos) continue;
      std::string pkg = line.substr(0, sep);
      pkg = pkg.substr(0, pkg.find(", "));
      owner.emplace(line.substr(sep + 2), pkg);
    }
  }
  std::set<std::string> names;
  for (const auto& [path, hosts] : candidates) {
    bool found = false;
    for (const std::string& h : hosts) {
      if (auto it = owner.find(h); it != owner.end()) {
        names.insert(it->second);
        found = true;
        break;
      }
    }
    if (!found) unowned->push_back(path);
  }
  Packages out;
  if (names.empty()) return out;
  std::vector<std::string> argv = {"dpkg-query", "-W", "-f",
                                   "${Package}:${Architecture} ${Version}\n"};
  argv.insert(argv.end(), names.begin(), names.end());
  RunResult r = Cmd(argv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (const std::string& line : Lines(r.out)) out.insert(line);
  return out;
}

// The Debian packages an SBOM lists (purl pkg:deb/debian/...), as
// "name:arch version"; `bad` gets those whose purl does not say so.
Packages SbomDebs(const json& doc, std::vector<std::string>* bad) {
  Packages out;
  for (const json& p : doc["packages"]) {
    for (const json& ref : p.value("externalRefs", json::array())) {
      const std::string purl = ref.value("referenceLocator", "");
      if (ref.value("referenceType", "") != "purl" || !purl.starts_with("pkg:deb/")) continue;
      const std::size_t arch = purl.find("?arch=");
      if (!purl.starts_with("pkg:deb/debian/") || arch == std::string::npos ||
          !purl.ends_with("&distro=debian-12")) {
        bad->push_back(purl);
        continue;
      }
      const std::size_t end = purl.find('&', arch);
      out.insert(p["name"].get<std::string>() + ":" + purl.substr(arch + 6, end - arch - 6) + " " +
                 p["versionInfo"].get<std::string>());
    }
  }
  return out;
}

// "" when the SBOM lists exactly `expected`; what differs otherwise.
std::string Compare(const json& doc, const Packages& expected) {
  std::vector<std::string> bad;
  const Packages listed = SbomDebs(doc, &bad);
  std::string diff;
  for (const std::string& b : bad) diff += "malformed purl " + b + "\n";
  for (const std::string& p : expected) {
    if (!listed.contains(p)) diff += "missing " + p + "\n";
  }
  for (const std::string& p : listed) {
    if (!expected.contains(p)) diff += "not in the image " + p + "\n";
  }
  return diff;
}

// The package an SBOM lists under `name` (a component such as the function).
json Component(const json& doc, const std::string& name) {
  for (const json& p : doc["packages"]) {
    if (p["name"] == name) return p;
  }
  return json();
}

// The architecture of a docker-archive's image (its config), a Debian name.
std::string ImageArch(const std::string& tar) {
  TempDir dir;
  RunResult r = Cmd({"tar", "-xf", tar, "-C", dir.path(), "manifest.json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const std::string config = json::parse(ReadFile(dir.path() + "/manifest.json"))[0]["Config"];
  r = Cmd({"tar", "-xOf", tar, config});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return json::parse(r.out).value("architecture", "");
}

std::string ExpectedVersion(const std::string& tar) {
  if (fs::exists(kSource + "/VERSION")) {
    std::string v = ReadFile(kSource + "/VERSION");
    while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.pop_back();
    return v;
  }
  // Else the tag the script built: the archive's RepoTags.
  TempDir dir;
  RunResult r = Cmd({"tar", "-xf", tar, "-C", dir.path(), "manifest.json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const std::string tag = json::parse(ReadFile(dir.path() + "/manifest.json"))[0]["RepoTags"][0];
  return tag.substr(tag.rfind(':') + 1);
}

// The images of one build folder: the native build or the arm64 one.
class SbomTest : public ::testing::TestWithParam<std::string> {
 protected:
  const std::string& build() const { return GetParam(); }
  std::string made_by() const { return build() == kBuild ? "`make image`" : "`make arm64`"; }
  const std::string function_tar_ = build() + "/image/function-platform.tar";
  const std::string function_sbom_ = build() + "/image/function-platform.spdx.json";
  const std::string provider_tar_ = build() + "/provider-image/provider-workloads.tar";
  const std::string provider_sbom_ = build() + "/provider-image/provider-workloads.spdx.json";
};

TEST_P(SbomTest, FunctionSbomIsValidSpdxAndListsThePackageOfEveryLibrary) {
  ASSERT_TRUE(fs::exists(function_sbom_)) << function_sbom_ << " is missing: run " << made_by();
  RunResult valid = Validate(function_sbom_);
  EXPECT_EQ(valid.exit_code, 0) << valid.out << valid.err;
  EXPECT_EQ(valid.out + valid.err, "");

  TempDir dir;
  const std::string root = Unpack(function_tar_, dir);
  EXPECT_FALSE(fs::exists(root + "/var/lib/dpkg")) << "the function image has no dpkg database";
  std::vector<std::string> unowned;
  const Packages libs = HostLibraryPackages(root, &unowned);
  EXPECT_TRUE(unowned.empty()) << "libraries of no Debian package: " << unowned.front();
  EXPECT_GT(libs.size(), 10u);  // gRPC, protobuf, Abseil, OpenSSL, libc...
  const std::string arch = ImageArch(function_tar_);
  EXPECT_EQ(arch, build() == kBuild ? Lines(Cmd({"dpkg", "--print-architecture"}).out).at(0)
                                    : std::string("arm64"));
  const std::string libc6 =
      Cmd({"dpkg-query", "-W", "-f", "${Package}:${Architecture} ${Version}", "libc6:" + arch}).out;
  EXPECT_TRUE(libs.contains(libc6)) << "the loader and libc come from " << libc6;

  const json doc = json::parse(ReadFile(function_sbom_));
  EXPECT_EQ(doc["spdxVersion"], "SPDX-2.3");
  EXPECT_EQ(Compare(doc, libs), "");
  const json fn = Component(doc, "function-platform");
  ASSERT_TRUE(fn.is_object()) << "the function itself is listed";
  EXPECT_EQ(fn["versionInfo"], ExpectedVersion(function_tar_));
}

#ifdef PLATFORM_HAS_PROVIDER
TEST_P(SbomTest, ProviderSbomIsValidSpdxAndListsExactlyTheImagesDpkgPackages) {
  ASSERT_TRUE(fs::exists(provider_sbom_))
      << provider_sbom_ << " is missing: run "
      << (build() == kBuild ? "`make provider-image`" : made_by());
  RunResult valid = Validate(provider_sbom_);
  EXPECT_EQ(valid.exit_code, 0) << valid.out << valid.err;
  EXPECT_EQ(valid.out + valid.err, "");

  TempDir dir;
  const std::string root = Unpack(provider_tar_, dir);
  // What a scanner reads: dpkg's own database, with the files of each package.
  const Packages status = DpkgStatus(root);
  EXPECT_GT(status.size(), 100u);
  for (const char* p : {"dash", "libc6", "python3.11-minimal", "git", "openssh-client"}) {
    bool found = false;
    for (const std::string& s : status) found |= s.starts_with(std::string(p) + ":");
    EXPECT_TRUE(found) << p << " is not in the image's dpkg status";
  }
  EXPECT_TRUE(fs::exists(root + "/var/lib/dpkg/info/dash.list"));
  const std::string arch = ImageArch(provider_tar_);
  // Every package of the image is of its architecture (or of none).
  for (const std::string& p : status) {
    const std::string a = p.substr(p.find(':') + 1, p.find(' ') - p.find(':') - 1);
    EXPECT_TRUE(a == arch || a == "all") << p << " in a " << arch << " image";
  }
  EXPECT_TRUE(fs::exists(root + "/var/lib/dpkg/info/libc6:" + arch + ".md5sums"));
  const std::set<std::string> owned = DpkgOwned(root);
  EXPECT_TRUE(owned.contains("/bin/dash"));
  EXPECT_FALSE(owned.contains("/usr/local/bin/provider-workloads"));

  std::vector<std::string> unowned;
  Packages expected = HostLibraryPackages(root, &unowned);
  EXPECT_TRUE(unowned.empty()) << "libraries of no Debian package: " << unowned.front();
  expected.insert(status.begin(), status.end());
  const json doc = json::parse(ReadFile(provider_sbom_));
  EXPECT_EQ(Compare(doc, expected), "");
  const json provider = Component(doc, "provider-workloads");
  ASSERT_TRUE(provider.is_object());
  EXPECT_EQ(provider["versionInfo"], ExpectedVersion(provider_tar_));
  EXPECT_TRUE(Component(doc, "opentofu").is_object());
}
#endif

// The negative control: the function's SBOM without one package (and its
// relationship) is still valid SPDX, so only the completeness check catches
// it; a dangling relationship is caught by the parser.
TEST_P(SbomTest, ASbomMissingAPackageFailsTheCheck) {
  ASSERT_TRUE(fs::exists(function_sbom_)) << function_sbom_ << " is missing: run " << made_by();
  TempDir dir;
  const std::string root = Unpack(function_tar_, dir);
  std::vector<std::string> unowned;
  const Packages libs = HostLibraryPackages(root, &unowned);
  json doc = json::parse(ReadFile(function_sbom_));
  ASSERT_EQ(Compare(doc, libs), "");

  json& packages = doc["packages"];
  std::string removed_id, removed_name;
  for (auto it = packages.begin(); it != packages.end(); ++it) {
    if ((*it)["name"] == "libssl3") {
      removed_id = (*it)["SPDXID"];
      removed_name = (*it)["name"];
      packages.erase(it);
      break;
    }
  }
  ASSERT_EQ(removed_name, "libssl3") << "the function image carries OpenSSL";
  json& relationships = doc["relationships"];
  json dangling;
  for (auto it = relationships.begin(); it != relationships.end(); ++it) {
    if ((*it)["relatedSpdxElement"] == removed_id) {
      dangling = *it;
      relationships.erase(it);
      break;
    }
  }
  const std::string incomplete = dir.Write("incomplete.spdx.json", doc.dump(2));
  RunResult valid = Validate(incomplete);
  EXPECT_EQ(valid.exit_code, 0) << valid.out << valid.err;
  const std::string diff = Compare(doc, libs);
  EXPECT_NE(diff.find("missing libssl3:"), std::string::npos) << diff;

  relationships.push_back(dangling);
  const std::string broken = dir.Write("broken.spdx.json", doc.dump(2));
  RunResult invalid = Validate(broken);
  EXPECT_NE(invalid.exit_code, 0) << "pyspdxtools accepted a relationship to no element";
  EXPECT_NE((invalid.out + invalid.err).find(removed_id), std::string::npos)
      << invalid.out << invalid.err;
}

INSTANTIATE_TEST_SUITE_P(Images, SbomTest, ::testing::Values(kBuild, kArm64Build),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           return param.param == kBuild ? "native" : "arm64";
                         });

}  // namespace
}  // namespace platform::testing
