# kiln — the two commands:
#   make demo   install what is missing, build, start the local stack and every service, and run a
#               real build triggered by a signed webhook, ending in a pushed image and its digest
#   make test   install what is missing, build, and run every test (unit, integration, e2e)
# Everything else here is a step of those two.

BUILD_DIR ?= build
ASAN_DIR  ?= build-asan
JOBS      ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps build test test-unit test-integration test-e2e test-asan demo stop stack-start \
        stack-stop services-start services-stop bench format clean help

all: build

help:
	@sed -n '1,6p' Makefile | sed 's/^# \{0,1\}//'
	@echo "Other targets: build, test-unit, test-integration, test-e2e, test-asan, stop, bench, format, clean"

deps:
	@bash infra/install.sh

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DKILN_WERROR=ON $(CMAKE_FLAGS)

build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j$(JOBS)

test: build
	bash tests/run-all.sh $(BUILD_DIR) $(ASAN_DIR)

test-unit: build
	ctest --test-dir $(BUILD_DIR) -L unit --output-on-failure -j$(JOBS)

test-integration: build
	ctest --test-dir $(BUILD_DIR) -L integration --output-on-failure

test-e2e: build
	ctest --test-dir $(BUILD_DIR) -L e2e --output-on-failure

# Unit tests again under AddressSanitizer and UndefinedBehaviorSanitizer.
test-asan: deps
	cmake -S . -B $(ASAN_DIR) -G Ninja -DKILN_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
	bash tests/build-unit-targets.sh $(ASAN_DIR) $(JOBS)
	ctest --test-dir $(ASAN_DIR) -L unit --output-on-failure -j$(JOBS)

demo: build
	bash infra/demo.sh

stack-start: deps
	bash infra/stack.sh start

stop:
	-bash infra/services.sh stop
	bash infra/stack.sh stop

bench: build
	bash bench/run.sh $(BUILD_DIR)

format:
	find libs services cli tests bench -name '*.cpp' -o -name '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR)
