# Thin wrapper over scripts/ and CMake. `make demo` and `make test` install
# what is missing (Debian packages, Go-built tools into the tools cache).
BUILD_DIR ?= build
FUZZ_BUILD_DIR ?= build-fuzz
# The arm64 cross-build, its images and packages (make arm64).
ARM64_BUILD_DIR ?= $(BUILD_DIR)/arm64
JOBS ?= 2
FUZZ_SECONDS ?= 60
BUILD_TYPE ?= RelWithDebInfo

.PHONY: all deps tools build image package test unit e2e golden fuzz demo bench format bench-provider demo-provider \
        bench-admission bench-peers bench-leak bench-provider-scale \
        format-check clean controlplane-up controlplane-down crossplane-up crossplane-down delivery \
        helmfile-lock faults faults-long arm64 deps-arm64

all: build

deps:
	@scripts/install-deps.sh

tools: deps
	@for t in crossplane crossplane-core crane kube-apiserver kubectl kube-controller-manager etcd helm helmfile tofu spdx-tools moto aws-crds upstream-crds; do \
	  scripts/tools.sh $$t >/dev/null; done

build: deps tools
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DPLATFORM_TESTS=ON \
	  -DCROSSPLANE_BIN=$$(scripts/tools.sh crossplane) -DCROSSPLANE_CORE_BIN=$$(scripts/tools.sh crossplane-core) \
	  -DKUBECTL_BIN=$$(scripts/tools.sh kubectl) \
	  -DHELM_BIN=$$(scripts/tools.sh helm) -DHELMFILE_BIN=$$(scripts/tools.sh helmfile) \
	  -DTOFU_BIN=$$(scripts/tools.sh tofu) -DMOTO_SERVER_BIN=$$(scripts/tools.sh moto) -DAWS_EXTRA_CRDS_DIR=$$(scripts/tools.sh aws-crds) \
	  -DPLATFORM_SHARED_CRDS=$$(scripts/tools.sh upstream-crds) \
	  >/dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS)

# The function's runtime image (podman, no Docker daemon), into podman's store
# and $(BUILD_DIR)/image/function-platform.tar.
image: build
	@scripts/image.sh $(BUILD_DIR)

# The Function and Configuration packages, into $(BUILD_DIR)/package/.
package: image
	@scripts/package.sh $(BUILD_DIR)

# Both images and all three packages for arm64, cross-built on this machine
# (Debian's cross toolchain and arm64 libraries, OpenTofu cross-compiled),
# into $(ARM64_BUILD_DIR); the images also in podman's store, tagged
# <version>-arm64. qemu-user-static, registered with binfmt_misc, runs them.
# The arm64 libraries before anything is built: on a machine without them,
# installing them upgrades the native libraries to the same versions
# (Multi-Arch), which must not happen after the native images were made.
deps-arm64: deps
	@scripts/install-deps.sh arm64

arm64: deps-arm64 build
	@scripts/binfmt.sh
	@scripts/cross-build.sh arm64 $(ARM64_BUILD_DIR)
	@PLATFORM_ARCH=arm64 scripts/image.sh $(ARM64_BUILD_DIR)
	@scripts/package.sh $(ARM64_BUILD_DIR)
	@PLATFORM_ARCH=arm64 scripts/provider-image.sh $(ARM64_BUILD_DIR)
	@scripts/provider-package.sh $(ARM64_BUILD_DIR)

# Every test: unit, gRPC, end to end with the real crossplane CLI, the images
# and packages of both architectures, then a bounded fuzzing run.
test: deps-arm64 build image package provider-image provider-package arm64
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)
	@$(MAKE) --no-print-directory fuzz

# One suite or test: make unit ARGS='-R Fields'
unit: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -LE e2e $(ARGS)

e2e: package
	ctest --test-dir $(BUILD_DIR) --output-on-failure -L e2e $(ARGS)

# provider-workloads' fault-injection suite (docs/reliability.md); `make test`
# runs it with 30 kill trials on the host and 10 in the image, faults-long
# with 100 and 30. FAULT_REPORT=<file> collects every trial's figures.
faults: build provider-image
	ctest --test-dir $(BUILD_DIR) --output-on-failure -L faults $(ARGS)

faults-long: build provider-image
	FAULT_TRIALS=100 FAULT_IMAGE_TRIALS=30 ctest --test-dir $(BUILD_DIR) --output-on-failure -L faults $(ARGS)

# The GitOps delivery's tests (deploy/): kustomize, Helm, helmfile, Argo CD.
delivery: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -L delivery $(ARGS)

# Rewrites deploy/helm/helmfile.lock after a chart's version changes.
helmfile-lock: tools
	@deploy/helm/update-lock.sh

# Rewrites tests/e2e/golden/ from the current renderer; review the diff.
golden: build
	UPDATE_GOLDEN=1 ctest --test-dir $(BUILD_DIR) -R GoldenRenderTest --output-on-failure

fuzz: deps
	@scripts/fuzz.sh $(FUZZ_BUILD_DIR) $(FUZZ_SECONDS)

# The demo builds only what its first part needs, renders, and then builds
# the provider's part: on a fresh machine the examples render after the two
# Go tools and the one C++ binary (docs/first-run.md has the figures),
# not after every tool and the whole tree.
demo: deps
	@echo "make demo 1/4: the crossplane CLI and Crossplane core, Go, into the tools cache (first run only: about 8 and 3 minutes on 2 cores)"
	@scripts/tools.sh crossplane >/dev/null && scripts/tools.sh crossplane-core >/dev/null
	@echo "make demo 2/4: function-platform, C++ (first build about 6 minutes on 2 cores, seconds with ccache)"
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DPLATFORM_TESTS=OFF >/dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS) --target function-platform
	@echo "make demo 3/4: every bundled example through crossplane composition render"
	@scripts/demo.sh $(BUILD_DIR)
	@echo "make demo 4/4: provider-workloads on its examples: its tools (OpenTofu, kube-apiserver, etcd; first run about 15 minutes) and the provider"
	@$(MAKE) --no-print-directory demo-provider

# provider-workloads on its examples, on a throwaway control plane.
demo-provider: build
	@scripts/provider-demo.sh $(BUILD_DIR)

bench: build
	@$(BUILD_DIR)/bench/runfunction_bench $(ARGS)

# platform-admission's latency at a constant rate (vegeta), on a private
# control plane: make bench-admission ARGS='build 200 30'.
bench-admission: build
	@scripts/bench-admission.sh $(if $(ARGS),$(ARGS),$(BUILD_DIR))

# function-platform side by side with function-patch-and-transform composing
# the same resources: make bench-peers ARGS='build 8 20'.
bench-peers: build
	@scripts/bench-peers.sh $(if $(ARGS),$(ARGS),$(BUILD_DIR))

# Whether function-platform's RSS keeps growing under 10 minutes of load:
# make bench-leak ARGS='build 10 8' (build dir, minutes, calls in flight).
bench-leak: build
	@scripts/bench-leak.sh $(if $(ARGS),$(ARGS),$(BUILD_DIR))

bench-provider: build
	@$(BUILD_DIR)/bench/provider_bench $(ARGS)

# provider-workloads with many Workspaces and AnsibleRuns on a private control
# plane: RSS, API requests at rest, resync time, overhead per run
# (docs/provider-scale.md). make bench-provider-scale WORKSPACES=100 ANSIBLE_RUNS=100
bench-provider-scale: build
	@scripts/bench-provider-scale.sh $(if $(ARGS),$(ARGS),$(BUILD_DIR))

# A control plane to poke at by hand, with every CRD the tests load.
CONTROLPLANE_DIR ?= $(BUILD_DIR)/controlplane-manual
controlplane-up: tools
	@kubeconfig=$$(tests/controlplane/controlplane.sh up $(abspath $(CONTROLPLANE_DIR))) && \
	  echo "export KUBECONFIG=$$kubeconfig" && \
	  echo "kubectl: $$(scripts/tools.sh kubectl)"

controlplane-down:
	@tests/controlplane/controlplane.sh down $(abspath $(CONTROLPLANE_DIR))

# Crossplane core v2.3.4 on a throwaway control plane with the platform
# installed through its package manager, as the Crossplane tests run it
# (tests/crossplane/crossplane.sh): poke at it by hand.
CROSSPLANE_DIR ?= $(BUILD_DIR)/crossplane-manual
crossplane-up: package
	@kubeconfig=$$(tests/crossplane/crossplane.sh up $(abspath $(CROSSPLANE_DIR)) $(abspath $(BUILD_DIR))) && \
	  echo "export KUBECONFIG=$$kubeconfig" && \
	  echo "kubectl: $$(scripts/tools.sh kubectl)" && \
	  echo "the Crossplane tests against it: CROSSPLANE_STATE=$(abspath $(CROSSPLANE_DIR)) $(BUILD_DIR)/tests/crossplane_tests"

crossplane-down:
	@tests/crossplane/crossplane.sh down $(abspath $(CROSSPLANE_DIR))

format:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

format-check:
	@git ls-files '*.cc' '*.h' | xargs clang-format --dry-run -Werror

clean:
	rm -rf $(BUILD_DIR) $(FUZZ_BUILD_DIR)

# provider-workloads' runtime image (podman; its root filesystem unpacked
# from Debian packages, cached outside the clone in $$PLATFORM_DEB_CACHE) into
# podman's store and $(BUILD_DIR)/provider-image/provider-workloads.tar, and
# its package, $(BUILD_DIR)/package/provider-workloads.xpkg.
.PHONY: provider-image provider-package
provider-image: build
	@scripts/provider-image.sh $(BUILD_DIR)

provider-package: provider-image
	@scripts/provider-package.sh $(BUILD_DIR)
