// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Shared helpers for the BPF tests: see bpftest.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include "bpftest.h"

static int bt_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level > LIBBPF_WARN)
		return 0;
	/* libxdp's run config is for libxdp, not libbpf: not news. */
	if (strstr(fmt, "skipping unrecognized data section"))
		return 0;
	return vfprintf(stderr, fmt, args);
}

void bt_libbpf_quiet(void)
{
	libbpf_set_print(bt_print);
}

int bt_unpin_maps(struct bpf_object *obj)
{
	struct bpf_map *map;
	int err;

	bpf_object__for_each_map(map, obj) {
		err = bpf_map__set_pin_path(map, NULL);
		if (err)
			return err;
	}
	return 0;
}

int bt_ncpus(void)
{
	static int n;

	if (!n)
		n = libbpf_num_possible_cpus();
	return n;
}

int bt_percpu_sum(int map_fd, uint32_t key, uint64_t *sum, size_t nwords)
{
	int ncpus = bt_ncpus(), cpu, err = 0;
	size_t stride = (nwords * sizeof(uint64_t) + 7) & ~(size_t)7, i;
	uint64_t *vals;

	if (ncpus <= 0)
		return ncpus ? ncpus : -EINVAL;
	vals = calloc((size_t)ncpus, stride);
	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(map_fd, &key, vals)) {
		err = -errno;
		goto cleanup;
	}
	memset(sum, 0, nwords * sizeof(*sum));
	for (cpu = 0; cpu < ncpus; cpu++)
		for (i = 0; i < nwords; i++)
			sum[i] += vals[(size_t)cpu * (stride / sizeof(uint64_t)) + i];
cleanup:
	free(vals);
	return err;
}

int bt_xdp_run(int prog_fd, const uint8_t *frame, size_t len, uint32_t *verdict)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame,
		    .data_size_in = (uint32_t)len, .repeat = 1);

	if (bpf_prog_test_run_opts(prog_fd, &opts))
		return -errno;
	*verdict = opts.retval;
	return 0;
}
