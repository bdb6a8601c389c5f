/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Bounded packet parsing for XDP. A cursor walks the frame one header at a
 * time; every helper checks `hdr + 1 > end` before it reads, so the
 * verifier sees each access proven, and returns the next protocol (host
 * order, >= 0) or a negative enum pt_parse_err.
 *
 * Besides the frame end, the cursor carries `left`: how many bytes the
 * current layer still owns. It starts as the frame length; once an IP
 * header is read it becomes what remains of the IP packet (total length or
 * payload length), so Ethernet padding is never taken for a header.
 */
#ifndef PORTIER_PARSING_BPF_H
#define PORTIER_PARSING_BPF_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define PT_VLAN_MAX 2		/* 802.1Q / 802.1ad tags parsed */
#define PT_VLAN_SCAN 8		/* further tags looked through for an IP EtherType */
#define PT_IPV6_EXT_MAX 8	/* IPv6 extension headers followed */

#define PT_IP_OFFSET_MASK 0x1fff	/* IPv4 fragment offset bits */
#define PT_IP_MF 0x2000			/* IPv4 more fragments */
#define PT_IP6_OFFSET_MASK 0xfff8	/* IPv6 fragment offset bits */
#define PT_IP6_MF 0x0001		/* IPv6 M flag */

enum pt_parse_err {
	PT_ERR_MALFORMED = -1,	/* truncated or inconsistent header: the stack drops it */
	PT_ERR_FRAGMENT = -2,	/* a non-first fragment: no L4 header */
	PT_ERR_UNREADABLE = -3,	/* deliverable, but beyond what we parse */
	PT_ERR_CUT = -4,	/* a header ends past the IP packet: malformed,
				 * unless the packet is a first fragment (f->mf),
				 * whose rest is in the next fragment (RFC 1858,
				 * RFC 7112): then unreadable */
};

struct pt_vlan_hdr {
	__be16 tci;
	__be16 proto;		/* encapsulated EtherType */
};

/* The part of an IPv6 extension header that says how to skip it. */
struct pt_ext_hdr {
	__u8 nexthdr;
	__u8 hdrlen;
};

struct pt_frag_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;	/* offset << 3 | M */
	__be32 id;
};

struct pt_cursor {
	void *pos;
	void *end;		/* ctx->data_end */
	__u32 left;		/* bytes the current layer still owns */
};

/* What the guard needs from a TCP or UDP packet. */
struct pt_flow {
	__u8 saddr[16];		/* network order; IPv4 in saddr[0..3] */
	__u16 dport;		/* host order */
	__u16 sport;		/* host order */
	__u8 family;		/* enum pt_family */
	__u8 proto;		/* enum pt_proto */
	__u8 tcp_flags;		/* TCP only: the flags byte */
	/* Fragments only (zero otherwise). Set by arithmetic rather than
	 * by branches where the parser loops, so that the verifier's states
	 * do not split on them. A non-first fragment returns PT_ERR_FRAGMENT;
	 * past that, f->mf says "a first fragment". */
	__u8 mf;		/* more fragments: 0 or 1 */
	__u8 l4;		/* IPv4 protocol / IPv6 fragment header's next header */
	__u16 frag_off;		/* offset in 8-byte units */
	__be32 frag_id;		/* network order */
	__u8 daddr[16];		/* network order; IPv4 in daddr[0..3] */
};

#define PT_TCP_FLAG_SYN 0x02
#define PT_TCP_FLAG_ACK 0x10

/* Move the cursor past len bytes that the layer owns. */
static __always_inline int pt_advance(struct pt_cursor *c, __u32 len)
{
	if (len > c->left)
		return PT_ERR_MALFORMED;
	c->pos += len;
	c->left -= len;
	return 0;
}

static __always_inline int pt_is_vlan(__u16 proto)
{
	return proto == ETH_P_8021Q || proto == ETH_P_8021AD;
}

/* Ethernet and up to PT_VLAN_MAX tags of either kind, in any order.
 * Returns the EtherType behind them. With more tags than we parse, the
 * stack may still strip them (stacked priority tags, VLAN id 0, one after
 * another) and deliver what is behind: up to PT_VLAN_SCAN more are looked
 * through, and an IP EtherType (or yet more tags) behind them makes the
 * frame PT_ERR_UNREADABLE. */
static __always_inline int pt_parse_eth(struct pt_cursor *c)
{
	struct ethhdr *eth = c->pos;
	struct pt_vlan_hdr *vlan;
	__u16 proto;
	int i;

	if ((void *)(eth + 1) > c->end || pt_advance(c, sizeof(*eth)))
		return PT_ERR_MALFORMED;
	proto = bpf_ntohs(eth->h_proto);

#pragma unroll
	for (i = 0; i < PT_VLAN_MAX; i++) {
		if (!pt_is_vlan(proto))
			return proto;
		vlan = c->pos;
		if ((void *)(vlan + 1) > c->end || pt_advance(c, sizeof(*vlan)))
			return PT_ERR_MALFORMED;
		proto = bpf_ntohs(vlan->proto);
	}
	if (!pt_is_vlan(proto))
		return proto;

	/* More tags than we parse: only their EtherTypes, to see what is behind. */
#pragma unroll
	for (i = 0; i < PT_VLAN_SCAN; i++) {
		vlan = c->pos;
		if ((void *)(vlan + 1) > c->end || pt_advance(c, sizeof(*vlan)))
			return PT_ERR_MALFORMED;
		proto = bpf_ntohs(vlan->proto);
		if (!pt_is_vlan(proto))
			break;
	}
	if (proto == ETH_P_IP || proto == ETH_P_IPV6 || pt_is_vlan(proto))
		return PT_ERR_UNREADABLE;
	/* Not IP. A constant, not proto: the verifier then knows the IP
	 * parsers are not reached from here. */
	return 0;
}

/* IPv4 with options. Returns the L4 protocol; the cursor is then bounded
 * by the total length. A fragment fills f's fragment fields; a non-first
 * one returns PT_ERR_FRAGMENT. */
static __always_inline int pt_parse_ipv4(struct pt_cursor *c, struct pt_flow *f)
{
	struct iphdr *iph = c->pos;
	__u32 hdr_len, tot_len, frag;

	if ((void *)(iph + 1) > c->end)
		return PT_ERR_MALFORMED;
	if (iph->version != 4 || iph->ihl < 5)
		return PT_ERR_MALFORMED;
	hdr_len = iph->ihl * 4;
	tot_len = bpf_ntohs(iph->tot_len);
	if (tot_len > c->left || tot_len < hdr_len)
		return PT_ERR_MALFORMED;
	c->left = tot_len;
	if (pt_advance(c, hdr_len))
		return PT_ERR_MALFORMED;

	f->family = PT_INET;
	__builtin_memcpy(f->saddr, &iph->saddr, 4);
	__builtin_memcpy(f->daddr, &iph->daddr, 4);
	frag = bpf_ntohs(iph->frag_off);
	if (!(frag & (PT_IP_OFFSET_MASK | PT_IP_MF)))
		return iph->protocol;
	f->frag_off = frag & PT_IP_OFFSET_MASK;
	f->mf = (frag & PT_IP_MF) >> 13;
	f->l4 = iph->protocol;
	f->frag_id = bpf_htonl(bpf_ntohs(iph->id));
	if (f->frag_off)
		return PT_ERR_FRAGMENT;
	return iph->protocol;
}

/* IPv6 and its extension header chain, at most PT_IPV6_EXT_MAX headers.
 * Returns the upper-layer protocol; the cursor is then bounded by the
 * payload length. A longer chain is PT_ERR_UNREADABLE (the stack follows
 * any length); so is a first fragment whose chain it cuts (RFC 7112). */
static __always_inline int pt_parse_ipv6(struct pt_cursor *c, struct pt_flow *f)
{
	struct ipv6hdr *ip6h = c->pos;
	struct pt_frag_hdr *frag;
	struct pt_ext_hdr *ext;
	__u32 len, fo;
	__u8 next;
	int i;

	if ((void *)(ip6h + 1) > c->end || pt_advance(c, sizeof(*ip6h)))
		return PT_ERR_MALFORMED;
	if (ip6h->version != 6)
		return PT_ERR_MALFORMED;
	len = bpf_ntohs(ip6h->payload_len);
	if (len > c->left)
		return PT_ERR_MALFORMED;
	c->left = len;
	next = ip6h->nexthdr;
	f->family = PT_INET6;
	__builtin_memcpy(f->saddr, &ip6h->saddr, 16);
	__builtin_memcpy(f->daddr, &ip6h->daddr, 16);

	for (i = 0; i < PT_IPV6_EXT_MAX; i++) {
		switch (next) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
			ext = c->pos;
			if ((void *)(ext + 1) > c->end)
				goto cut;
			len = (ext->hdrlen + 1) * 8;
			break;
		case IPPROTO_AH:
			ext = c->pos;
			if ((void *)(ext + 1) > c->end)
				goto cut;
			len = (ext->hdrlen + 2) * 4;
			break;
		case IPPROTO_FRAGMENT:
			frag = c->pos;
			if ((void *)(frag + 1) > c->end || sizeof(*frag) > c->left)
				goto cut;
			/* offset 0 without M: an atomic fragment, a whole packet */
			fo = bpf_ntohs(frag->frag_off);
			f->frag_off = fo >> 3;
			f->mf = fo & PT_IP6_MF;
			f->l4 = frag->nexthdr;
			f->frag_id = frag->id;
			if (f->frag_off)
				return PT_ERR_FRAGMENT;
			ext = c->pos;
			len = sizeof(*frag);
			break;
		default:
			return next;
		}
		next = ext->nexthdr;
		if (pt_advance(c, len))
			goto cut;
	}
	/* More extension headers than we follow: we cannot find the ports,
	 * and the stack, which has no such bound, may deliver the packet. */
	if (next == IPPROTO_HOPOPTS || next == IPPROTO_ROUTING ||
	    next == IPPROTO_DSTOPTS || next == IPPROTO_AH || next == IPPROTO_FRAGMENT)
		return PT_ERR_UNREADABLE;
	return next;
cut:
	/* A header cut by the payload length (or the frame). */
	return PT_ERR_CUT;
}

/* TCP: the whole header, options included. PT_ERR_CUT when the packet
 * ends before it. */
static __always_inline int pt_parse_tcp(struct pt_cursor *c, struct pt_flow *f)
{
	struct tcphdr *th = c->pos;

	if ((void *)(th + 1) > c->end || sizeof(*th) > c->left)
		return PT_ERR_CUT;
	if (th->doff < 5)
		return PT_ERR_MALFORMED;
	if (th->doff * 4 > c->left)
		return PT_ERR_CUT;
	f->proto = PT_TCP;
	f->dport = bpf_ntohs(th->dest);
	f->sport = bpf_ntohs(th->source);
	f->tcp_flags = ((__u8 *)th)[13];
	return 0;
}

static __always_inline int pt_parse_udp(struct pt_cursor *c, struct pt_flow *f)
{
	struct udphdr *uh = c->pos;

	if ((void *)(uh + 1) > c->end || sizeof(*uh) > c->left)
		return PT_ERR_CUT;
	f->proto = PT_UDP;
	f->dport = bpf_ntohs(uh->dest);
	f->sport = bpf_ntohs(uh->source);
	return 0;
}

/* What the common-frame reader finds: enough to judge a port, and where
 * the IP header is, should the port need the addresses. */
struct pt_fast {
	void *l3;		/* the IP header */
	__u16 dport;		/* host order */
	__u16 sport;		/* host order */
	__u8 family;		/* enum pt_family */
	__u8 proto;		/* enum pt_proto */
	__u8 tcp_flags;		/* TCP only */
};

/*
 * The common frame in one pass: Ethernet, at most one VLAN tag, then IPv4
 * without options or fragment bits, or IPv6 with at most one hop-by-hop,
 * routing or destination options header (no fragment header), then the
 * whole UDP or TCP header inside the IP packet. Every test is one the full
 * parser makes too, on the same bounds; the only difference is that
 * anything else (options, fragments, more extension headers, more tags, a
 * bad length or version, another protocol) returns -1 without a verdict,
 * and the full parser then reads the frame from its start and judges it.
 * On 0, h holds what the full parser would have found (pt_fast_flow()
 * turns it into the same struct pt_flow).
 *
 * Why a second reader of the same frame: the full parser carries a cursor
 * and the remaining length through each layer, a loop over extension
 * headers, eight more VLAN tags, the fragment fields and both addresses;
 * for the frame that has none of them that was most of the guard's cost
 * (issue 13). h is meant to stay in registers.
 */
static __always_inline int pt_parse_fast(void *data, void *data_end, struct pt_fast *h)
{
	struct ethhdr *eth = data;
	struct pt_vlan_hdr *vlan;
	struct pt_ext_hdr *ext;
	struct ipv6hdr *ip6h;
	struct iphdr *iph;
	struct tcphdr *th;
	struct udphdr *uh;
	void *l4;
	__u64 left, l4_left, ext_len;
	__u16 proto;
	__u8 ipproto;

	if ((void *)(eth + 1) > data_end)
		return -1;
	left = data_end - data - sizeof(*eth);
	/* ethhdr is packed: one 16-bit load rather than two bytes */
	proto = *(__be16 *)((void *)eth + 12);
	l4 = eth + 1;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		vlan = (void *)(eth + 1);
		if ((void *)(vlan + 1) > data_end)
			return -1;
		proto = vlan->proto;
		left -= sizeof(*vlan);
		l4 = vlan + 1;
	}

	if (proto == bpf_htons(ETH_P_IP)) {
		iph = l4;
		if ((void *)(iph + 1) > data_end)
			return -1;
		/* version 4, no options */
		if (*(__u8 *)iph != 0x45)
			return -1;
		if (iph->frag_off & bpf_htons(PT_IP_OFFSET_MASK | PT_IP_MF))
			return -1;
		l4_left = bpf_ntohs(iph->tot_len);
		if (l4_left > left || l4_left < sizeof(*iph))
			return -1;
		l4_left -= sizeof(*iph);
		ipproto = iph->protocol;
		h->l3 = iph;
		h->family = PT_INET;
		l4 = iph + 1;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		ip6h = l4;
		if ((void *)(ip6h + 1) > data_end)
			return -1;
		if (ip6h->version != 6)
			return -1;
		l4_left = bpf_ntohs(ip6h->payload_len);
		if (l4_left + sizeof(*ip6h) > left)
			return -1;
		ipproto = ip6h->nexthdr;
		h->l3 = ip6h;
		h->family = PT_INET6;
		l4 = ip6h + 1;
		/* one hop-by-hop, routing or destination options header */
		if (ipproto == IPPROTO_HOPOPTS || ipproto == IPPROTO_ROUTING ||
		    ipproto == IPPROTO_DSTOPTS) {
			ext = l4;
			if ((void *)(ext + 1) > data_end)
				return -1;
			ext_len = (ext->hdrlen + 1) * 8;
			if (ext_len > l4_left)
				return -1;
			ipproto = ext->nexthdr;
			l4 += ext_len;
			l4_left -= ext_len;
		}
	} else {
		return -1;
	}

	if (ipproto == IPPROTO_UDP) {
		uh = l4;
		if ((void *)(uh + 1) > data_end || l4_left < sizeof(*uh))
			return -1;
		h->proto = PT_UDP;
		h->dport = bpf_ntohs(uh->dest);
		h->sport = bpf_ntohs(uh->source);
		h->tcp_flags = 0;
	} else if (ipproto == IPPROTO_TCP) {
		th = l4;
		if ((void *)(th + 1) > data_end || l4_left < sizeof(*th))
			return -1;
		if (th->doff < 5 || th->doff * 4 > l4_left)
			return -1;
		h->proto = PT_TCP;
		h->dport = bpf_ntohs(th->dest);
		h->sport = bpf_ntohs(th->source);
		h->tcp_flags = ((__u8 *)th)[13];
	} else {
		return -1;
	}
	return 0;
}

/* The source address of h's frame into s, and, when d is not NULL, its
 * destination into d: 4 bytes for IPv4, 16 for IPv6, network order.
 * Returns -1 when the IP header is past data_end, which pt_parse_fast has
 * already ruled out: the test is the verifier's. The one reader of a fast
 * frame's addresses, for the source rules and for the flow. */
static __always_inline int pt_fast_addrs(const struct pt_fast *h, void *data_end, void *s,
					 void *d)
{
	struct ipv6hdr *ip6h = h->l3;
	struct iphdr *iph = h->l3;

	if (h->family == PT_INET) {
		if ((void *)(iph + 1) > data_end)
			return -1;
		__builtin_memcpy(s, &iph->saddr, 4);
		if (d)
			__builtin_memcpy(d, &iph->daddr, 4);
		return 0;
	}
	if ((void *)(ip6h + 1) > data_end)
		return -1;
	__builtin_memcpy(s, &ip6h->saddr, 16);
	if (d)
		__builtin_memcpy(d, &ip6h->daddr, 16);
	return 0;
}

/* The struct pt_flow the full parser would have filled for h's frame (f is
 * zeroed: a whole packet has no fragment fields). */
static __always_inline void pt_fast_flow(const struct pt_fast *h, void *data_end,
					 struct pt_flow *f)
{
	f->family = h->family;
	f->proto = h->proto;
	f->dport = h->dport;
	f->sport = h->sport;
	f->tcp_flags = h->tcp_flags;
	pt_fast_addrs(h, data_end, f->saddr, f->daddr);
}

#endif /* PORTIER_PARSING_BPF_H */
