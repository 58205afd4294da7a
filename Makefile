# pcivirt front door.  `make run` and `make check` are the whole set-up on a fresh
# Debian 12 machine: the first step installs missing build dependencies (as root).
BUILD     ?= build
PREFIX    ?= /usr/local
JOBS      ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=
ifeq ($(CI),true)
CMAKE_ARGS += -DPCIVIRT_WERROR=ON
endif

CONFIGURE = cmake -S . -G Ninja $(CMAKE_ARGS)

.PHONY: all deps build run check asan tsan bench fuzz install clean format

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja: | deps
	$(CONFIGURE) -B $(BUILD)

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

run: build
	./$(BUILD)/pcivirt run

check: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

asan: deps
	$(CONFIGURE) -B build-asan -DCMAKE_BUILD_TYPE=Debug -DPCIVIRT_SANITIZE=address
	cmake --build build-asan -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    ctest --test-dir build-asan --output-on-failure -j $(JOBS)

tsan: deps
	$(CONFIGURE) -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DPCIVIRT_SANITIZE=thread
	cmake --build build-tsan -j $(JOBS)
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	    ctest --test-dir build-tsan --output-on-failure -j $(JOBS)

bench: build
	scripts/run-bench.sh $(BUILD)

fuzz: deps
	CC=clang $(CONFIGURE) -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPCIVIRT_FUZZ=ON \
	    -DPCIVIRT_SANITIZE=address -DBUILD_TESTING=OFF
	cmake --build build-fuzz -j $(JOBS)
	scripts/run-fuzz.sh build-fuzz $${FUZZ_SECONDS:-30}

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) build-asan build-tsan build-fuzz
