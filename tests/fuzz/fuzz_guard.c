// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target: the reference model of the guard's parser and policy
 * (tests/bpf/guard_model.c) on arbitrary frames. It must not read out of
 * bounds, and what it says must be self-consistent:
 *   - malformed, fragment and other frames pass and move exactly their
 *     one global counter;
 *   - a policed frame moves its slot's packets by one and bytes by the
 *     frame length, in a slot that exists, and is dropped only by a rule
 *     that drops (drop; drop-new on a TCP SYN without ACK; limit when the
 *     bucket is empty).
 * The model is what tests/bpf compares the BPF program to, so a model
 * that misparses would hide a program that misparses the same way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>
#include "fuzz_common.h"
#include "guard_model.h"

static const struct gm_policy policies[] = {
	{ .proto = PT_TCP, .lo = 22, .hi = 22, .family = GM_FAMILY_ANY, .action = PT_DROP, .rule = 1 },
	{ .proto = PT_TCP, .lo = 80, .hi = 80, .family = GM_FAMILY_ANY, .action = PT_DROP_NEW,
	  .rule = 2 },
	{ .proto = PT_UDP, .lo = 53, .hi = 53, .family = GM_FAMILY_ANY, .action = PT_LIMIT, .pps = 2,
	  .rule = 3 },
	{ .proto = PT_TCP, .lo = 0, .hi = 65535, .family = PT_INET, .plen = 15,
	  .addr = { 198, 18 }, .action = PT_ALLOW, .rule = 4 },
	{ .proto = PT_UDP, .lo = 1000, .hi = 2000, .family = PT_INET6, .plen = 32,
	  .addr = { 0x20, 0x01, 0x0d, 0xb8 }, .action = PT_DROP, .rule = 5 },
};

static const struct gm_slot slots[] = {
	{ .proto = PT_TCP, .lo = 22, .hi = 22, .slot = 6 },
	{ .proto = PT_TCP, .lo = 80, .hi = 80, .slot = 7 },
	{ .proto = PT_UDP, .lo = 53, .hi = 53, .slot = 8 },
	{ .proto = PT_UDP, .lo = 1000, .hi = 2000, .slot = 9 },
};

static struct gm_model model;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct gm_rules rules = {
		.policies = policies, .npolicies = sizeof(policies) / sizeof(policies[0]),
		.slots = slots, .nslots = sizeof(slots) / sizeof(slots[0]),
	};
	struct gm_result r, r2;
	uint8_t *frame;
	uint64_t globals;

	/* an exact-size copy, so ASan sees any read past the frame */
	frame = malloc(size ? size : 1);
	if (!frame)
		return 0;
	memcpy(frame, data, size);
	gm_init(&model, &rules);
	gm_run(&model, frame, size, &r);
	FZ_CHECK(r.verdict == XDP_PASS || r.verdict == XDP_DROP, "verdict %u", r.verdict);
	/* with no rules the guard changes nothing: every frame passes */
	{
		const struct gm_rules none = { 0 };

		gm_init(&model, &none);
		gm_run(&model, frame, size, &r2);
		FZ_CHECK(r2.verdict == XDP_PASS && r2.kind == r.kind, "no rules: %s %s",
			 gm_kind_name(r2.kind), r2.verdict == XDP_DROP ? "dropped" : "passed");
	}
	globals = r.global_delta.malformed + r.global_delta.fragments + r.global_delta.other +
		  r.global_delta.unreadable;
	/* one frame on a fresh model: no first fragment is known */
	FZ_CHECK(r.kind != GM_FRAG_PORT, "a later fragment of an unknown datagram attributed");
	if (r.kind != GM_POLICED) {
		/* unreadable frames are dropped: these rules are not all allow */
		FZ_CHECK(r.verdict == (r.kind == GM_UNREADABLE ? XDP_DROP : XDP_PASS),
			 "a %s frame %s", gm_kind_name(r.kind),
			 r.verdict == XDP_DROP ? "dropped" : "passed");
		FZ_CHECK(globals == 1, "a %s frame moved %llu global counters", gm_kind_name(r.kind),
			 (unsigned long long)globals);
		FZ_CHECK(!r.slot_delta.packets && !r.slot_delta.bytes, "a %s frame counted in a slot",
			 gm_kind_name(r.kind));
		free(frame);
		return 0;
	}
	FZ_CHECK(globals == 0, "a policed frame moved a global counter");
	FZ_CHECK(r.proto < PT_NPROTO && (r.family == PT_INET || r.family == PT_INET6),
		 "proto %u family %u", r.proto, r.family);
	FZ_CHECK(size >= 14 + (r.family == PT_INET ? 20 : 40) + (r.proto == PT_TCP ? 20 : 8),
		 "a %zu-byte frame cannot hold %s over IPv%d", size, r.proto == PT_TCP ? "TCP" : "UDP",
		 r.family == PT_INET ? 4 : 6);
	FZ_CHECK(r.slot < PT_MAX_SLOTS, "slot %u", r.slot);
	FZ_CHECK(r.slot_delta.packets == 1 && r.slot_delta.bytes == size,
		 "counted %llu packets, %llu bytes", (unsigned long long)r.slot_delta.packets,
		 (unsigned long long)r.slot_delta.bytes);
	FZ_CHECK(r.policy == gm_policy_lookup(&rules, r.proto, r.family, r.saddr, r.dport),
		 "policy %ld is not the lookup's", r.policy);
	if (r.verdict == XDP_DROP) {
		const struct gm_policy *p;

		FZ_CHECK(r.policy >= 0, "dropped with no policy");
		p = &policies[r.policy];
		FZ_CHECK(p->action == PT_DROP || p->action == PT_LIMIT ||
			 (p->action == PT_DROP_NEW && r.proto == PT_TCP &&
			  (r.tcp_flags & 0x12) == 0x02),
			 "dropped by a %u rule (flags %#x)", p->action, r.tcp_flags);
		FZ_CHECK(r.slot_delta.dropped + r.slot_delta.limited == 1, "a drop not counted once");
	} else {
		FZ_CHECK(!r.slot_delta.dropped && !r.slot_delta.limited, "a pass counted as a drop");
	}
	/* deterministic: the same frame on a fresh model gives the same answer */
	gm_init(&model, &rules);
	gm_run(&model, frame, size, &r2);
	FZ_CHECK(r2.verdict == r.verdict && r2.kind == r.kind && r2.slot == r.slot &&
		 r2.dport == r.dport, "two runs differ");
	free(frame);
	return 0;
}
