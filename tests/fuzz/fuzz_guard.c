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
 *     bucket is empty);
 *   - a frame is steered only when the policy passed it: to a CPU of the
 *     narrowest steer rule of its port that has a queue (cpu +1,
 *     XDP_REDIRECT), or, bound to an AF_XDP service with no socket in the
 *     slot, passed as a fallback (fallback +1); at most one of the two.
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

/* udp 3000-3100 to an AF_XDP service on interface 1 (where the frames come
 * in), 3050 on 198.18.0.1 to a kernel-socket one; CPU 1 has a queue, 2 not */
static const struct gm_steer steers[] = {
	{ .proto = PT_TCP, .lo = 80, .hi = 80, .ncpus = 2, .cpus = { 1, 2 } },
	{ .proto = PT_UDP, .lo = 0, .hi = 65535, .ncpus = 1, .cpus = { 1 } },
	{ .proto = PT_UDP, .lo = 53, .hi = 53, .ncpus = 2, .cpus = { 1, 2 } },
};

static const struct gm_bind binds[] = {
	{ .proto = PT_UDP, .lo = 3000, .hi = 3100, .family = GM_FAMILY_ANY, .service = 1,
	  .xsk_ifindex = 1 },
	{ .proto = PT_UDP, .lo = 3050, .hi = 3050, .family = PT_INET, .plen = 32,
	  .addr = { 198, 18, 0, 1 }, .service = 0 },
};

static const uint8_t cpu_ready[PT_MAX_CPUS / 8] = { 0x02 };

static struct gm_model model;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct gm_rules rules = {
		.policies = policies, .npolicies = sizeof(policies) / sizeof(policies[0]),
		.slots = slots, .nslots = sizeof(slots) / sizeof(slots[0]),
		.steers = steers, .nsteers = sizeof(steers) / sizeof(steers[0]),
		.binds = binds, .nbinds = sizeof(binds) / sizeof(binds[0]),
		.cpu_ready = cpu_ready, .ifindex = 1,
	};
	uint64_t steered;
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
	FZ_CHECK(r.verdict == XDP_PASS || r.verdict == XDP_DROP || r.verdict == XDP_REDIRECT,
		 "verdict %u", r.verdict);
	steered = r.slot_delta.xsk + r.slot_delta.cpu + r.slot_delta.fallback;
	FZ_CHECK(steered <= 1, "steered %llu times", (unsigned long long)steered);
	FZ_CHECK(!r.slot_delta.xsk, "to an AF_XDP socket, and none is there");
	FZ_CHECK((r.verdict == XDP_REDIRECT) == (r.slot_delta.cpu == 1),
		 "verdict %u with cpu +%llu", r.verdict, (unsigned long long)r.slot_delta.cpu);
	if (r.slot_delta.cpu) {
		const struct gm_steer *st;
		int listed = 0;

		FZ_CHECK(r.kind == GM_POLICED && r.steer >= 0 && r.cpu == 1,
			 "a %s frame steered by rule %ld to CPU %d", gm_kind_name(r.kind), r.steer,
			 r.cpu);
		st = &steers[r.steer];
		FZ_CHECK(r.proto == st->proto && r.dport >= st->lo && r.dport <= st->hi,
			 "steered by a rule that does not hold the port");
		for (uint16_t i = 0; i < st->ncpus; i++)
			listed |= st->cpus[i] == r.cpu;
		FZ_CHECK(listed, "CPU %d is not in its rule", r.cpu);
		FZ_CHECK(r.cpu == gm_steer_cpu(st, r.proto, r.family, r.saddr, r.daddr, r.sport,
					       r.dport), "the CPU is not the flow's");
	}
	if (r.slot_delta.fallback)
		FZ_CHECK(r.verdict == XDP_PASS && r.bind >= 0 && binds[r.bind].xsk_ifindex,
			 "a fallback with no AF_XDP binding");
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
	/* a dropped or limited frame is never steered */
	FZ_CHECK(!(steered && (r.slot_delta.dropped || r.slot_delta.limited)),
		 "dropped and steered");
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
		 r2.dport == r.dport && r2.cpu == r.cpu && r2.bind == r.bind, "two runs differ");
	free(frame);
	return 0;
}
