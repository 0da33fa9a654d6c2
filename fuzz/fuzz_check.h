// The fuzz targets' invariant check: a violation prints what broke and
// traps, so libFuzzer saves the input.
#ifndef PLATFORM_FUZZ_FUZZ_CHECK_H_
#define PLATFORM_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <string>

#define FUZZ_CHECK(cond, what)                                                    \
  do {                                                                            \
    if (!(cond)) {                                                                \
      std::fprintf(stderr, "\ninvariant violated: %s\n  check: %s\n  at %s:%d\n", \
                   std::string(what).c_str(), #cond, __FILE__, __LINE__);         \
      std::fflush(stderr);                                                        \
      __builtin_trap();                                                           \
    }                                                                             \
  } while (false)

#endif  // PLATFORM_FUZZ_FUZZ_CHECK_H_
