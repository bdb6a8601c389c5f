// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Raw frame builder for the BPF tests: see pkt.h. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include "pkt.h"

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

static size_t ext_len(const struct pkt_ext *e)
{
	switch (e->type) {
	case IPPROTO_FRAGMENT:
		return 8;
	case IPPROTO_AH:
		return ((size_t)e->hdrlen + 2) * 4;
	default:
		return ((size_t)e->hdrlen + 1) * 8;
	}
}

static size_t l4_hdr_len(const struct pkt_spec *s)
{
	switch (s->l4) {
	case IPPROTO_TCP:
		return 20 + s->tcp_opts;
	case IPPROTO_UDP:
		return 8;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return 8;
	default:
		return 0;
	}
}

static int addr_of(const char *text, const uint8_t bytes[16], int family, uint8_t out[16])
{
	memset(out, 0, 16);
	if (!text) {
		memcpy(out, bytes, family == 4 ? 4 : 16);
		return 0;
	}
	return inet_pton(family == 4 ? AF_INET : AF_INET6, text, out) == 1 ? 0 : -1;
}

static void build_l4(const struct pkt_spec *s, uint8_t *p, size_t payload)
{
	size_t i, hl = l4_hdr_len(s);

	switch (s->l4) {
	case IPPROTO_TCP:
		put16(p, s->sport);
		put16(p + 2, s->dport);
		put32(p + 4, 0x01020304);		/* seq */
		put32(p + 8, (s->tcp_flags & PKT_TCP_ACK) ? 0x0a0b0c0d : 0);
		p[12] = (uint8_t)((hl / 4) << 4);
		p[13] = s->tcp_flags;
		put16(p + 14, 65535);			/* window */
		memset(p + 20, 1, s->tcp_opts);		/* NOP options */
		break;
	case IPPROTO_UDP:
		put16(p, s->sport);
		put16(p + 2, s->dport);
		put16(p + 4, (uint16_t)(8 + payload));
		break;
	case IPPROTO_ICMP:
		p[0] = 8;				/* echo request */
		break;
	case IPPROTO_ICMPV6:
		p[0] = 128;				/* echo request */
		break;
	}
	for (i = 0; i < payload; i++)
		p[hl + i] = (uint8_t)(0xa0 + i);
}

int pkt_build(const struct pkt_spec *s, uint8_t *buf, struct pkt_layout *lay)
{
	size_t off = 0, l3, l4, hl, i, len;
	uint16_t ethertype = s->ethertype;
	uint8_t src[16], dst[16];

	memset(buf, 0, PKT_MAX);
	if (!ethertype)
		ethertype = s->family == 4 ? PKT_ETH_IP : s->family == 6 ? PKT_ETH_IPV6 : PKT_ETH_ARP;

	/* Ethernet: locally administered MACs. */
	memcpy(buf, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	off = 12;
	for (i = 0; i < PKT_MAX_VLAN && s->vlan[i]; i++) {
		put16(buf + off, s->vlan[i]);
		put16(buf + off + 2, (uint16_t)(100 + i));	/* VLAN id */
		off += 4;
	}
	put16(buf + off, ethertype);
	off += 2;
	l3 = off;

	if (s->family == 4) {
		size_t ihl = 20 + s->ip_opts;

		if (addr_of(s->src, s->saddr, 4, src) || addr_of(s->dst, s->daddr, 4, dst))
			return -1;
		hl = l4_hdr_len(s);
		len = ihl + hl + s->payload;
		if (l3 + len > PKT_MAX || s->ip_opts > 40)
			return -1;
		buf[l3] = (uint8_t)(0x40 | (ihl / 4));
		put16(buf + l3 + 2, (uint16_t)len);
		put16(buf + l3 + 4, (uint16_t)(s->ip_id ? s->ip_id : 0x1234));	/* id */
		put16(buf + l3 + 6, (uint16_t)((s->mf ? 0x2000 : 0) | (s->frag_off & 0x1fff)));
		buf[l3 + 8] = 64;					/* ttl */
		buf[l3 + 9] = s->l4;
		memcpy(buf + l3 + 12, src, 4);
		memcpy(buf + l3 + 16, dst, 4);
		for (i = 20; i < ihl; i++)
			buf[l3 + i] = 1;				/* NOP options */
		l4 = l3 + ihl;
		build_l4(s, buf + l4, s->payload);
		off = l3 + len;
	} else if (s->family == 6) {
		size_t exts = 0;

		if (addr_of(s->src, s->saddr, 6, src) || addr_of(s->dst, s->daddr, 6, dst))
			return -1;
		for (i = 0; i < s->next && i < PKT_MAX_EXT; i++)
			exts += ext_len(&s->ext[i]);
		hl = l4_hdr_len(s);
		len = exts + hl + s->payload;
		if (l3 + 40 + len > PKT_MAX)
			return -1;
		buf[l3] = 0x60;
		put16(buf + l3 + 4, (uint16_t)len);
		buf[l3 + 6] = s->next ? s->ext[0].type : s->l4;
		buf[l3 + 7] = 64;					/* hop limit */
		memcpy(buf + l3 + 8, src, 16);
		memcpy(buf + l3 + 24, dst, 16);
		off = l3 + 40;
		for (i = 0; i < s->next && i < PKT_MAX_EXT; i++) {
			const struct pkt_ext *e = &s->ext[i];

			buf[off] = i + 1 < s->next ? s->ext[i + 1].type : s->l4;
			if (e->type == IPPROTO_FRAGMENT) {
				put16(buf + off + 2, (uint16_t)((e->frag_off << 3) | (e->more ? 1 : 0)));
				put32(buf + off + 4, s->ip_id ? s->ip_id : 0xcafe);
			} else {
				buf[off + 1] = e->hdrlen;
			}
			off += ext_len(e);
		}
		l4 = off;
		build_l4(s, buf + l4, s->payload);
		off = l4 + hl + s->payload;
	} else {
		/* Non-IP: an ARP request's worth of bytes, or the payload. */
		len = s->payload ? s->payload : 28;
		if (l3 + len > PKT_MAX)
			return -1;
		if (ethertype == PKT_ETH_ARP) {
			put16(buf + l3, 1);
			put16(buf + l3 + 2, PKT_ETH_IP);
			buf[l3 + 4] = 6;
			buf[l3 + 5] = 4;
			put16(buf + l3 + 6, 1);
		}
		l4 = l3;
		off = l3 + len;
	}

	/* Damage. */
	if (s->ip_version)
		buf[l3] = (uint8_t)((s->ip_version << 4) | (buf[l3] & 0x0f));
	if (s->family == 4 && s->ihl)
		buf[l3] = (uint8_t)((buf[l3] & 0xf0) | (s->ihl & 0x0f));
	if (s->family == 4 && s->tot_len)
		put16(buf + l3 + 2, s->tot_len);
	if (s->family == 6 && s->plen6)
		put16(buf + l3 + 4, s->plen6);
	if (s->l4 == IPPROTO_TCP && s->doff)
		buf[l4 + 12] = (uint8_t)((s->doff << 4) | (buf[l4 + 12] & 0x0f));
	if (s->pad_to > off && s->pad_to <= PKT_MAX)
		off = s->pad_to;
	if (s->cut_layer) {
		size_t at = s->cut_layer == PKT_L2 ? 0 : s->cut_layer == PKT_L3 ? l3 : l4;

		if (at + s->cut_len < off)
			off = at + s->cut_len;
	}
	if (lay) {
		lay->l3 = l3;
		lay->l4 = l4;
		lay->end = off;
	}
	return (int)off;
}

void pkt_hexdump(const uint8_t *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (i % 16 == 0)
			fprintf(stderr, "# %04zx:", i);
		fprintf(stderr, " %02x", buf[i]);
		if (i % 16 == 15 || i + 1 == len)
			fprintf(stderr, "\n");
	}
}
