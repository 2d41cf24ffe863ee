# kiln — the two commands:
#   make demo   install what is missing, build, start the local stack and every service, and run a
#               real build triggered by a signed webhook, ending in a pushed image and its digest
#   make test   install what is missing, build with ASan/UBSan, and run every test: format,
#               clang-tidy, unit, integration (real servers), end-to-end, chaos (real faults,
#               fuzzing), dashboard in a real browser
# Everything else here is a step of those two.

BUILD_DIR ?= build
# Tests run on a build with AddressSanitizer and UndefinedBehaviorSanitizer, warnings as errors.
TEST_DIR  ?= build-test
JOBS      ?= $(shell nproc)
CMAKE_FLAGS ?=
# The node that infra/install.sh installs where the machine's is too old (infra/node.sh) comes
# first on PATH for every recipe; when the directory does not exist this changes nothing.
KILN_NODE_PREFIX ?= /opt/kiln/node
export KILN_NODE_PREFIX
export PATH := $(KILN_NODE_PREFIX)/bin:$(PATH)

.PHONY: all deps build web test-build test test-unit test-integration test-e2e test-security chaos demo stop stack-start \
        bench docs format clean help

all: build

help:
	@sed -n '1,7p' Makefile | sed 's/^# \{0,1\}//'
	@echo "Other targets: build, test-unit, test-integration, test-e2e, test-security, chaos, stop, bench, docs, format, clean"

deps:
	@bash infra/install.sh

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DKILN_WERROR=ON $(CMAKE_FLAGS)

build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j$(JOBS)

test-build: deps
	cmake -S . -B $(TEST_DIR) -G Ninja -DKILN_SANITIZE=ON -DKILN_WERROR=ON -DKILN_FAILPOINTS=ON \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)
	cmake --build $(TEST_DIR) -j$(JOBS)

test: test-build
	bash tests/run-all.sh $(TEST_DIR)

test-unit: test-build
	ctest --test-dir $(TEST_DIR) -L unit --output-on-failure -j$(JOBS)

test-integration: test-build
	ctest --test-dir $(TEST_DIR) -L integration --output-on-failure -j$(JOBS)

test-e2e: test-build
	ctest --test-dir $(TEST_DIR) -L e2e --output-on-failure

# Tenants against each other, builds against the host, the closed control plane (tests that
# CMake lists with SECURITY, and tests/security).
test-security: test-build
	ctest --test-dir $(TEST_DIR) -L security --output-on-failure -j$(JOBS)

# Real faults (kill -9 at failpoints, poisoned streams, silent steps): one table, N passed, M failed.
chaos: test-build
	bash tests/chaos/run.sh $(TEST_DIR)

# The dashboard, served by analytics at / (npm packages only).
web/dist/index.html: web/package-lock.json $(wildcard web/src/*.ts* web/src/*/*.ts* web/src/*.css) web/index.html | deps
	cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build

web: web/dist/index.html

demo: build web
	bash infra/demo.sh

stack-start: build
	bash infra/stack.sh start

stop:
	-bash infra/services.sh stop
	bash infra/stack.sh stop

bench: build
	bash bench/run.sh $(BUILD_DIR)

# docs/configuration.md from the services' option declarations (tests fail when it is stale).
docs: $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) --target kiln-config-docs
	$(BUILD_DIR)/tools/config-docs/kiln-config-docs > docs/configuration.md.tmp
	mv docs/configuration.md.tmp docs/configuration.md

format:
	git ls-files '*.cpp' '*.h' | grep -v '^web/' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR) $(TEST_DIR)
