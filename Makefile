# swift-mobilenet: the two commands a user needs, and the steps behind them.
#   make test   install missing system libraries, then run the whole test suite
#   make info   print MobileNetV2's per-layer table (until `make demo` lands with the weights)

SWIFT ?= swift
# Debian packages the build links against (see README, "Dependencies").
APT_PACKAGES := libdnnl-dev
# OpenMP threads that spin while idle fight any other process on a 2-core machine.
export OMP_WAIT_POLICY ?= passive

.PHONY: deps build test info release clean

deps:
	@missing=""; \
	if command -v dpkg >/dev/null 2>&1; then \
		for package in $(APT_PACKAGES); do \
			dpkg -s $$package >/dev/null 2>&1 || missing="$$missing $$package"; \
		done; \
		if [ -n "$$missing" ]; then \
			sudo=""; [ "$$(id -u)" -ne 0 ] && sudo=sudo; \
			echo "installing:$$missing"; \
			$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing >/dev/null; \
		fi; \
	else \
		echo "no dpkg here: install oneDNN yourself (macOS: brew install onednn)"; \
	fi

build: deps
	$(SWIFT) build

test: deps
	$(SWIFT) test

release: deps
	$(SWIFT) build -c release --product mobilenet

info: release
	.build/release/mobilenet info --variant v2

clean:
	rm -rf .build
