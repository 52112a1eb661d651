# swift-mobilenet: the two commands a user needs, and the steps behind them.
#   make demo   install what is missing, fetch the pretrained MobileNetV2, build in release mode
#               and classify the bundled photos
#   make test   install what is missing (system libraries, weights), then run the whole test suite

SWIFT ?= swift
# Debian packages the build links against (see README, "Dependencies").
APT_PACKAGES := libdnnl-dev libturbojpeg0-dev libspng-dev zlib1g-dev pkg-config dataset-fashion-mnist
# OpenMP threads that spin while idle fight any other process on a 2-core machine.
export OMP_WAIT_POLICY ?= passive

.PHONY: deps weights build test demo info release clean

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
		echo "no dpkg here: install oneDNN yourself (macOS: brew install onednn)"; \
	fi

# torchvision's mobilenet_v2-b0353104.pth into $MOBILENET_HOME or ~/.cache/mobilenet (SHA-256 checked).
weights:
	@Scripts/fetch_weights.sh

build: deps
	$(SWIFT) build

test: deps weights
	$(SWIFT) test

release: deps
	$(SWIFT) build -c release --product mobilenet

demo: deps weights release
	.build/release/mobilenet classify Examples/*.jpg --top 5

info: release
	.build/release/mobilenet info --variant v2

clean:
	rm -rf .build
