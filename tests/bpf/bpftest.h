/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Shared helpers for the BPF tests: keep a skeleton's maps out of bpffs,
 * run an XDP program on a raw frame, sum per-CPU counters.
 */
#ifndef PORTIER_TEST_BPFTEST_H
#define PORTIER_TEST_BPFTEST_H

#include <stddef.h>
#include <stdint.h>
#include <bpf/libbpf.h>

/* Route libbpf's log to stderr, warnings only (the verifier log of a
 * failed load is a warning). Call once before opening a skeleton. */
void bt_libbpf_quiet(void);

/* Disable pinning on every map of an opened, not yet loaded object, so a
 * test never touches /sys/fs/bpf. Returns 0 or -errno. */
int bt_unpin_maps(struct bpf_object *obj);

/* Number of possible CPUs, the stride of a per-CPU map value. */
int bt_ncpus(void);

/* Read key of a PERCPU_ARRAY whose value is nwords __u64 counters and
 * store the sum over CPUs in sum[0..nwords). Returns 0 or -errno. */
int bt_percpu_sum(int map_fd, uint32_t key, uint64_t *sum, size_t nwords);

/* Run an XDP program once on a frame. Returns 0 or -errno and the
 * program's verdict in *verdict. The kernel refuses (-EINVAL) frames
 * shorter than an Ethernet header (14 bytes) or longer than about a page:
 * an XDP program never sees a frame shorter than 14 bytes. */
int bt_xdp_run(int prog_fd, const uint8_t *frame, size_t len, uint32_t *verdict);

#endif /* PORTIER_TEST_BPFTEST_H */
