# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The benchmark programs. The Makefile includes this file
# (`include bench/bench.mk`); bench/run.sh also reads it beside the Makefile
# (`make -f Makefile -f bench/bench.mk bench-progs`), so the guard below
# keeps it from being read twice.
ifndef PORTIER_BENCH_MK
PORTIER_BENCH_MK := 1
# included anywhere, this file never becomes the default goal
_bench_default_goal := $(.DEFAULT_GOAL)

BENCH_BPF_OBJS := $(patsubst bench/%.bpf.c,$(OUT)/bench/%.bpf.o,$(wildcard bench/*.bpf.c)) \
                  $(patsubst %,$(OUT)/bench/guard_%.bpf.o,noslots nopolicy parse)
BENCH_BINS     := $(OUT)/bench/ptbench $(OUT)/bench/connload

.PHONY: bench-progs
bench-progs: $(OUT)/portier $(BENCH_BPF_OBJS) $(BENCH_BINS)

# `make bench` builds them before bench/run.sh starts
bench: bench-progs

$(OUT)/bench/%.bpf.o: bench/%.bpf.c | deps
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# Variants of the guard with lookups removed, to measure what each costs:
# the same source with lines replaced (sed), compiled like the guard.
#   noslots   without the port_slots lookup
#   nopolicy  without port_slots and policy_lpm
#   parse     without port_slots, policy_lpm and port_class: parse and count
# When guard.bpf.c no longer has a line to remove, the variant is an empty
# file and the benchmark reports it as not applicable.
GV_SLOTS  := -e 's|slotp = bpf_map_lookup_elem(&port_slots, &skey);|slotp = NULL; (void)skey; /* bench: removed */|'
GV_POLICY := -e 's|pol = bpf_map_lookup_elem(&policy_lpm, &pkey);|pol = NULL; (void)pkey; /* bench: removed */|'
GV_CLASS  := -e 's|class = bpf_map_lookup_elem(&port_class, &ckey);|class = NULL; (void)ckey; /* bench: removed */|'
GV_noslots  := $(GV_SLOTS)
GV_nopolicy := $(GV_SLOTS) $(GV_POLICY)
GV_parse    := $(GV_SLOTS) $(GV_POLICY) $(GV_CLASS)

$(OUT)/bench/guard_%.bpf.c: bpf/guard.bpf.c bench/bench.mk
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)sed $(GV_$*) $< > $@
	$(Q)if [ "$$(grep -c 'bench: removed' $@)" != "$(words $(filter -e,$(GV_$*)))" ]; then \
		echo "  bench: guard.bpf.c changed, variant $* not applicable" >&2; : > $@; fi

$(OUT)/bench/guard_%.bpf.o: $(OUT)/bench/guard_%.bpf.c | deps
	$(call msg,BPF,$@)
	$(Q)if [ -s $< ]; then $(CLANG) $(BPF_CFLAGS) -c $< -o $@; else : > $@; fi

# bench/*.c compile through the Makefile's $(OUT)/%.o rule (same warnings)
$(OUT)/bench/ptbench: $(OUT)/bench/ptbench.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(OUT)/bench/connload: $(OUT)/bench/connload.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -lpthread

-include $(wildcard $(OUT)/bench/*.d)

.DEFAULT_GOAL := $(_bench_default_goal)
endif
