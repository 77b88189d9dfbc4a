# ft_services: build and test entry points. `make test` is the one command that runs every test.
SWIFT ?= swift
# The build directory: setup.sh's container build uses its own (.build-linux-ARCH), so a
# host toolchain's .build is never mixed with another toolchain's objects.
BUILD ?= .build
# The static binary every image ships: libc, the Swift runtime and libcrypto linked in.
RELEASE_FLAGS = -c release -Xswiftc -static-executable --scratch-path $(BUILD)
FTINIT = $(BUILD)/release/ftinit
FTINIT_STRIPPED = $(BUILD)/ftinit

.PHONY: all ftinit deps test unit integration container-test fuzz-smoke bench benchmarks bench-images bench-stop clean

all: ftinit

## ftinit: the static, stripped binary at $(BUILD)/ftinit (checked: static, no Foundation, <= 12 MB)
ftinit:
	$(SWIFT) build $(RELEASE_FLAGS)
	strip -o $(FTINIT_STRIPPED) $(FTINIT)
	scripts/check-binary $(FTINIT) $(FTINIT_STRIPPED)

## deps: install what the build and the tests need (Debian/Ubuntu, as root)
deps:
	scripts/install-deps

## test: every test — unit tests, then the static binary run as a real PID 1, then fuzz-smoke
test: deps ftinit
	scripts/dockerd-private start
	FTINIT_BIN=$(CURDIR)/$(FTINIT) $(SWIFT) test --disable-xctest; status=$$?; scripts/dockerd-private stop; exit $$status
	$(MAKE) fuzz-smoke

unit:
	$(SWIFT) test --disable-xctest --filter FTInitTests

integration: ftinit
	FTINIT_BIN=$(CURDIR)/$(FTINIT) $(SWIFT) test --disable-xctest --filter IntegrationTests

## container-test: only the tests of ftinit as PID 1 of real containers, under a private
## dockerd (scripts/dockerd-private: its own data root and socket in /tmp/ftinit-docker)
container-test: ftinit
	scripts/dockerd-private start
	FTINIT_BIN=$(CURDIR)/$(FTINIT) $(SWIFT) test --disable-xctest --filter 'Integration/Container'; status=$$?; scripts/dockerd-private stop; exit $$status

## fuzz-smoke: build the libFuzzer+ASan targets of fuzz/ (in /tmp, not .build), replay each
## committed corpus and fuzz each target FUZZ_SECONDS (20) s; long runs: fuzz/run TARGET SECONDS
fuzz-smoke:
	fuzz/smoke

## bench: benchmark scripts that print figures (not tests: nothing here can fail a build)
bench: ftinit
	FTINIT_BIN=$(CURDIR)/$(FTINIT) python3 bench/cert.py
	FTINIT_BIN=$(CURDIR)/$(FTINIT) python3 bench/probe.py
	FTINIT_BIN=$(CURDIR)/$(FTINIT) python3 bench/metrics.py

## benchmarks: ftinit against tini, dumb-init, supervisord, s6 and runit (as root); writes docs/BENCHMARKS.md
benchmarks: ftinit
	FTINIT_BIN=$(CURDIR)/$(FTINIT) python3 bench/compare.py $(BENCH_FLAGS)

## bench-stop: 7 services stopped by this build and by BEFORE=PATH (an ftinit built from an earlier
## commit), as root; writes its section of docs/BENCHMARKS.md
bench-stop: ftinit
	FTINIT_BIN=$(CURDIR)/$(FTINIT) python3 bench/stop.py --before $(BEFORE)

## bench-images: each image's warm start to healthy, on the running stack of ./setup.sh local;
## writes its section of docs/BENCHMARKS.md
bench-images:
	python3 bench/images.py

clean:
	rm -rf .build
