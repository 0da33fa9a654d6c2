#include "function/compose/aws_names.h"

#include "function/compose/ids.h"
#include "function/sdk/strings.h"

namespace platform::fn::compose {
namespace {

bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) { return IsLower(c) || IsDigit(c) || (c >= 'A' && c <= 'Z'); }
char ToLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// The 8 hex digits of ShortHash and the '-' before them.
constexpr std::size_t kHashSuffix = 9;

// `kept` without the hyphens it ends in, then "-" and the hash of `whole`.
std::string WithHash(std::string_view kept, std::string_view whole) {
  while (!kept.empty() && kept.back() == '-') kept.remove_suffix(1);
  return sdk::Cat(kept, "-", ShortHash(whole));
}

}  // namespace

std::string Shorten(std::string_view name, std::size_t max) {
  if (name.size() <= max) return std::string(name);
  return WithHash(name.substr(0, max - kHashSuffix), name);
}

std::string SecurityGroupName(std::string_view name) {
  constexpr std::size_t kMax = 255;
  const bool reserved =
      name.size() >= 3 && ToLower(name[0]) == 's' && ToLower(name[1]) == 'g' && name[2] == '-';
  return Shorten(reserved ? sdk::Cat("platform_", name) : std::string(name), kMax);
}

std::string RdsIdentifier(std::string_view name) {
  constexpr std::size_t kMax = 60;
  std::string out;
  for (char c : name) {
    const char l = ToLower(c);
    if (IsLower(l) || IsDigit(l)) {
      out.push_back(l);
    } else if (!out.empty() && out.back() != '-') {
      out.push_back('-');
    }
  }
  if (out.empty() || !IsLower(out.front())) out = "db-" + out;
  // The hash is of the name asked for, so two names that map to the same
  // characters still differ once shortened.
  if (out.size() > kMax) return WithHash(std::string_view(out).substr(0, kMax - kHashSuffix), name);
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

std::string FinalSnapshotIdentifier(std::string_view identifier, std::string_view incarnation) {
  constexpr std::size_t kMax = 255;
  std::string out = sdk::Cat(identifier, "-final");
  if (!incarnation.empty()) out.push_back('-');
  for (char c : incarnation) {
    const char l = ToLower(c);
    if (IsLower(l) || IsDigit(l)) {
      out.push_back(l);
    } else if (out.back() != '-') {
      out.push_back('-');
    }
  }
  while (out.back() == '-') out.pop_back();
  return Shorten(out, kMax);
}

std::string EksClusterName(std::string_view name) {
  constexpr std::size_t kMax = 100;
  std::string out;
  for (char c : name) out.push_back(IsAlnum(c) || c == '_' ? c : '-');
  if (out.empty() || !IsAlnum(out.front())) out = "eks-" + out;
  return Shorten(out, kMax);
}

}  // namespace platform::fn::compose
