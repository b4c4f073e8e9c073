# vtarget top-level Makefile. `make` builds everything; `make run` starts the target on the
# embedded default configuration; `make test` runs every test (release build, then ASan+UBSan).
ROOT := .

ifeq ($(wildcard mk/config.mk),)
$(info mk/config.mk missing: running ./configure with defaults)
$(shell ./configure >&2)
endif
include mk/common.mk

LIB_DIRS := $(foreach l,$(VT_LIBS),lib/$(l))
SUBMAKE := $(MAKE) --no-print-directory BUILD_DIR=$(BUILD_DIR)

all: app tools unit nolog

libs:
	$(Q)for d in $(LIB_DIRS); do $(SUBMAKE) -C $$d || exit 1; done

app: libs
	$(Q)$(SUBMAKE) -C app/vtarget

tools: libs
	$(Q)$(SUBMAKE) -C test/tools
	$(Q)$(SUBMAKE) -C test/vhost_client

unit: libs
	$(Q)$(SUBMAKE) -C test/unit

# test/nolog: vtarget-nolog, the daemon without data-buffer dirty logging (migration VM test)
nolog: app
	$(Q)$(SUBMAKE) -C test/nolog

# Installs any missing Debian package (needs root or sudo), builds, starts the daemon in the
# foreground on the built-in config (app/vtarget/default_config.c; `vtarget --help` describes it).
run:
	$(Q)scripts/pkgdep.sh
	$(Q)$(MAKE) -s --no-print-directory app
	$(Q)exec $(BUILD_DIR)/bin/vtarget --default-config --poll-mode adaptive $(VTARGET_ARGS)

# Every test: layering and format checks, unit tests and the integration tests without guests on
# the release build, every fuzz harness briefly (corpus replay + FUZZ_SMOKE_TIME s each), then all
# unit and integration tests, guest tests included, on an AddressSanitizer +
# UndefinedBehaviorSanitizer build in build-san/. The guest tests (test_vm_*.py, QEMU under TCG:
# two thirds of the time) thus run once, against the sanitized daemon; `make test-quick` runs
# them on the release build.
test:
	$(Q)scripts/pkgdep.sh
	$(Q)scripts/check_layers.sh
	$(Q)$(MAKE) --no-print-directory format-check
	$(Q)$(MAKE) --no-print-directory all
	$(Q)test/run_tests.sh $(BUILD_DIR) --no-guests
	$(Q)$(MAKE) --no-print-directory fuzz-smoke
	$(Q)$(MAKE) --no-print-directory test-san

test-san:
	$(Q)$(MAKE) --no-print-directory all BUILD_DIR=$(ROOT)/build-san CONFIG_ASAN=y CONFIG_UBSAN=y \
		CONFIG_DEBUG=y
	$(Q)VT_SANITIZED=1 test/run_tests.sh $(ROOT)/build-san

# Long runs of the tests `make test` runs once: 1000 scsi attach/detach cycles under fio in a
# guest (make test: 100); 5 live-migration round trips under fio (make test: 1). Not part of
# `make test`.
SOAK_CYCLES ?= 1000
# test_vm_reconnect: daemon SIGKILLs and SIGTERMs under a guest's fio (make test: 3 and 1).
SOAK_KILLS ?= 20
SOAK_TERMS ?= 3
SOAK_MIGRATE_ROUNDS ?= 5
soak: all
	$(Q)VT_VM_LIFE_CYCLES=$(SOAK_CYCLES) python3 test/integration/run.py --build-dir $(BUILD_DIR) \
		-k attach_detach_cycles
	$(Q)VT_VM_RECONNECT_KILLS=$(SOAK_KILLS) VT_VM_RECONNECT_TERMS=$(SOAK_TERMS) \
		python3 test/integration/run.py --build-dir $(BUILD_DIR) -k test_vm_reconnect
	$(Q)VT_VM_MIGRATE_ROUNDS=$(SOAK_MIGRATE_ROUNDS) python3 test/integration/run.py \
		--build-dir $(BUILD_DIR) -k test_migrate_under_fio

test-quick: all
	$(Q)test/run_tests.sh $(BUILD_DIR)

# libFuzzer harnesses (test/fuzz/README.md), built with clang in build-fuzz/. `make fuzz` runs
# each for FUZZ_TIME seconds; `make fuzz-smoke` replays every committed corpus input, then runs
# each harness for FUZZ_SMOKE_TIME seconds.
FUZZ_BUILD_DIR ?= $(ROOT)/build-fuzz
FUZZ_TIME ?= 600
FUZZ_SMOKE_TIME ?= 30

fuzz-build:
	+$(Q)$(MAKE) --no-print-directory -C test/fuzz BUILD_DIR=$(abspath $(FUZZ_BUILD_DIR))

fuzz: fuzz-build
	$(Q)test/fuzz/run.sh fuzz $(FUZZ_BUILD_DIR) $(FUZZ_TIME)

fuzz-smoke: fuzz-build
	$(Q)test/fuzz/run.sh smoke $(FUZZ_BUILD_DIR) $(FUZZ_SMOKE_TIME)

# Install folders: ./configure --prefix, or PREFIX=... on the make command line.
PREFIX ?= $(CONFIG_PREFIX)
BINDIR ?= $(PREFIX)/bin
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
UNITDIR ?= $(PREFIX)/lib/systemd/system
MANDIR ?= $(PREFIX)/share/man

# The daemon, the RPC client (vtarget-rpc), the systemd unit with the paths filled in, a default
# (empty) config that an existing one is never replaced by, and the man page.
install: app $(BUILD_DIR)/doc/vtarget.8
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(SYSCONFDIR)/vtarget
	install -m 0755 $(BUILD_DIR)/bin/vtarget $(DESTDIR)$(BINDIR)/vtarget
	install -m 0755 scripts/rpc.py $(DESTDIR)$(BINDIR)/vtarget-rpc
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' etc/vtarget.service.in \
		> $(DESTDIR)$(UNITDIR)/vtarget.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/vtarget.service
	test -e $(DESTDIR)$(SYSCONFDIR)/vtarget/vtarget.json || \
		install -m 0644 etc/vtarget.json $(DESTDIR)$(SYSCONFDIR)/vtarget/vtarget.json
	install -m 0644 $(BUILD_DIR)/doc/vtarget.8 $(DESTDIR)$(MANDIR)/man8/vtarget.8

# The man page, generated from doc/app.md and doc/vtarget.8.in. `make man` refreshes the
# committed copy doc/vtarget.8 (test_install.py fails while it differs from the generated one).
$(BUILD_DIR)/doc/vtarget.8: doc/app.md doc/vtarget.8.in scripts/gen_manpage.py mk/common.mk
	$(Q)mkdir -p $(@D)
	$(Q)python3 scripts/gen_manpage.py -o $@

man:
	$(Q)python3 scripts/gen_manpage.py -o doc/vtarget.8

# Every C file as .clang-format lays it out (clang-format -i FILE to fix one).
format-check:
	$(Q)clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h') && echo "format-check: ok"

clean:
	rm -rf build build-san build-fuzz

distclean: clean
	rm -f mk/config.mk

.PHONY: all libs app tools unit nolog run test test-san test-quick soak install format-check \
	fuzz-build fuzz fuzz-smoke clean distclean man
