# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# portier: build, test, bench, demo, install.  `make help` lists the targets.

VERSION   := 0.1.0
PREFIX    ?= /usr/local
DESTDIR   ?=
OUT       := build
CC        ?= gcc
CLANG     ?= clang
BPFTOOL   ?= bpftool
ARCH      := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

PKGS      := libbpf libxdp json-c libmicrohttpd ncursesw nettle
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN      := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-unused-parameter \
             -Wmissing-prototypes -Wstrict-prototypes
CFLAGS    ?= -O2 -g
SAN       ?=
ifeq ($(SAN),1)
OUT       := build-san
CFLAGS    := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
             -fno-sanitize-recover=all
LDFLAGS   += -fsanitize=address,undefined
endif
ALL_CFLAGS = $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE \
             -DPORTIER_VERSION='"$(VERSION)"' -Iinclude -Icore -Iuser -I$(OUT) \
             $(PKG_CFLAGS) -MMD -MP
# the pure core (core/) and its unit tests: no libbpf, libxdp or json-c
# include paths, and no user/ headers, so the boundary is the build's
CORE_CFLAGS = $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE -Iinclude -Icore -MMD -MP
LIBS       = $(PKG_LIBS) -lelf -lz

BPF_CFLAGS := -target bpf -O2 -g -Wall -Werror -D__TARGET_ARCH_$(ARCH) \
              -Iinclude -Ibpf $(if $(MULTIARCH),-I/usr/include/$(MULTIARCH)) -MMD -MP

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(OUT)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS     := $(patsubst bpf/%.bpf.c,$(OUT)/%.skel.h,$(BPF_SRCS))

CORE_SRCS := $(wildcard core/*.c)
USER_SRCS := $(wildcard user/*.c)
# the library the tests link: the core and everything but the command handlers
LIB_SRCS  := $(CORE_SRCS) $(filter-out user/main.c user/cmd_%.c,$(USER_SRCS))
CORE_OBJS := $(patsubst %.c,$(OUT)/%.o,$(CORE_SRCS))
USER_OBJS := $(CORE_OBJS) $(patsubst %.c,$(OUT)/%.o,$(USER_SRCS))
LIB_OBJS  := $(patsubst %.c,$(OUT)/%.o,$(LIB_SRCS))

# Each tests/<suite>/test_*.c is one binary, linked with the suite's other
# .c files (helpers, reference models) and what the suite tests: the unit
# suite the pure core alone (no libbpf, libxdp or json-c on its link
# line), the bpf suite the user-space library.
TEST_SUITES := unit bpf
unit_LINK := $(CORE_OBJS)
unit_LIBS :=
bpf_LINK  := $(LIB_OBJS)
bpf_LIBS   = $(LIBS)
TEST_BINS :=
define suite_rules
$(1)_HELPERS := $$(patsubst %.c,$(OUT)/%.o,$$(filter-out tests/$(1)/test_%.c,$$(wildcard tests/$(1)/*.c)))
$(1)_BINS := $$(patsubst tests/$(1)/%.c,$(OUT)/tests/$(1)/%,$$(wildcard tests/$(1)/test_*.c))
TEST_BINS += $$($(1)_BINS)
$(OUT)/tests/$(1)/test_%: $(OUT)/tests/$(1)/test_%.o $$($(1)_HELPERS) $$($(1)_LINK)
	$$(call msg,LINK,$$@)
	$$(Q)$$(CC) $$(LDFLAGS) -o $$@ $$^ $$($(1)_LIBS) -lcmocka
endef
$(foreach s,$(TEST_SUITES),$(eval $(call suite_rules,$(s))))

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all deps test test-kernel tests bench demo fuzz lint image install uninstall clean help

all: deps $(OUT)/portier $(OUT)/xsk-echo

help:
	@echo 'make            build build/portier (installs missing Debian packages first)'
	@echo 'make test       build and run every suite (unit, bpf, e2e, a short e2e list on'
	@echo '                Debian 12'"'"'s 6.1 kernel under qemu, then unit and e2e under'
	@echo '                ASan/UBSan) as root'
	@echo 'make test-kernel KERNEL=6.1 [SUITES="guard_chain dispatch_basic:case,..."|all]'
	@echo '                boot Debian'"'"'s KERNEL under qemu with this root filesystem and run'
	@echo '                e2e files there (default: the short list make test runs)'
	@echo 'make fuzz       run each libFuzzer target for FUZZ_SECONDS (default 20)'
	@echo 'make lint       cppcheck and clang-tidy over user/*.c and core/*.c'
	@echo 'make demo       show portier dispatching a small building of services'
	@echo 'make bench      run the benchmarks and print the table of ratios'
	@echo 'make image      the OCI image $(IMAGE):$(VERSION), offline (podman or buildah),'
	@echo '                FROM scratch: the binary and the libraries ldd names'
	@echo 'make install    install binary, man page, completion, units (PREFIX, DESTDIR)'
	@echo 'make uninstall  remove what install installed'
	@echo 'make clean      remove build output'
	@echo 'V=1 shows full commands; SAN=1 builds with ASan/UBSan into build-san/'

deps:
	$(Q)scripts/deps.sh

$(OUT)/bpf/%.bpf.o: bpf/%.bpf.c | deps
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/%.skel.h: $(OUT)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $* > $@ 2> $@.log || { cat $@.log >&2; exit 1; }
	$(Q)grep -v 'unrecognized data section.*[.]xdp_run_config' $@.log >&2 || true
	$(Q)rm -f $@.log

$(OUT)/%.o: %.c $(SKELS) | deps
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(OUT)/core/%.o: core/%.c | deps
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CORE_CFLAGS) -c $< -o $@

$(OUT)/tests/unit/%.o: tests/unit/%.c | deps
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CORE_CFLAGS) -c $< -o $@

$(OUT)/portier: $(USER_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# xsk-echo: a UDP echo server on AF_XDP (libxdp's xsk API), the AF_XDP
# service of the tests, the demo and the bench
$(OUT)/tools/xsk-echo.o: tools/xsk-echo.c | deps
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(OUT)/xsk-echo: $(OUT)/tools/xsk-echo.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# A second portier that differs only in its guard (built with
# -DPT_TEST_GUARD_B): the guard-only upgrade test loads one over the other.
GUARDB    := $(OUT)/tests/guardB
$(GUARDB)/bpf/guard.bpf.o: bpf/guard.bpf.c | deps
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -DPT_TEST_GUARD_B -c $< -o $@

$(GUARDB)/guard.skel.h: $(GUARDB)/bpf/guard.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name guard > $@ 2> $@.log || { cat $@.log >&2; exit 1; }
	$(Q)grep -v 'unrecognized data section.*[.]xdp_run_config' $@.log >&2 || true
	$(Q)rm -f $@.log

$(GUARDB)/xdp.o: user/xdp.c $(GUARDB)/guard.skel.h $(SKELS) | deps
	$(call msg,CC,$@)
	$(Q)$(CC) -I$(GUARDB) $(ALL_CFLAGS) -c $< -o $@

$(OUT)/tests/portier-guardB: $(filter-out $(OUT)/user/xdp.o,$(USER_OBJS)) $(GUARDB)/xdp.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)


# e2e helpers in C, linked with the user-space library
E2E_BINS := $(OUT)/tests/e2e/commit_flip
E2E_BINS += $(OUT)/tests/e2e/cpu_sink
$(OUT)/tests/e2e/%: $(OUT)/tests/e2e/helpers/%.o $(LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

tests: $(OUT)/portier $(OUT)/xsk-echo $(TEST_BINS) $(E2E_BINS) $(OUT)/tests/portier-guardB

# every suite, a short e2e list on Debian 12's kernel (tests/vm/), then unit
# and e2e again under ASan/UBSan (build-san/): one run of the runner, so the
# last line counts them all
test: tests
	$(Q)$(MAKE) --no-print-directory SAN=1 OUT=build-san tests
	$(Q)OUT=$(OUT) SAN_OUT=build-san tests/run.sh unit bpf e2e vm:6.1 san:unit san:e2e

# e2e files on another kernel: a Debian linux-image package booted under
# qemu (TCG) with this machine's root filesystem. SUITES: e2e files
# (guard_chain, or guard_attach:xdp_modes,... for some cases), or all.
KERNEL ?= 6.1
SUITES ?=
test-kernel: tests
	$(Q)OUT=$(OUT) VM_TESTS="$(SUITES)" tests/run.sh vm:$(KERNEL)

# libFuzzer targets in tests/fuzz/, FUZZ_SECONDS each (clang, root for deps)
FUZZ_SECONDS ?= 20
fuzz: deps
	$(Q)OUT=$(OUT) CLANG=$(CLANG) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh

# cppcheck and clang-tidy over user/*.c and core/*.c with the build's
# flags; the core includes no libbpf, libxdp or user/ header
lint: $(OUT)/portier
	$(Q)! grep -n -E '^#include [<"](bpf/|xdp/|json-c/)' core/*.c core/*.h || \
		{ echo 'lint: core/ includes a libbpf, libxdp or json-c header' >&2; exit 1; }
	$(Q)OUT=$(OUT) scripts/lint.sh user/*.c core/*.c

# an OCI image, built offline from this build: FROM scratch, the binary and
# exactly the libraries ldd names (the BPF objects are in the binary)
IMAGE ?= portier
image: all
	$(Q)scripts/image.sh $(OUT)/portier $(VERSION) $(IMAGE) $(OUT)

demo: all
	$(Q)scripts/demo.sh

bench: all
	$(Q)OUT=$(OUT) bench/run.sh

SBINDIR   := $(PREFIX)/sbin
MANDIR    := $(PREFIX)/share/man
COMPDIR   := $(PREFIX)/share/bash-completion/completions
UNITDIR   ?= $(PREFIX)/lib/systemd/system
DOCDIR    := $(PREFIX)/share/doc/portier

install: all
	install -D -m 0755 $(OUT)/portier $(DESTDIR)$(SBINDIR)/portier
	install -D -m 0644 docs/portier.8 $(DESTDIR)$(MANDIR)/man8/portier.8
	install -D -m 0644 dist/portier.bash $(DESTDIR)$(COMPDIR)/portier
	install -d $(DESTDIR)$(UNITDIR)
	sed 's|@SBINDIR@|$(SBINDIR)|g' dist/portier.service > $(DESTDIR)$(UNITDIR)/portier.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/portier.service
	sed 's|@SBINDIR@|$(SBINDIR)|g' dist/portier-watch.service > $(DESTDIR)$(UNITDIR)/portier-watch.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/portier-watch.service
	install -D -m 0644 dist/portier.conf $(DESTDIR)$(DOCDIR)/portier.conf.example
	install -D -m 0644 docs/SYSTEMD.md $(DESTDIR)$(DOCDIR)/SYSTEMD.md
	install -D -m 0644 docs/FLEET.md $(DESTDIR)$(DOCDIR)/FLEET.md

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/portier $(DESTDIR)$(MANDIR)/man8/portier.8 \
	      $(DESTDIR)$(COMPDIR)/portier $(DESTDIR)$(UNITDIR)/portier.service \
	      $(DESTDIR)$(UNITDIR)/portier-watch.service \
	      $(DESTDIR)$(DOCDIR)/portier.conf.example $(DESTDIR)$(DOCDIR)/SYSTEMD.md \
	      $(DESTDIR)$(DOCDIR)/FLEET.md
	-rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null

clean:
	rm -rf build build-san

-include $(wildcard $(OUT)/bpf/*.d $(OUT)/core/*.d $(OUT)/user/*.d $(OUT)/tests/*/*.d $(OUT)/tools/*.d $(GUARDB)/bpf/*.d)
include bench/bench.mk
