# vkpipe - VK Bots Long Poll events as NDJSON, normalized and routed.
#
#   make              build bin/vk-* and bin/vkpipe
#   make demo         the quick start: a bundled sample through the tools
#   make check        every test (bats), after `make deps`
#   make check-asan   the same suite under AddressSanitizer + UBSan
#   make bench        the benchmarks in tests/bench/
#   make fuzz         libFuzzer harnesses (clang), FUZZ_SECONDS each
#   make install      PREFIX=/usr/local DESTDIR=
#   make deb          the Debian package, vkpipe_VERSION_ARCH.deb, here

VERSION	= 0.1.0
PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
MANDIR	?= $(PREFIX)/share/man

CC	?= cc
CFLAGS	?= -O2 -g
WFLAGS	= -std=c11 -Wall -Wextra -Werror
ALL_CPPFLAGS = -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Icommon \
	-DVKPIPE_VERSION='"$(VERSION)"' $(CPPFLAGS)
ALL_CFLAGS = $(WFLAGS) $(CFLAGS) -MMD -MP

# Where objects and programs go: the sanitizer build uses its own.
BUILD	?= build
BIN	?= bin

# The Debian packages vkpipe needs: one list, used by `make deps`, by
# .ci/run and by the Dockerfile. RUN_DEPS are what the programs link at
# run time (the container's runtime stage).
BUILD_DEPS = gcc libc6-dev make pkg-config libjsmn-dev libcurl4-openssl-dev libpcre2-dev libhiredis-dev librabbitmq-dev libmicrohttpd-dev libsystemd-dev
TEST_DEPS  = bats bats-support bats-assert jq python3 mandoc valgrind strace shellcheck time curl man-db clang libclang-rt-14-dev redis-server redis-tools rabbitmq-server amqp-tools python3-pika openssl libsimdjson-dev g++ prometheus prometheus-node-exporter
RUN_DEPS   = libcurl4 ca-certificates libpcre2-8-0 libhiredis0.14 librabbitmq4 libmicrohttpd12 libsystemd0
# What the container image adds: tini as PID 1 (signals passed on, orphans reaped).
IMAGE_DEPS = tini
# What `make deb` needs on top of BUILD_DEPS (the libraries are in
# debian/control's Build-Depends too: tests/82-deb.bats keeps the two equal).
DEB_DEPS   = debhelper dpkg-dev fakeroot lintian
DEPS	   = $(BUILD_DEPS) $(TEST_DEPS) $(DEB_DEPS)

# Per-program libraries.
LIBS_vk-normalize = -lcurl
LIBS_vk-poll	  = -lcurl
LIBS_vk-route	  = -lpcre2-8 -lhiredis -lcurl -lrabbitmq -pthread
LIBS_vk-call	  = -lcurl
LIBS_vk-callback  = -lmicrohttpd -lcurl
# vkpipe: sd_notify(3) (READY, STOPPING, WATCHDOG) from libsystemd, not a copy of its protocol
LIBS_vkpipe	  = -lsystemd -lcurl

TOOLS	:= $(patsubst tools/%/,%,$(wildcard tools/vk-*/)) vkpipe
PROGS	:= $(addprefix $(BIN)/,$(TOOLS))
COMMON_SRC := $(wildcard common/*.c)
COMMON_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(COMMON_SRC))
LIBCOMMON  := $(BUILD)/libcommon.a
UNIT_SRC   := $(wildcard tests/unit/*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRC))

.PHONY: deb
.PHONY: all clean check check-asan test-bins deps demo bench fuzz install uninstall lint \
	print-build-deps print-run-deps print-image-deps fuzz-regress chaos soak

all: $(PROGS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(LIBCOMMON): $(COMMON_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

define tool_rule
$(BIN)/$(1): $(patsubst %.c,$(BUILD)/%.o,$(wildcard tools/$(1)/*.c)) $(LIBCOMMON)
	@mkdir -p $(BIN)
	$$(CC) $$(ALL_CFLAGS) $$(LDFLAGS) -o $$@ $$^ $$(LIBS_$(1))
endef
$(foreach t,$(TOOLS),$(eval $(call tool_rule,$(t))))

# Small C drivers that bats runs against the common/ library.
$(BUILD)/unit/%: $(BUILD)/tests/unit/%.o $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ -lcurl

test-bins: $(PROGS) $(UNIT_BINS)

deps:
	@BUILD_DEPS='$(BUILD_DEPS)' TEST_DEPS='$(TEST_DEPS)' sh tests/deps.sh $(DEPS)

check: deps test-lint
	@$(MAKE) --no-print-directory test-bins
	VKPIPE_BIN=$(CURDIR)/$(BIN) VKPIPE_UNIT=$(CURDIR)/$(BUILD)/unit \
		bats $(BATS_FLAGS) tests/

# Each test file has a number of its own (as git's test-lint-duplicates):
# two files NN-*.bats with one NN fail the check.
.PHONY: test-lint
test-lint:
	@dups=$$(ls tests/*.bats | sed 's,^tests/\([0-9]*\)-.*,\1,' | sort | uniq -d); \
	if [ -n "$$dups" ]; then echo "tests numbered twice:" $$dups >&2; exit 1; fi

SAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
check-asan: deps test-lint
	@$(MAKE) --no-print-directory BUILD=build-asan BIN=bin-asan \
		CFLAGS='$(SAN_FLAGS)' LDFLAGS='$(SAN_FLAGS)' test-bins
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	VKPIPE_BIN=$(CURDIR)/bin-asan VKPIPE_UNIT=$(CURDIR)/build-asan/unit \
		bats $(BATS_FLAGS) tests/

demo: deps all
	@sh tests/demo.sh $(CURDIR)/$(BIN)

bench: all
	@sh tests/bench/run.sh $(CURDIR)/$(BIN)

# Long runs under valgrind's memcheck: leaks and memory errors fail.
.PHONY: valgrind
valgrind: deps all
	@sh tests/valgrind.sh $(CURDIR)/$(BIN)

FUZZ_SECONDS ?= 60
FUZZ_FLAGS = -O1 -g -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer
FUZZ_SRC_fuzz-json	= common/alloc.c common/log.c common/buf.c common/json.c common/jsonv.c common/jsonw.c
FUZZ_SRC_fuzz-normalize = $(FUZZ_SRC_fuzz-json) common/evtype.c tools/vk-normalize/normalize.c
FUZZ_SRC_fuzz-pollreply = $(FUZZ_SRC_fuzz-json) common/hash.c common/mono.c common/ack.c common/compact.c tools/vk-poll/reply.c \
	tools/vk-poll/emit.c tools/vk-poll/batch.c
FUZZ_SRC_fuzz-callreq = $(FUZZ_SRC_fuzz-json) common/hash.c common/vkexec.c common/vkapi.c \
	tools/vk-call/req.c tools/vk-call/upload.c -lcurl
FUZZ_SRC_fuzz-callback = $(FUZZ_SRC_fuzz-json) common/compact.c tools/vk-callback/event.c
FUZZ_SRC_fuzz-rules = $(COMMON_SRC) $(filter-out tools/vk-route/main.c,$(wildcard tools/vk-route/*.c)) $(LIBS_vk-route)
FUZZERS := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz-*.c))

build-fuzz/%: tests/fuzz/%.c $(wildcard tests/fuzz/*.h) $(COMMON_SRC) $(wildcard tools/*/*.c)
	@mkdir -p build-fuzz
	clang $(ALL_CPPFLAGS) -idirafter tools/vk-normalize -idirafter tools/vk-route -idirafter tools/vk-call -std=c11 \
		$(FUZZ_FLAGS) -o $@ $< $(FUZZ_SRC_$*)

# Fuzz each harness for FUZZ_SECONDS, growing build-fuzz/corpus-NAME from
# the seeds in tests/fuzz/corpus-NAME.
fuzz: $(addprefix build-fuzz/,$(FUZZERS))
	@for n in $(FUZZERS); do \
		mkdir -p build-fuzz/corpus-$$n; \
		build-fuzz/$$n -max_total_time=$(FUZZ_SECONDS) \
			build-fuzz/corpus-$$n tests/fuzz/corpus-$$n || exit 1; \
	done

# Run each harness once over its seed corpus: a regression test.
fuzz-regress: $(addprefix build-fuzz/,$(FUZZERS))
	@for n in $(FUZZERS); do \
		build-fuzz/$$n -runs=0 tests/fuzz/corpus-$$n || exit 1; \
	done

# The whole service under kill -9 (tests/chaos.sh); the suite runs a small one.
CHAOS_N ?= 30000
CHAOS_KILLS ?= 30
CHAOS_MAXDUP ?= 1000000
chaos: all
	sh tests/chaos.sh $(CURDIR)/$(BIN) $(CHAOS_N) $(CHAOS_KILLS) $(CHAOS_MAXDUP)

# 1M events through the whole service; the RSS of each stage.
SOAK_N ?= 1000000
soak: all
	sh tests/soak.sh $(CURDIR)/$(BIN) $(SOAK_N)

lint:
	mandoc -Tlint -W warning man/*.[1-8]
	shellcheck -S warning debian/vkpipe.postinst debian/vkpipe.postrm tests/*.sh tests/bench/*.sh .ci/run examples/*-bot
	@# The JSON reader's portable build (what a machine without SSE2 compiles,
	@# e.g. arm64) must build too: the tests on x86_64 run the SIMD one.
	[ "$$(uname -m)" != x86_64 ] || for f in common/json.c common/jsonv.c; do \
		$(CC) $(ALL_CPPFLAGS) -std=c11 -Wall -Wextra -Werror -O2 -mno-sse2 -fsyntax-only $$f || exit 1; \
	done

# The Debian package (debian/): built by dpkg-buildpackage, checked by
# lintian; the .deb and its .buildinfo and .changes are moved here from
# the parent directory, where dpkg-buildpackage leaves them.
deb:
	@sh tests/deps.sh $(BUILD_DEPS) $(DEB_DEPS)
	dpkg-buildpackage -us -uc -b
	mv ../vkpipe_$(VERSION)_*.deb ../vkpipe-dbgsym_$(VERSION)_*.deb \
		../vkpipe_$(VERSION)_*.buildinfo ../vkpipe_$(VERSION)_*.changes .
	lintian --fail-on warning --info vkpipe_$(VERSION)_*.changes

print-build-deps:
	@echo $(BUILD_DEPS)
print-run-deps:
	@echo $(RUN_DEPS)
print-image-deps:
	@echo $(IMAGE_DEPS)

SHAREDIR ?= $(PREFIX)/share/vkpipe
MANPAGES := $(wildcard man/*.[1-8])

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SHAREDIR)
	install -m 755 $(PROGS) $(DESTDIR)$(BINDIR)/
	install -m 644 tools/vkpipe/rules.conf $(DESTDIR)$(SHAREDIR)/rules.conf.example
	for m in $(MANPAGES); do s=$${m##*.}; \
		install -d $(DESTDIR)$(MANDIR)/man$$s && \
		install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s/ || exit 1; done

uninstall:
	for t in $(TOOLS); do rm -f $(DESTDIR)$(BINDIR)/$$t; done
	rm -f $(DESTDIR)$(SHAREDIR)/rules.conf.example
	-rmdir $(DESTDIR)$(SHAREDIR) 2>/dev/null
	for m in $(MANPAGES); do s=$${m##*.}; rm -f $(DESTDIR)$(MANDIR)/man$$s/$${m#man/}; done

clean:
	rm -rf build build-asan build-fuzz bin bin-asan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
