# Cross-builds for arm64 (aarch64) on a Debian amd64 machine, with Debian's
# cross toolchain (crossbuild-essential-arm64) and the arm64 builds of the
# libraries installed beside the native ones (multiarch, <pkg>:arm64).
# scripts/install-deps.sh arm64 installs both; scripts/cross-build.sh uses this
# file.
#
# The libraries and headers come from /usr/lib/aarch64-linux-gnu and /usr/include;
# protoc and grpc_cpp_plugin stay the build machine's own (they only generate
# sources). CMAKE_CROSSCOMPILING_EMULATOR runs arm64 programs under
# qemu-user-static when a build step or a test needs to.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_STRIP aarch64-linux-gnu-strip)
set(PKG_CONFIG_EXECUTABLE aarch64-linux-gnu-pkg-config CACHE FILEPATH "pkg-config for arm64")
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64-static -L /)

# Programs from the build machine; libraries, headers and packages' CMake
# files for the target only.
set(CMAKE_FIND_ROOT_PATH /)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
