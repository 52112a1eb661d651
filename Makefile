# swift-mobilenet: the two commands a user needs, and the steps behind them.
#   make demo   install what is missing, fetch the pretrained MobileNetV2, build in release mode
#               and classify the bundled photos
#   make test   install what is missing (system libraries, weights), then run the whole test suite
#   make test-avx2  the tests most sensitive to oneDNN's arithmetic and kernel choice again, with
#               oneDNN capped to AVX2 (what an AVX2-only CPU computes); CI runs it after `make test`
#   make sanitize   the IO, data-loading and inference-session tests under AddressSanitizer and
#               ThreadSanitizer (separate scratch folders .build-asan, .build-tsan)
#   make fuzz       the libFuzzer harnesses of every reader, 60 s each (Fuzz/README.md)

SWIFT ?= swift
# Debian packages the build links against (see README, "Dependencies").
APT_PACKAGES := libdnnl-dev libturbojpeg0-dev libspng-dev zlib1g-dev pkg-config dataset-fashion-mnist
# OpenMP threads that spin while idle fight any other process on a 2-core machine.
export OMP_WAIT_POLICY ?= passive

# The test-only virtualenv of the export checks (onnx, onnxruntime), outside the repository.
EXPORT_VENV ?= $(HOME)/.cache/mobilenet-export-venv
export MOBILENET_EXPORT_PYTHON ?= $(EXPORT_VENV)/bin/python

.PHONY: deps weights export-venv build test test-avx2 sanitize sanitize-address sanitize-thread demo info release clean

# Test classes (Target.Class) whose results depend on oneDNN's kernels: training runs, parity with
# PyTorch and with the reference engine, finite-difference gradients, kernel names, the fused
# inference path against the modules, and the CLI's top-5 classes. The detector's training tests
# (a tiny run's AP50, an exact resume) stay out: they take minutes in a debug build, and a second
# pass would push CI past its 30 minutes; its parity and loss tests are in.
AVX2_TESTS := \
	MobileNetTensorTests.EngineParityTests MobileNetTensorTests.BackwardParityTests \
	MobileNetTensorTests.GradientCheckTests MobileNetTensorTests.InferenceGraphTests \
	MobileNetModelsTests.ParityTests MobileNetModelsTests.ModelGradientTests MobileNetModelsTests.InferenceModelTests \
	MobileNetModelsTests.InferenceProfileTests MobileNetModelsTests.QuantizedModelTests MobileNetModelsTests.ONNXExportTests MobileNetModelsTests.TFLiteExportTests MobileNetCLITests.BenchCommandTests MobileNetCLITests.MachinePeakTests \
	MobileNetTests.PretrainedParityTests MobileNetTests.QuantizedPretrainedTests MobileNetTests.ONNXPretrainedExportTests \
	MobileNetTrainingTests.TrainingRunTests \
	MobileNetDetectionTests.SSDLiteParityTests MobileNetDetectionTests.SSDLossTests MobileNetSegmentationTests.LRASPPTests \
	MobileNetCLITests.TrainCommandTests MobileNetCLITests.ClassifyCommandTests MobileNetCLITests.QuantizeCommandTests
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
		python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing="$$missing python3-venv"; \
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

# Scripts/check_export.py's runtimes, for the export tests.
export-venv:
	@Scripts/export_venv.sh "$(EXPORT_VENV)"

build: deps
	$(SWIFT) build

test: deps weights export-venv
	$(SWIFT) test

# ONEDNN_MAX_CPU_ISA=AVX2 makes oneDNN dispatch as on an AVX2-only CPU (no AVX-512 kernels), so an
# AVX-512 machine checks what AVX2 machines compute; on an AVX2 machine it changes nothing.
test-avx2: deps weights export-venv
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
	rm -rf .build .build-asan .build-tsan .build-fuzz

# libFuzzer harnesses (Fuzz/README.md): a separate build with the fuzzer and AddressSanitizer
# runtimes, never part of `make test`. Each harness runs FUZZ_SECONDS (or FUZZ_RUNS executions)
# over a working corpus in .build-fuzz/corpus/<harness>, seeded from Fuzz/Corpus/<harness>;
# crashers land in .build-fuzz/artifacts/<harness>/ and the run stops at the first one.
# The two zip harnesses leak 40 bytes in ZIPFoundation on every input (Fuzz/lsan.supp), which
# would make libFuzzer run LeakSanitizer after every execution (80 a second instead of 800):
# they fuzz with -detect_leaks=0, then replay their whole corpus once with leak detection.
# SWIFT_BACKTRACE=enable=no leaves a Swift trap to libFuzzer (the backtracer's memory server
# trips AddressSanitizer and hides the report).
#   make fuzz                                    every harness, 60 s each
#   make fuzz FUZZ_TARGETS="pickle png" FUZZ_RUNS=1000000
FUZZ_TARGETS ?= checkpoint pickle pickle-zip safetensors png jpeg idx training-state
FUZZ_SECONDS ?= 60
FUZZ_RUNS ?=
FUZZ_FLAGS ?=
FUZZ_SCRATCH := .build-fuzz
FUZZ_SWIFTFLAGS := -c release --scratch-path $(FUZZ_SCRATCH) -Xswiftc -sanitize=fuzzer,address

.PHONY: fuzz fuzz-build

fuzz-build:
	@for target in $(FUZZ_TARGETS); do \
		product=$$(Fuzz/product-name $$target) || exit 1; \
		MOBILENET_FUZZ=1 $(SWIFT) build $(FUZZ_SWIFTFLAGS) --product $$product || exit 1; \
	done

fuzz: fuzz-build
	@mkdir -p $(FUZZ_SCRATCH)/logs; \
	for target in $(FUZZ_TARGETS); do \
		product=$$(Fuzz/product-name $$target); \
		mkdir -p $(FUZZ_SCRATCH)/corpus/$$target $(FUZZ_SCRATCH)/artifacts/$$target; \
		dict=""; leaks=""; case $$target in checkpoint|pickle-zip) dict=-dict=Fuzz/pickle.dict; leaks=-detect_leaks=0;; pickle) dict=-dict=Fuzz/pickle.dict;; esac; \
		limit=-max_total_time=$(FUZZ_SECONDS); [ -n "$(FUZZ_RUNS)" ] && limit=-runs=$(FUZZ_RUNS); \
		log=$(FUZZ_SCRATCH)/logs/$$target.log; \
		echo "fuzz $$target: $(FUZZ_SCRATCH)/release/$$product $$limit -rss_limit_mb=2048 -timeout=10 $$dict $$leaks $(FUZZ_FLAGS) (log: $$log)"; \
		SWIFT_BACKTRACE=enable=no LSAN_OPTIONS=suppressions=$(CURDIR)/Fuzz/lsan.supp $(FUZZ_SCRATCH)/release/$$product $$limit -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
			-artifact_prefix=$(FUZZ_SCRATCH)/artifacts/$$target/ $$dict $$leaks $(FUZZ_FLAGS) \
			$(FUZZ_SCRATCH)/corpus/$$target Fuzz/Corpus/$$target > $$log 2>&1; \
		status=$$?; \
		runs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $$log | tail -n 1); \
		speed=$$(sed -n 's/^stat::average_exec_per_sec: *//p' $$log | tail -n 1); \
		echo "  $$target: $${runs:-?} executions, $${speed:-?}/s, exit $$status"; \
		if [ $$status -ne 0 ]; then tail -n 40 $$log; exit $$status; fi; \
		if [ -n "$$leaks" ]; then \
			SWIFT_BACKTRACE=enable=no LSAN_OPTIONS=suppressions=$(CURDIR)/Fuzz/lsan.supp $(FUZZ_SCRATCH)/release/$$product -runs=0 -rss_limit_mb=2048 \
				-timeout=10 -artifact_prefix=$(FUZZ_SCRATCH)/artifacts/$$target/ \
				$(FUZZ_SCRATCH)/corpus/$$target Fuzz/Corpus/$$target > $$log.leaks 2>&1; \
			status=$$?; \
			echo "  $$target: corpus of $$(ls $(FUZZ_SCRATCH)/corpus/$$target | wc -l) inputs replayed with leak detection, exit $$status"; \
			if [ $$status -ne 0 ]; then tail -n 40 $$log.leaks; exit $$status; fi; \
		fi; \
	done
