// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xsk-echo: a UDP echo server on one AF_XDP socket. It answers each UDP
 * datagram (IPv4 or IPv6, untagged) in place: Ethernet addresses, IP
 * addresses and UDP ports swapped, checksums computed afresh, sent back
 * on the queue it came in on. So the reply comes from the address and port
 * the client sent to. Anything else it receives is dropped and counted.
 *
 * It loads no XDP program (libxdp's default one is inhibited): portier's
 * guard redirects a bound service's packets to it once it is registered
 * (`portier register SERVICE --pid PID --xsk --ifname IF`).
 *
 *   xsk-echo IFACE [--queue Q] [--copy|--zerocopy] [--batch N]
 *
 * Prints one ready line, runs until SIGTERM or SIGINT, prints its counters.
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_xdp.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <xdp/xsk.h>

#ifndef SOL_XDP
#define SOL_XDP 283
#endif

#define NUM_FRAMES 4096
#define FRAME_SIZE XSK_UMEM__DEFAULT_FRAME_SIZE
#define RING_SIZE 2048
#define MAX_BATCH 256

static volatile sig_atomic_t stop;

struct echo {
	void *area;
	struct xsk_umem *umem;
	struct xsk_socket *xsk;
	struct xsk_ring_prod fq, tx;
	struct xsk_ring_cons cq, rx;
	uint64_t free_frames[NUM_FRAMES];
	uint32_t nfree;
	uint32_t batch;
	uint64_t rx_pkts, replied, dropped, tx_full;
};

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: xsk-echo IFACE [--queue Q] [--copy|--zerocopy] [--batch N]\n");
	return 2;
}

/* ---- checksums ---- */

static uint32_t sum16(const void *p, size_t len, uint32_t sum)
{
	const uint8_t *b = p;

	for (; len > 1; len -= 2, b += 2)
		sum += (uint32_t)(b[0] << 8 | b[1]);
	if (len)
		sum += (uint32_t)b[0] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The UDP checksum over the pseudo-header and the datagram at udp (whose
 * checksum field is zero); 0 is sent as 0xffff. */
static uint16_t udp_csum(const void *src, const void *dst, size_t alen, const uint8_t *udp,
			 size_t ulen)
{
	uint32_t sum = sum16(src, alen, 0);

	sum = sum16(dst, alen, sum);
	sum += IPPROTO_UDP + (uint32_t)ulen;	/* the same in both pseudo-headers */
	sum = sum16(udp, ulen, sum);
	uint16_t c = fold(sum);

	return htons(c ? c : 0xffff);
}

/* ---- the reply, in place; false: not a UDP datagram we answer ---- */

/* Headers are read into and written back from aligned copies: behind the
 * 14-byte Ethernet header, the IP header is not 4-byte aligned. */
static bool swap_udp(uint8_t *pkt, uint32_t len)
{
	struct ethhdr eth;
	struct udphdr udp;
	uint8_t *l3 = pkt + sizeof(eth), *l4;
	uint16_t port;
	size_t ulen;

	if (len < sizeof(eth))
		return false;
	memcpy(&eth, pkt, sizeof(eth));
	if (eth.h_proto == htons(ETH_P_IP)) {
		struct iphdr ip;
		size_t ihl, tot;
		uint32_t a;

		if (len < sizeof(eth) + sizeof(ip))
			return false;
		memcpy(&ip, l3, sizeof(ip));
		if (ip.version != 4 || ip.ihl < 5 || ip.protocol != IPPROTO_UDP)
			return false;
		ihl = (size_t)ip.ihl * 4;
		tot = ntohs(ip.tot_len);
		if (tot > len - sizeof(eth) || tot < ihl + sizeof(udp))
			return false;
		if (ip.frag_off & htons(0x3fff))	/* a fragment: not a whole datagram */
			return false;
		l4 = l3 + ihl;
		memcpy(&udp, l4, sizeof(udp));
		ulen = ntohs(udp.len);
		if (ulen < sizeof(udp) || ulen > tot - ihl)
			return false;
		a = ip.saddr;
		ip.saddr = ip.daddr;
		ip.daddr = a;
		ip.ttl = 64;
		ip.check = 0;
		memcpy(l3, &ip, sizeof(ip));	/* options, if any, stay */
		ip.check = htons(fold(sum16(l3, ihl, 0)));
		memcpy(l3, &ip, sizeof(ip));
		port = udp.source;
		udp.source = udp.dest;
		udp.dest = port;
		udp.check = 0;
		memcpy(l4, &udp, sizeof(udp));
		udp.check = udp_csum(&ip.saddr, &ip.daddr, 4, l4, ulen);
		memcpy(l4, &udp, sizeof(udp));
	} else if (eth.h_proto == htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;
		struct in6_addr a;

		if (len < sizeof(eth) + sizeof(ip6) + sizeof(udp))
			return false;
		memcpy(&ip6, l3, sizeof(ip6));
		if (ip6.version != 6 || ip6.nexthdr != IPPROTO_UDP)
			return false;
		l4 = l3 + sizeof(ip6);
		memcpy(&udp, l4, sizeof(udp));
		ulen = ntohs(ip6.payload_len);
		if (ulen < sizeof(udp) || ulen > len - sizeof(eth) - sizeof(ip6) ||
		    ntohs(udp.len) != ulen)
			return false;
		a = ip6.saddr;
		ip6.saddr = ip6.daddr;
		ip6.daddr = a;
		ip6.hop_limit = 64;
		memcpy(l3, &ip6, sizeof(ip6));
		port = udp.source;
		udp.source = udp.dest;
		udp.dest = port;
		udp.check = 0;
		memcpy(l4, &udp, sizeof(udp));
		udp.check = udp_csum(&ip6.saddr, &ip6.daddr, 16, l4, ulen);
		memcpy(l4, &udp, sizeof(udp));
	} else {
		return false;
	}
	memcpy(eth.h_dest, pkt + ETH_ALEN, ETH_ALEN);	/* the sender's */
	memcpy(eth.h_source, pkt, ETH_ALEN);		/* ours */
	memcpy(pkt, &eth, sizeof(eth));
	return true;
}

/* ---- rings ---- */

static void refill(struct echo *e)
{
	uint32_t n = xsk_prod_nb_free(&e->fq, e->nfree), idx;

	if (n > e->nfree)
		n = e->nfree;
	if (!n || xsk_ring_prod__reserve(&e->fq, n, &idx) != n)
		return;
	for (uint32_t i = 0; i < n; i++)
		*xsk_ring_prod__fill_addr(&e->fq, idx + i) = e->free_frames[--e->nfree];
	xsk_ring_prod__submit(&e->fq, n);
}

static void complete(struct echo *e)
{
	uint32_t idx, n = xsk_ring_cons__peek(&e->cq, RING_SIZE, &idx);

	for (uint32_t i = 0; i < n; i++)
		e->free_frames[e->nfree++] = *xsk_ring_cons__comp_addr(&e->cq, idx + i);
	if (n)
		xsk_ring_cons__release(&e->cq, n);
}

/* Descriptors in the tx ring the kernel has not taken yet. */
static uint32_t tx_pending(struct echo *e)
{
	return RING_SIZE - xsk_prod_nb_free(&e->tx, RING_SIZE);
}

/* Copy mode transmits only when asked, and a bounded number of frames
 * per call (32 on Linux): ask until the ring is taken or the kernel takes
 * nothing more (its send buffer is full: the completions free it). */
static void kick_tx(struct echo *e)
{
	for (uint32_t i = 0; i <= RING_SIZE / 32; i++) {
		uint32_t before = tx_pending(e);

		if (!before)
			return;
		if (sendto(xsk_socket__fd(e->xsk), NULL, 0, MSG_DONTWAIT, NULL, 0) < 0 &&
		    errno != EAGAIN && errno != EBUSY && errno != ENOBUFS && errno != ENETDOWN) {
			fprintf(stderr, "xsk-echo: sendto: %s\n", strerror(errno));
			return;
		}
		if (tx_pending(e) >= before)
			return;
	}
}

static void kick_tx_once(struct echo *e)
{
	if (sendto(xsk_socket__fd(e->xsk), NULL, 0, MSG_DONTWAIT, NULL, 0) < 0 &&
	    errno != EAGAIN && errno != EBUSY && errno != ENOBUFS && errno != ENETDOWN)
		fprintf(stderr, "xsk-echo: sendto: %s\n", strerror(errno));
}

/* One batch: answer what came in; returns how many frames came in. */
static uint32_t serve(struct echo *e)
{
	uint32_t idx_rx, idx_tx = 0, n, ntx = 0, k = 0;
	uint64_t reply[MAX_BATCH];
	uint32_t rlen[MAX_BATCH];

	n = xsk_ring_cons__peek(&e->rx, e->batch, &idx_rx);
	if (!n)
		return 0;
	for (uint32_t i = 0; i < n; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&e->rx, idx_rx + i);
		uint64_t addr = xsk_umem__add_offset_to_addr(d->addr);
		uint8_t *pkt = xsk_umem__get_data(e->area, addr);

		if (swap_udp(pkt, d->len)) {
			reply[k] = d->addr;
			rlen[k++] = d->len;
		} else {
			e->dropped++;
			e->free_frames[e->nfree++] = xsk_umem__extract_addr(d->addr);
		}
	}
	xsk_ring_cons__release(&e->rx, n);
	e->rx_pkts += n;
	if (k) {
		ntx = xsk_ring_prod__reserve(&e->tx, k, &idx_tx);
		for (uint32_t i = 0; i < k; i++) {
			if (i >= ntx) {	/* no room: the datagram is lost, as on a full socket */
				e->tx_full++;
				e->free_frames[e->nfree++] = xsk_umem__extract_addr(reply[i]);
				continue;
			}
			struct xdp_desc *t = xsk_ring_prod__tx_desc(&e->tx, idx_tx + i);

			t->addr = reply[i];
			t->len = rlen[i];
			t->options = 0;
		}
		if (ntx) {
			xsk_ring_prod__submit(&e->tx, ntx);
			e->replied += ntx;
			kick_tx(e);
		}
	}
	return n;
}

static int setup(struct echo *e, const char *ifname, uint32_t queue, uint16_t mode)
{
	struct xsk_umem_config ucfg = {
		.fill_size = RING_SIZE, .comp_size = RING_SIZE, .frame_size = FRAME_SIZE,
		.frame_headroom = 0, .flags = 0,
	};
	struct xsk_socket_config scfg = {
		.rx_size = RING_SIZE, .tx_size = RING_SIZE,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.xdp_flags = 0, .bind_flags = (uint16_t)(mode | XDP_USE_NEED_WAKEUP),
	};
	size_t size = (size_t)NUM_FRAMES * FRAME_SIZE;
	int err;

	e->area = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (e->area == MAP_FAILED) {
		e->area = NULL;
		fprintf(stderr, "xsk-echo: mmap: %s\n", strerror(errno));
		return 1;
	}
	err = xsk_umem__create(&e->umem, e->area, size, &e->fq, &e->cq, &ucfg);
	if (err) {
		fprintf(stderr, "xsk-echo: umem: %s\n", strerror(-err));
		return 1;
	}
	err = xsk_socket__create(&e->xsk, ifname, queue, e->umem, &e->rx, &e->tx, &scfg);
	if (err) {
		fprintf(stderr, "xsk-echo: socket on %s queue %u: %s\n", ifname, queue,
			strerror(-err));
		return 1;
	}
	for (uint32_t i = 0; i < NUM_FRAMES; i++)
		e->free_frames[e->nfree++] = (uint64_t)i * FRAME_SIZE;
	refill(e);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "queue", required_argument, NULL, 'q' },
		{ "copy", no_argument, NULL, 'c' },
		{ "zerocopy", no_argument, NULL, 'z' },
		{ "batch", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct echo *e = NULL;
	struct xdp_options xo = {};
	socklen_t olen = sizeof(xo);
	struct sigaction sa = { .sa_handler = on_signal };
	unsigned long queue = 0, batch = 64;
	uint16_t mode = 0;
	const char *ifname;
	char *end;
	int c, ret = 1;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'q':
			errno = 0;
			queue = strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg || queue > 0xffff)
				return usage();
			break;
		case 'c':
			mode = XDP_COPY;
			break;
		case 'z':
			mode = XDP_ZEROCOPY;
			break;
		case 'b':
			errno = 0;
			batch = strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg || !batch || batch > MAX_BATCH)
				return usage();
			break;
		default:
			return usage();
		}
	}
	if (optind != argc - 1)
		return usage();
	ifname = argv[optind];
	if (!if_nametoindex(ifname)) {
		fprintf(stderr, "xsk-echo: %s: no such interface\n", ifname);
		return 2;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return 1;
	e->batch = (uint32_t)batch;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (setup(e, ifname, (uint32_t)queue, mode))
		goto cleanup;
	if (getsockopt(xsk_socket__fd(e->xsk), SOL_XDP, XDP_OPTIONS, &xo, &olen))
		xo.flags = 0;
	printf("xsk-echo: ready on %s queue %lu (%s), pid %d\n", ifname, queue,
	       xo.flags & XDP_OPTIONS_ZEROCOPY ? "zerocopy" : "copy", (int)getpid());
	fflush(stdout);

	while (!stop) {
		struct pollfd pfd = { .fd = xsk_socket__fd(e->xsk), .events = POLLIN };

		complete(e);
		refill(e);
		if (serve(e))
			continue;
		if (tx_pending(e))
			kick_tx(e);
		else if (xsk_ring_prod__needs_wakeup(&e->tx))
			kick_tx_once(e);
		/* a bounded wait, so a signal between the check and poll is seen */
		if (poll(&pfd, 1, tx_pending(e) ? 1 : 100) < 0 && errno != EINTR) {
			fprintf(stderr, "xsk-echo: poll: %s\n", strerror(errno));
			goto cleanup;
		}
	}
	ret = 0;
	printf("xsk-echo: received %llu, replied %llu, dropped %llu, tx full %llu\n",
	       (unsigned long long)e->rx_pkts, (unsigned long long)e->replied,
	       (unsigned long long)e->dropped, (unsigned long long)e->tx_full);
	fflush(stdout);
cleanup:
	if (e->xsk)
		xsk_socket__delete(e->xsk);
	if (e->umem)
		xsk_umem__delete(e->umem);
	if (e->area)
		munmap(e->area, (size_t)NUM_FRAMES * FRAME_SIZE);
	free(e);
	return ret;
}
