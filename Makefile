# swift-mobilenet: the two commands a user needs, and the steps behind them.
#   make demo   install what is missing, fetch the pretrained MobileNetV2, build in release mode
#               and classify the bundled photos
#   make test   install what is missing (system libraries, weights), then run the whole test suite
#   make test-avx2  the tests most sensitive to oneDNN's arithmetic and kernel choice again, with
#               oneDNN capped to AVX2 (what an AVX2-only CPU computes); CI runs it after `make test`
#   make sanitize   the IO, data-loading and inference-session tests under AddressSanitizer and
#               ThreadSanitizer (separate scratch folders .build-asan, .build-tsan)

SWIFT ?= swift
# Debian packages the build links against (see README, "Dependencies").
APT_PACKAGES := libdnnl-dev libturbojpeg0-dev libspng-dev zlib1g-dev pkg-config dataset-fashion-mnist
# OpenMP threads that spin while idle fight any other process on a 2-core machine.
export OMP_WAIT_POLICY ?= passive

.PHONY: deps weights build test test-avx2 sanitize sanitize-address sanitize-thread demo info release clean

# Test classes (Target.Class) whose results depend on oneDNN's kernels: training runs, parity with
# PyTorch and with the reference engine, finite-difference gradients, kernel names, the fused
# inference path against the modules, and the CLI's top-5 classes.
AVX2_TESTS := \
	MobileNetTensorTests.EngineParityTests MobileNetTensorTests.BackwardParityTests \
	MobileNetTensorTests.GradientCheckTests \
	MobileNetModelsTests.ParityTests MobileNetModelsTests.ModelGradientTests MobileNetModelsTests.InferenceModelTests \
	MobileNetTests.PretrainedParityTests \
	MobileNetTrainingTests.TrainingRunTests \
	MobileNetCLITests.TrainCommandTests MobileNetCLITests.ClassifyCommandTests
# The readers, the data loading (decoding threads), the tensor engine and the inference sessions
# (worker threads), with the pretrained classifier on top of both.
SANITIZE_TESTS := MobileNetIOTests MobileNetDataTests MobileNetTensorTests MobileNetModelsTests.InferenceModelTests \
	MobileNetTests.PretrainedParityTests
empty :=
space := $(empty) $(empty)
filter_regex = ^($(subst .,\.,$(subst $(space),|,$(strip $(1)))))[./]

deps:
	@missing=""; \
	if command -v dpkg >/dev/null 2>&1; then \
		for package in $(APT_PACKAGES); do \
			dpkg -s $$package >/dev/null 2>&1 || missing="$$missing $$package"; \
		done; \
		python3 -m pip --version >/dev/null 2>&1 || missing="$$missing python3-pip"; \
		if [ -n "$$missing" ]; then \
			sudo=""; [ "$$(id -u)" -ne 0 ] && sudo=sudo; \
			echo "installing:$$missing"; \
			$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing >/dev/null; \
		fi; \
	else \
		echo "no dpkg here: install oneDNN 2.x (not 3.x), libturbojpeg, libspng and zlib yourself; only Debian 12 is tested (README, Platforms)"; \
	fi

# torchvision's mobilenet_v2-b0353104.pth into $MOBILENET_HOME or ~/.cache/mobilenet (SHA-256 checked).
weights:
	@Scripts/fetch_weights.sh

build: deps
	$(SWIFT) build

test: deps weights
	$(SWIFT) test

# ONEDNN_MAX_CPU_ISA=AVX2 makes oneDNN dispatch as on an AVX2-only CPU (no AVX-512 kernels), so an
# AVX-512 machine checks what AVX2 machines compute; on an AVX2 machine it changes nothing.
test-avx2: deps weights
	ONEDNN_MAX_CPU_ISA=AVX2 $(SWIFT) test --filter '$(call filter_regex,$(AVX2_TESTS))'

# Each sanitizer in its own scratch folder; .ci/sanitize says what counts as a finding (the leaks
# of XCTest and of dependencies do not, .ci/lsan.supp lists the latter).
sanitize: sanitize-address sanitize-thread

sanitize-address: deps weights
	SWIFT=$(SWIFT) .ci/sanitize address '$(call filter_regex,$(SANITIZE_TESTS))'

sanitize-thread: deps weights
	SWIFT=$(SWIFT) .ci/sanitize thread '$(call filter_regex,$(SANITIZE_TESTS))'

release: deps
	$(SWIFT) build -c release --product mobilenet

demo: deps weights release
	.build/release/mobilenet classify Examples/*.jpg --top 5

info: release
	.build/release/mobilenet info --variant v2

clean:
	rm -rf .build .build-asan .build-tsan
