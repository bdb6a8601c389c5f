// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cpu_sink: a UDP server that says on which CPU the stack processed each
 * datagram, for tests/e2e/test_steer_cpu.sh.
 *
 *   cpu_sink PORT OUT READY COUNT SECONDS PEER PEER_PORT
 *
 * Binds a UDP socket to 0.0.0.0:PORT and connects it to PEER:PEER_PORT
 * (the kernel keeps SO_INCOMING_CPU for connected UDP sockets only), creates
 * READY, then for
 * each datagram appends one line to OUT: the socket's SO_INCOMING_CPU read
 * right after the datagram was taken, which is the CPU that last queued a
 * datagram to the socket (the one that ran the stack's UDP receive for it,
 * after any cpumap redirect). Ends after COUNT datagrams, or SECONDS
 * without one (bounded either way). Exit 0, or 1 on a failed call.
 *
 *   cpu_sink counter PORT_STATS_PIN
 *
 * Prints the guard's `cpu` counter summed over every slot and CPU of the
 * pinned port_stats (bpftool's byte dump of it takes seconds to parse).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "portier.h"

static int fail(const char *what)
{
	fprintf(stderr, "cpu_sink: %s: %s\n", what, strerror(errno));
	return 1;
}

static int counter(const char *pin)
{
	int fd = bpf_obj_get(pin), ncpu = libbpf_num_possible_cpus();
	struct pt_counters *per;
	unsigned long long sum = 0;

	if (fd < 0)
		return fail(pin);
	if (ncpu <= 0)
		return 1;
	per = calloc((size_t)ncpu, sizeof(*per));
	if (!per)
		return 1;
	for (__u32 slot = 0; slot < PT_MAX_SLOTS; slot++) {
		if (bpf_map_lookup_elem(fd, &slot, per)) {
			free(per);
			return fail("port_stats");
		}
		for (int c = 0; c < ncpu; c++)
			sum += per[c].cpu;
	}
	free(per);
	close(fd);
	printf("%llu\n", sum);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET }, peer = { .sin_family = AF_INET };
	int fd, rcvbuf = 4 << 20, seconds;
	long count, got = 0;
	FILE *out, *ready;
	char buf[2048];

	if (argc == 3 && !strcmp(argv[1], "counter"))
		return counter(argv[2]);
	if (argc != 8 || inet_pton(AF_INET, argv[6], &peer.sin_addr) != 1) {
		fprintf(stderr, "usage: cpu_sink PORT OUT READY COUNT SECONDS PEER PEER_PORT\n");
		return 2;
	}
	peer.sin_port = htons((uint16_t)atoi(argv[7]));
	sin.sin_port = htons((uint16_t)atoi(argv[1]));
	count = atol(argv[4]);
	seconds = atoi(argv[5]);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail("socket");
	/* room for a whole burst: a datagram dropped at the socket would
	 * leave a line missing */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)))
		return fail("bind");
	if (connect(fd, (struct sockaddr *)&peer, sizeof(peer)))
		return fail("connect");
	out = fopen(argv[2], "a");
	if (!out)
		return fail(argv[2]);
	ready = fopen(argv[3], "w");
	if (!ready)
		return fail(argv[3]);
	fclose(ready);
	while (got < count) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int cpu = -1, r = poll(&p, 1, seconds * 1000);
		socklen_t len = sizeof(cpu);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return fail("poll");
		if (!r)
			break;	/* quiet for SECONDS: the sender is done */
		if (recv(fd, buf, sizeof(buf), 0) < 0)
			return fail("recv");
		if (getsockopt(fd, SOL_SOCKET, SO_INCOMING_CPU, &cpu, &len))
			return fail("SO_INCOMING_CPU");
		fprintf(out, "%d\n", cpu);
		fflush(out);
		got++;
	}
	fclose(out);
	close(fd);
	return 0;
}
