# One non-recursive GNU Makefile for the whole tree; each folder adds its
# part through a module.mk fragment, so `make -j` sees the whole graph.
#
#   make            libraries and bin/
#   make run        build, then start the three contexts and their followers
#                   (CLOUD_API_NODES=N: N Cloud API nodes)
#   make ctl ARGS="restart cloud-api"   mk/ctl.sh: status, stop, start, restart one process
#   make demo       with make run going: a customer and a user, and what to open
#   make install PREFIX=DIR   the programs, web/ and their --help under DIR
#   make fresh-check  make and make run on a fresh Debian 12 (debootstrap; slow)
#   make test       build, then Check unit tests and integration tests
#   make bench      build, then the benchmarks with their baselines
#   make soak       build, then the chaos soak: 1,000 SIGKILLs under load (SOAK_KILLS=N)
#   make lint       banned functions and module boundaries (CI runs it)
#   make fuzz       the libFuzzer harnesses, FUZZ_SECONDS each (default 30)
#
# Variables: SANITIZE=address,undefined  WERROR=1  CC=clang

BUILD := build
BIN := bin

CC ?= cc
CFLAGS ?= -O2 -g
WARNINGS := -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wwrite-strings -Wvla
ifdef WERROR
WARNINGS += -Werror
endif
# MODULE_INCLUDES is set per folder by the module.mk fragments, so that each
# module compiles with only the include paths it may use: a library never
# sees a context's headers, a context never sees another context's.
ALL_CFLAGS = $(WARNINGS) $(CFLAGS) -D_GNU_SOURCE -MMD -MP $(DEPS_CFLAGS) $(MODULE_INCLUDES)
ALL_LDFLAGS = $(LDFLAGS)
ifdef SANITIZE
ALL_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
ALL_LDFLAGS += -fsanitize=$(SANITIZE)
endif

.DEFAULT_GOAL := all
.PHONY: all run ctl demo install fresh-check test bench soak lint fuzz clean format FORCE

# Every object and program depends on this file, which changes only when the
# flags do: switching SANITIZE or WERROR on or off rebuilds everything.
FLAGS_STAMP := $(BUILD)/flags
$(FLAGS_STAMP): FORCE
	@mkdir -p $(@D)
	@echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS)' | cmp -s - $@ || \
		echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS)' > $@

# The configure step checks (and as root installs) the Debian packages and
# records the pkg-config flags; make re-reads this file once it exists.
CONFIG := $(BUILD)/config.mk
ifeq ($(filter clean format,$(MAKECMDGOALS)),)
include $(CONFIG)
endif
$(CONFIG): mk/configure.sh
	@mkdir -p $(@D)
	sh mk/configure.sh build > $@.tmp && mv $@.tmp $@

LIBRARIES :=
PROGRAMS :=
UNIT_TESTS :=
TEST_TOOLS :=
BENCHES :=

# unit_test NAME, LIBS: a Check program build/tests/NAME from
# tests/unit/NAME.c and the shared test helpers, linked with LIBS.
define unit_test
UNIT_TESTS += $(BUILD)/tests/$(1)
$(BUILD)/tests/$(1): $(BUILD)/tests/unit/$(1).o $(TESTKIT_OBJ) $(2)
	@mkdir -p $$(@D)
	$$(CC) $$(ALL_LDFLAGS) -o $$@ $$^ $$(CHECK_LIBS) $$(DEPS_LIBS)
endef

# program NAME, SOURCES-DIR-OBJECTS, LIBS: a helper program for tests or benchmarks.
define tool
$(1): $(2) $(3)
	@mkdir -p $$(@D)
	$$(CC) $$(ALL_LDFLAGS) -o $$@ $$^ $$(DEPS_LIBS)
endef

include tests/module.mk
include dynbuf/module.mk
include feed-server/module.mk
include feed-reader/module.mk
include contexts/support/module.mk
# A context takes part in the build once its main.c exists.
CONTEXTS := $(patsubst contexts/%/main.c,%,$(wildcard contexts/*/main.c))
include $(CONTEXTS:%=contexts/%/module.mk)
include tests/fuzz/module.mk

all: $(LIBRARIES) $(PROGRAMS)

$(BUILD)/%.o: %.c $(CONFIG) $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/lib/%.a:
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

run: all
	@sh mk/configure.sh run > /dev/null
	@sh mk/run.sh

# make install PREFIX=DIR (default /usr/local; DESTDIR for packaging):
# PREFIX/bin/ the programs, PREFIX/share/feed-contexts/web/ the pages'
# files (the programs find them there, or take --web-dir), the systemd
# units with PREFIX filled in, and each subcommand's --help as
# PREFIX/share/doc/feed-contexts/PROGRAM-COMMAND.txt (docs/operations.md).
PREFIX ?= /usr/local
INSTALL_ROOT = $(DESTDIR)$(PREFIX)
PROGRAM_COMMANDS := subscriptions:serve subscriptions:follow subscriptions:rebuild \
	subscriptions:close-month subscriptions:backup cloud-api:serve cloud-api:follow \
	cloud-api:backup product1:serve product1:follow product1:backup
install: all
	@case '$(PREFIX)' in /*) ;; *) echo "install: PREFIX must be an absolute path" >&2; exit 2 ;; esac
	mkdir -p $(INSTALL_ROOT)/bin $(INSTALL_ROOT)/share/feed-contexts \
		$(INSTALL_ROOT)/share/doc/feed-contexts $(INSTALL_ROOT)/share/feed-contexts/systemd
	cp $(PROGRAMS) $(INSTALL_ROOT)/bin/
	rm -rf $(INSTALL_ROOT)/share/feed-contexts/web
	cp -R web $(INSTALL_ROOT)/share/feed-contexts/web
	for pc in $(PROGRAM_COMMANDS); do \
		p=$${pc%%:*}; c=$${pc#*:}; \
		$(BIN)/$$p $$c --help > $(INSTALL_ROOT)/share/doc/feed-contexts/$$p-$$c.txt || exit 1; \
	done
	for p in subscriptions cloud-api product1; do \
		$(BIN)/$$p --help > $(INSTALL_ROOT)/share/doc/feed-contexts/$$p.txt || exit 1; \
	done
	cp README.md $(INSTALL_ROOT)/share/doc/feed-contexts/
	for u in deploy/systemd/*.service deploy/systemd/*.target deploy/systemd/*.example; do \
		sed 's|/usr/local|$(PREFIX)|g' $$u > $(INSTALL_ROOT)/share/feed-contexts/systemd/$${u##*/} || exit 1; \
	done
	@echo "installed under $(INSTALL_ROOT); systemd units in $(INSTALL_ROOT)/share/feed-contexts/systemd/"

# Operates the processes of a running `make run` (docs/operations.md).
ctl:
	@sh mk/ctl.sh $(ARGS)

demo:
	@sh mk/demo.sh

# A fresh Debian 12 (debootstrap) with only make: make, make run, make test
# TESTS=cli, and the message for a user who is not root. Minutes; not in make test.
fresh-check:
	@sh mk/fresh-check.sh

test: all $(UNIT_TESTS) $(TEST_TOOLS)
	@sh mk/configure.sh test > /dev/null
	sh tests/run.sh

bench: all $(TEST_TOOLS) $(BENCHES)
	@sh mk/configure.sh bench > /dev/null
	sh tests/bench/run.sh

# The chaos soak (docs/soak.md): about 20 minutes of load on the whole system
# with two Cloud API nodes while random processes are SIGKILLed, then an
# exact reconciliation. SOAK_KILLS=N changes the number of kills.
soak: all $(TEST_TOOLS)
	@sh mk/configure.sh test > /dev/null
	sh tests/soak/soak.sh

# The rules a compiler does not check: STYLE.md's banned functions, and the
# boundaries between modules (each probed with the module's own flags).
lint: $(CONFIG)
	@CC='$(CC)' FS_INCLUDES='$(FS_MODULE_INCLUDES)' FR_INCLUDES='$(FR_MODULE_INCLUDES)' \
		DYNBUF_INCLUDES='$(DYNBUF_INCLUDES)' CONTEXT_INCLUDES='$(CONTEXT_INCLUDES)' \
		DEPS_CFLAGS='$(DEPS_CFLAGS)' sh mk/lint.sh

# Fuzzing builds its own tree with clang, so the gcc build is left alone.
FUZZ_SECONDS ?= 30
fuzz: $(CONFIG)
	@sh mk/configure.sh fuzz > /dev/null
	$(MAKE) BUILD=$(BUILD)/fuzz BIN=$(BUILD)/fuzz/bin CC=clang SANITIZE=address,undefined \
		CFLAGS='-O1 -g -fsanitize=fuzzer-no-link' fuzzers
	sh mk/fuzz.sh $(BUILD)/fuzz $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD) $(BIN)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

# (build/fresh holds make fresh-check's Debian tree, whose *.d folders are not ours.)
-include $(shell find $(BUILD) -path '$(BUILD)/fresh' -prune -o -name '*.d' -type f -print 2>/dev/null)
