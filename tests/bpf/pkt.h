/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Raw frame builder for the BPF tests: Ethernet, VLAN tags, IPv4 with
 * options and fragments, IPv6 with extension headers, TCP, UDP, ICMP and
 * anything else by protocol number, and ways to damage the result (bad
 * length fields, truncation) so the tests can say "this header, cut here".
 */
#ifndef PORTIER_TEST_PKT_H
#define PORTIER_TEST_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PKT_MAX 2048
#define PKT_MAX_VLAN 12
#define PKT_MAX_EXT 48

#define PKT_ETH_ARP 0x0806
#define PKT_ETH_IP 0x0800
#define PKT_ETH_IPV6 0x86dd
#define PKT_ETH_8021Q 0x8100
#define PKT_ETH_8021AD 0x88a8

#define PKT_TCP_FIN 0x01
#define PKT_TCP_SYN 0x02
#define PKT_TCP_RST 0x04
#define PKT_TCP_PSH 0x08
#define PKT_TCP_ACK 0x10

/* One IPv6 extension header. */
struct pkt_ext {
	uint8_t type;		/* 0 hop-by-hop, 43 routing, 44 fragment, 51 AH,
				 * 60 destination options, or any number */
	uint8_t hdrlen;		/* the length field (not for the fragment header) */
	uint16_t frag_off;	/* fragment: offset in 8-byte units */
	bool more;		/* fragment: M flag */
};

enum pkt_layer {
	PKT_NONE = 0,
	PKT_L2,			/* the start of the frame */
	PKT_L3,			/* the IP (or ARP) header */
	PKT_L4,			/* the header after IP and its extensions */
};

struct pkt_spec {
	uint16_t vlan[PKT_MAX_VLAN];	/* TPIDs of the tags, outermost first; 0 ends */
	uint8_t family;		/* 4 or 6; 0: no IP header (see ethertype) */
	uint16_t ethertype;	/* 0: from family */
	const char *src, *dst;	/* addresses as text; NULL: the bytes below */
	uint8_t saddr[16], daddr[16];
	uint8_t ip_opts;	/* IPv4 option bytes, a multiple of 4, <= 40 */
	uint16_t frag_off;	/* IPv4 fragment offset in 8-byte units */
	bool mf;		/* IPv4 more fragments */
	uint32_t ip_id;		/* IPv4 id / IPv6 fragment id; 0: 0x1234 / 0xcafe */
	struct pkt_ext ext[PKT_MAX_EXT];
	uint8_t next;		/* number of IPv6 extension headers */
	uint8_t l4;		/* IPPROTO_* of the upper layer */
	uint16_t sport, dport;
	uint8_t tcp_flags;
	uint8_t tcp_opts;	/* TCP option bytes, a multiple of 4, <= 40 */
	uint16_t payload;	/* bytes after the upper-layer header */

	/* Damage, applied to the built frame; 0 leaves the field alone. */
	uint8_t ip_version;	/* version nibble */
	uint8_t ihl;		/* IPv4 header length field */
	uint16_t tot_len;	/* IPv4 total length */
	uint16_t plen6;		/* IPv6 payload length */
	uint8_t doff;		/* TCP data offset */
	uint16_t pad_to;	/* zero-pad the frame to this length */
	enum pkt_layer cut_layer;	/* cut the frame at this layer's start */
	uint16_t cut_len;	/* ... plus this many bytes */
};

/* Offsets of the layers in a built frame. */
struct pkt_layout {
	size_t l3, l4, end;
};

/* Build the frame into buf (PKT_MAX bytes). Returns its length, -1 when
 * the spec does not fit or an address does not parse. */
int pkt_build(const struct pkt_spec *s, uint8_t *buf, struct pkt_layout *lay);

/* Print a frame as hex to stderr, one line per 16 bytes, "# " first. */
void pkt_hexdump(const uint8_t *buf, size_t len);

#endif /* PORTIER_TEST_PKT_H */
