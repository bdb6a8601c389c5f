# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The benchmark programs. The Makefile includes this file
# (`include bench/bench.mk`); bench/run.sh also reads it beside the Makefile
# (`make -f Makefile -f bench/bench.mk bench-progs`), so the guard below
# keeps it from being read twice.
ifndef PORTIER_BENCH_MK
PORTIER_BENCH_MK := 1
# included anywhere, this file never becomes the default goal
_bench_default_goal := $(.DEFAULT_GOAL)

BENCH_BPF_OBJS := $(patsubst bench/%.bpf.c,$(OUT)/bench/%.bpf.o,$(wildcard bench/*.bpf.c))
BENCH_BINS     := $(OUT)/bench/ptbench $(OUT)/bench/connload $(OUT)/bench/udpecho

.PHONY: bench-progs
bench-progs: $(OUT)/portier $(OUT)/xsk-echo $(BENCH_BPF_OBJS) $(BENCH_BINS)

# `make bench` builds them before bench/run.sh starts
bench: bench-progs

$(OUT)/bench/%.bpf.o: bench/%.bpf.c | deps
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# bench/*.c compile through the Makefile's $(OUT)/%.o rule (same warnings)
$(OUT)/bench/ptbench: $(OUT)/bench/ptbench.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(OUT)/bench/connload: $(OUT)/bench/connload.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -lpthread

$(OUT)/bench/udpecho: $(OUT)/bench/udpecho.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^

-include $(wildcard $(OUT)/bench/*.d)

.DEFAULT_GOAL := $(_bench_default_goal)
endif
