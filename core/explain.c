// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * explain: walk one packet through the host, as an expert checks a port.
 *
 *   guard    is the XDP guard attached where the packet arrives?
 *   policy   which rule matches the source and port, what it does
 *   xsk      bound to an AF_XDP service: the guard hands the packet to the
 *            service's AF_XDP socket for its receive queue, or falls back
 *   steer    a steer rule: the CPU the stack processes the packet on
 *   address  is the destination an address of this host at all?
 *   dispatch is the sk_lookup program attached?
 *   binding  which binding wins, and which others it beats (and why)
 *   sockets  the service's live sockets for the packet's family
 *   listener the kernel's own lookup when portier does not steer it
 *   reply    UDP: where the answer leaves from
 *
 * The walk stops at the first step that ends the packet's path; the
 * verdict names it. This is the deciding half, pure code; the facts are
 * gathered by user/explain_gather.c, so the decisions are unit-tested
 * with made-up facts.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "explain.h"
#include "parse.h"
#include "../bpf/hash.bpf.h"	/* the guard's flow hash, for the CPU a flow gets */

/* snprintf, with truncation expected and fine (messages, not data) */
static void set(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

static void xsock_free(struct pt_xsock **v, size_t *n)
{
	free(*v);
	*v = NULL;
	*n = 0;
}

void pt_explain_facts_free(struct pt_explain_facts *f)
{
	xsock_free(&f->svc_socks, &f->nsvc_socks);
	xsock_free(&f->svc_other, &f->nsvc_other);
	xsock_free(&f->kern, &f->nkern);
}

/* ---- deciding ---- */

static void cat(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void cat(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

static struct pt_explain_step *step(struct pt_explain *out, const char *check, const char *result,
				    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static struct pt_explain_step *step(struct pt_explain *out, const char *check, const char *result,
				    const char *fmt, ...)
{
	struct pt_explain_step *s;
	va_list ap;

	if (out->nsteps >= PT_EXPLAIN_MAX_STEPS)
		return &out->steps[PT_EXPLAIN_MAX_STEPS - 1];
	s = &out->steps[out->nsteps++];
	set(s->check, sizeof(s->check), "%s", check);
	set(s->result, sizeof(s->result), "%s", result);
	va_start(ap, fmt);
	vsnprintf(s->detail, sizeof(s->detail), fmt, ap);
	va_end(ap);
	return s;
}

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* A socket's local address as an address of family fam (an IPv4 packet
 * may meet a v4-mapped IPv6 address); false when it cannot be one. */
static bool addr_as(const struct pt_xsock *s, uint8_t fam, uint8_t out[16])
{
	memset(out, 0, 16);
	if (s->family == fam) {
		memcpy(out, s->addr, 16);
		return true;
	}
	if (fam == PT_INET && s->family == PT_INET6 && !memcmp(s->addr, v4mapped, 12)) {
		memcpy(out, s->addr + 12, 4);
		return true;
	}
	return false;
}

static bool is_any(uint8_t fam, const uint8_t a[16])
{
	static const uint8_t zero[16];

	return !memcmp(a, zero, fam == PT_INET ? 4 : 16);
}

static bool is_loopback(uint8_t fam, const uint8_t a[16])
{
	static const uint8_t one6[16] = { [15] = 1 };

	if (fam == PT_INET)
		return a[0] == 127;
	return !memcmp(a, one6, 16) || (!memcmp(a, v4mapped, 12) && a[12] == 127);
}

static bool same_addr(uint8_t fam, const uint8_t a[16], const uint8_t b[16])
{
	return !memcmp(a, b, fam == PT_INET ? 4 : 16);
}

/* "127.0.0.1:3003 LISTEN, pid 123 (socat)" */
static void describe_sock(uint8_t proto, const struct pt_xsock *s, char *buf, size_t len)
{
	char ap[64];

	pt_format_addrport(s->family, s->addr, s->port, ap, sizeof(ap));
	set(buf, len, "%s", ap);
	if (s->state)
		cat(buf, len, " %s", pt_diag_state_name(proto, s->state));
	if (s->family == PT_INET6 && is_any(PT_INET6, s->addr))
		cat(buf, len, s->v6only ? " (IPv6 only)" : " (dual-stack)");
	if (s->ifindex)
		cat(buf, len, " bound to device %s", s->ifname);
	if (s->pid > 0)
		cat(buf, len, ", pid %d%s%s%s", s->pid, s->comm[0] ? " (" : "", s->comm,
		    s->comm[0] ? ")" : "");
	else
		cat(buf, len, ", no process found holding it");
	if (s->reg_pid > 0 && !s->reg_holds)
		cat(buf, len, "; registered by pid %d, which %s", s->reg_pid,
		    s->pid > 0 ? "no longer holds it" : "has exited");
}

/* "127.0.0.1:3003 (pid 123, socat)" */
static void short_sock(const struct pt_xsock *s, char *buf, size_t len)
{
	char ap[64];

	pt_format_addrport(s->family, s->addr, s->port, ap, sizeof(ap));
	if (s->pid > 0)
		set(buf, len, "%s (pid %d%s%s)", ap, s->pid, s->comm[0] ? ", " : "", s->comm);
	else
		set(buf, len, "%s", ap);
}

static void describe_policy(const struct pt_policy *p, char *buf, size_t len)
{
	char ports[16], from[64];

	pt_format_ports(p->lo, p->hi, ports, sizeof(ports));
	pt_format_prefix(&p->from, from, sizeof(from));
	if (p->action == PT_LIMIT)
		set(buf, len, "policy %s %s limit %u from %s", pt_proto_name(p->proto), ports,
			 p->pps, from);
	else
		set(buf, len, "policy %s %s %s from %s", pt_proto_name(p->proto), ports,
			 pt_action_name(p->action), from);
}

static void describe_binding(const struct pt_state *st, const struct pt_binding *b, char *buf,
			     size_t len)
{
	char ports[16], pfx[64];

	set(buf, len, "%s %s %s -> %s", pt_proto_name(b->proto),
		 pt_format_prefix(&b->prefix, pfx, sizeof(pfx)),
		 pt_format_ports(b->lo, b->hi, ports, sizeof(ports)), pt_service_name(st, b->service));
}

/* What an action does to this packet: 0 passes, 1 the path ends here. */
static uint32_t effective(uint8_t proto, ssize_t w, const struct pt_state *st)
{
	uint32_t a = w < 0 ? PT_ALLOW : st->policies[w].action;

	return a == PT_DROP_NEW && proto != PT_TCP ? PT_ALLOW : a;
}

struct walk {
	const struct pt_explain_facts *f;
	struct pt_explain *out;
	char pkt[64];		/* "198.18.0.2:80" */
	char addr[48];		/* "198.18.0.2" */
	char note[256];		/* appended to a delivered verdict */
	char fallthrough[160];	/* why dispatch left the packet to the kernel */
	bool seen;		/* the guard sees the packet */
	bool limited;		/* ... and a rate limit applies to it */
	const struct pt_service *xsk;	/* the binding's service, an AF_XDP one */
};

static void counters_text(const struct pt_explain_facts *f, char *buf, size_t len)
{
	char p[24], d[24], l[24], row[48];

	if (f->cnt_own)
		pt_format_ports(f->cnt_lo, f->cnt_hi, row, sizeof(row));
	else
		set(row, sizeof(row), "%s, the ports not counted one by one",
		    pt_class_name(pt_port_class(f->port)));
	set(buf, len, "%s packets, %s dropped, %s limited so far (counter row %s %s)",
	    pt_format_human(f->cnt.packets, p, sizeof(p)),
	    pt_format_human(f->cnt.dropped, d, sizeof(d)),
	    pt_format_human(f->cnt.limited, l, sizeof(l)), pt_proto_name(f->proto), row);
}

/* The guard: false when the packet's path ends there. */
/* Where is the guard attached, and does it see this packet? One step. */
static bool guard_sees(struct walk *w)
{
	const struct pt_explain_facts *f = w->f;
	char ifs[256] = "";
	bool on_lo = false, via_lo;
	size_t nattached = 0;

	for (size_t i = 0; i < f->nguard; i++) {
		if (!f->guard[i].attached)
			continue;
		cat(ifs, sizeof(ifs), "%s%s (%s)", nattached ? ", " : "", f->guard[i].ifname,
		    pt_xdp_mode_name(f->guard[i].mode));
		on_lo |= !strcmp(f->guard[i].ifname, "lo");
		nattached++;
	}
	via_lo = is_loopback(f->family, f->addr) || f->from_local;
	if (!nattached) {
		step(w->out, "guard", "detached",
		     "the guard is attached to no interface: no policy applies, nothing is counted");
		return false;
	}
	if (via_lo && !on_lo) {
		step(w->out, "guard", "bypassed",
		     "attached to %s, but a packet %s goes through lo, where the guard is not "
		     "attached: no policy applies", ifs,
		     f->from_local ? "from this host" : "to a loopback address");
		return false;
	}
	step(w->out, "guard", "attached",
	     "attached to %s: it sees packets arriving there (others are not policed)", ifs);
	return true;
}

/* Without --from: the policy a source outside every scoped rule meets,
 * the best of the unscoped ones (any, or /0), as an index of st. */
static ssize_t unscoped_winner(const struct pt_explain_facts *f)
{
	const struct pt_state *st = f->st;
	struct pt_state sub = {};
	struct pt_policy *tmp = calloc(st->npolicies ? st->npolicies : 1, sizeof(*tmp));
	ssize_t win;

	for (size_t i = 0; tmp && i < st->npolicies; i++)
		if (st->policies[i].from.family == PT_FAMILY_ANY || st->policies[i].from.plen == 0)
			tmp[sub.npolicies++] = st->policies[i];
	sub.policies = tmp;
	/* out of memory: no unscoped policy can be told, say none */
	win = tmp ? pt_model_policy_lookup(&sub, f->proto, f->family, f->addr, f->port) : -1;
	if (tmp && win >= 0)	/* map back to an index of st */
		win = pt_policy_find(st, tmp[win].proto, tmp[win].lo, tmp[win].hi, &tmp[win].from);
	free(tmp);
	return win;
}

/* Without --from: the scoped rules that give some sources another answer
 * than win's act, written into others. Returns how many. */
static size_t other_sources(const struct pt_explain_facts *f, ssize_t win, uint32_t act,
			    char *others, size_t len)
{
	const struct pt_state *st = f->st;
	ssize_t seen[16];
	size_t nseen = 0, nothers = 0;

	for (size_t i = 0; i < st->npolicies; i++) {
		const struct pt_policy *p = &st->policies[i];
		char pfx[64], desc[160];
		bool dup = false;
		ssize_t o;

		if (p->proto != f->proto || f->port < p->lo || f->port > p->hi ||
		    p->from.family != f->family || p->from.plen == 0)
			continue;
		o = pt_model_policy_lookup(st, f->proto, f->family, p->from.addr, f->port);
		if (o < 0 || o == win)
			continue;
		for (size_t k = 0; k < nseen; k++)
			dup |= seen[k] == o;
		if (dup)
			continue;
		if (nseen < sizeof(seen) / sizeof(seen[0]))
			seen[nseen++] = o;
		if (effective(f->proto, o, st) == act &&
		    (act != PT_LIMIT || st->policies[o].pps == st->policies[win].pps))
			continue;
		describe_policy(&st->policies[o], desc, sizeof(desc));
		cat(others, len, "%sfrom %s: %s (%s)", nothers ? "; " : "",
		    pt_format_prefix(&st->policies[o].from, pfx, sizeof(pfx)),
		    pt_action_name(effective(f->proto, o, st)), desc);
		nothers++;
	}
	return nothers;
}

/* The policy step: what act does to the packet. */
static struct pt_explain_step *policy_step(struct walk *w, uint32_t act, ssize_t win,
					   const char *rule, const char *src, const char *ctr)
{
	const struct pt_state *st = w->f->st;

	switch (act) {
	case PT_DROP:
		return step(w->out, "policy", "drop",
			    "%s%s: every packet is dropped at the driver; %s", rule, src, ctr);
	case PT_DROP_NEW:
		return step(w->out, "policy", "drop-new",
			    "%s%s: new connections (SYN without ACK) are dropped at the driver, "
			    "replies to this host's own connections pass; %s", rule, src, ctr);
	case PT_LIMIT:
		return step(w->out, "policy", "limit",
			    "%s%s: up to %u packets per second per port pass, the rest are "
			    "dropped; %s", rule, src, st->policies[win].pps, ctr);
	default:
		if (win >= 0 && st->policies[win].action == PT_DROP_NEW)
			return step(w->out, "policy", "allow",
				    "%s%s: drop-new stops only TCP connections, so UDP passes; %s",
				    rule, src, ctr);
		return step(w->out, "policy", "allow", "%s%s: allowed%s; %s", rule, src,
			    win < 0 ? " (the default)" : "", ctr);
	}
}

static bool walk_guard(struct walk *w)
{
	const struct pt_explain_facts *f = w->f;
	const struct pt_state *st = f->st;
	char rule[160], counters[160], others[320] = "", l[24];
	struct pt_explain_step *s;
	size_t nothers = 0;
	ssize_t win;
	uint32_t act;

	w->seen = guard_sees(w);
	if (!w->seen)
		return true;
	counters_text(f, counters, sizeof(counters));
	win = f->has_from ? pt_model_policy_lookup(st, f->proto, f->family, f->from, f->port)
			  : unscoped_winner(f);
	act = effective(f->proto, win, st);
	if (win < 0)
		set(rule, sizeof(rule), "no policy matches %s port %u", pt_proto_name(f->proto),
		    f->port);
	else
		describe_policy(&st->policies[win], rule, sizeof(rule));
	if (!f->has_from)
		nothers = other_sources(f, win, act, others, sizeof(others));
	s = policy_step(w, act, win, rule,
			f->has_from ? (win < 0 ? " from this source" : " matches this source") :
			nothers ? (win < 0 ? " for sources outside the scoped rules" :
				     " applies to sources outside the scoped rules") :
			win < 0 ? "" : " applies to every source", counters);
	if ((act == PT_DROP || act == PT_DROP_NEW) && (f->has_steer || w->xsk))
		cat(s->detail, sizeof(s->detail), act == PT_DROP ?
		    "; steering does not apply to dropped packets" :
		    "; steering applies only to the packets that pass");
	if (nothers) {
		cat(s->detail, sizeof(s->detail), ". The answer depends on the source: %s "
		    "(give --from to pick one)", others);
		set(w->note, sizeof(w->note), " (the guard treats some sources otherwise: "
			 "see the policy step)");
	}
	switch (act) {
	case PT_DROP:
		set(w->out->verdict, sizeof(w->out->verdict), "dropped by policy%s", w->note);
		return false;
	case PT_DROP_NEW:
		set(w->out->verdict, sizeof(w->out->verdict), "new connections dropped%s",
			 w->note);
		return false;
	case PT_LIMIT:
		w->limited = true;
		set(w->note, sizeof(w->note), ", rate limited above %u pps (%s limited so far)%s",
			 st->policies[win].pps, pt_format_human(f->cnt.limited, l, sizeof(l)),
			 nothers ? "; other sources are treated otherwise (see the policy step)" : "");
		return true;
	default:
		return true;
	}
}

uint32_t pt_steer_pick(uint8_t proto, const uint8_t saddr[16], const uint8_t daddr[16],
		       uint16_t sport, uint16_t dport, uint32_t n)
{
	uint32_t sw[4], dw[4];

	if (!n)
		return 0;
	/* the guard's words: the addresses' bytes as loaded, proto the index */
	memcpy(sw, saddr, sizeof(sw));
	memcpy(dw, daddr, sizeof(dw));
	return pt_hash_3(sw[0] ^ sw[1] ^ sw[2] ^ sw[3], dw[0] ^ dw[1] ^ dw[2] ^ dw[3] ^ proto,
			 ((uint32_t)sport << 16) | dport) % n;
}

/* The service of the binding the packet meets, when an AF_XDP service. */
static const struct pt_service *xsk_service(const struct pt_explain_facts *f)
{
	ssize_t bi = pt_model_bind_lookup(f->st, f->proto, f->family, f->addr, f->port);
	const struct pt_service *svc;

	if (bi < 0)
		return NULL;
	svc = pt_service_by_id(f->st, f->st->bindings[bi].service);
	return svc && svc->xsk_ifindex ? svc : NULL;
}

static bool guard_on(const struct pt_explain_facts *f, const char *ifname)
{
	for (size_t i = 0; i < f->nguard; i++)
		if (f->guard[i].attached && !strcmp(f->guard[i].ifname, ifname))
			return true;
	return false;
}

/* A CPU list as the steer command takes it: "1,3-5". */
static void format_cpus(const struct pt_xsteer *r, char *buf, size_t len)
{
	buf[0] = 0;
	for (uint32_t i = 0; i < r->ncpus && i < PT_MAX_STEER_CPUS;) {
		uint32_t j = i;

		while (j + 1 < r->ncpus && j + 1 < PT_MAX_STEER_CPUS && r->cpus[j + 1] == r->cpus[j] + 1)
			j++;
		if (j > i)
			cat(buf, len, "%s%u-%u", i ? "," : "", r->cpus[i], r->cpus[j]);
		else
			cat(buf, len, "%s%u", i ? "," : "", r->cpus[i]);
		i = j + 1;
	}
}

/* An AF_XDP service's sockets by queue: "queue 0 (pid 42, xsk-echo)";
 * those whose process is gone apart. Returns the live ones. */
static size_t xsk_queues(const struct pt_explain_facts *f, char *live, size_t llen, char *qs,
			 size_t qlen, char *dead, size_t dlen)
{
	size_t nlive = 0, ndead = 0;

	live[0] = qs[0] = dead[0] = 0;
	for (size_t i = 0; i < f->nxsks; i++) {
		const struct pt_xxsk *x = &f->xsks[i];

		if (!x->alive) {
			cat(dead, dlen, "%squeue %u (registered by pid %d, which has exited)",
			    ndead++ ? ", " : "", x->queue, x->pid);
			continue;
		}
		cat(qs, qlen, "%s%u", nlive ? ", " : "", x->queue);
		if (x->pid > 0)
			cat(live, llen, "%squeue %u (pid %d%s%s)", nlive ? ", " : "", x->queue, x->pid,
			    x->comm[0] ? ", " : "", x->comm);
		else
			cat(live, llen, "%squeue %u", nlive ? ", " : "", x->queue);
		nlive++;
	}
	return nlive;
}

/* Bound to an AF_XDP service: does the guard hand the packet to one of its
 * AF_XDP sockets? False when the path ends there (it does). */
static bool walk_xsk(struct walk *w)
{
	const struct pt_explain_facts *f = w->f;
	struct pt_explain *out = w->out;
	const struct pt_service *svc = w->xsk;
	char live[512], qs[192], dead[256], fb[24], xk[24], ifn[IF_NAMESIZE + 8];
	size_t nlive;

	if (!svc)
		return true;
	snprintf(ifn, sizeof(ifn), "%s", f->xsk_ifname[0] ? f->xsk_ifname : "?");
	pt_format_human(f->cnt.fallback, fb, sizeof(fb));
	pt_format_human(f->cnt.xsk, xk, sizeof(xk));
	nlive = xsk_queues(f, live, sizeof(live), qs, sizeof(qs), dead, sizeof(dead));
	if (!w->seen) {
		step(out, "xsk", "not-steered",
		     "service %s is an AF_XDP service on %s, but the guard does not see this "
		     "packet: it is not steered to an AF_XDP socket and goes to the kernel stack, "
		     "where %s has no kernel socket", svc->name, ifn, svc->name);
		set(w->fallthrough, sizeof(w->fallthrough),
		    "not steered to service '%s''s AF_XDP sockets (no guard sees it)", svc->name);
		return true;
	}
	if (!guard_on(f, ifn)) {
		step(out, "xsk", "fallback",
		     "service %s is an AF_XDP service on %s, where the guard is not attached: "
		     "packets arriving there reach the kernel stack unseen, those arriving where "
		     "the guard is attached fall back to the stack (counted as fallback, %s so far); "
		     "in the stack %s has no kernel socket", svc->name, ifn, fb, svc->name);
		set(w->fallthrough, sizeof(w->fallthrough),
		    "service '%s''s AF_XDP sockets are on %s, where no guard steers to them",
		    svc->name, ifn);
		return true;
	}
	if (!nlive) {
		step(out, "xsk", "none",
		     "service %s is an AF_XDP service on %s but has no AF_XDP socket (%s): every "
		     "packet falls back to the kernel stack (counted as fallback, %s so far), where "
		     "%s has no kernel socket either", svc->name, ifn,
		     dead[0] ? dead : "none was registered", fb, svc->name);
		set(w->fallthrough, sizeof(w->fallthrough), "service '%s' has no AF_XDP socket",
		    svc->name);
		return true;
	}
	step(out, "xsk", "steered",
	     "service %s is an AF_XDP service on %s: after policy, the guard hands each packet "
	     "arriving there to the AF_XDP socket of its receive queue, at the driver: %s (%s "
	     "so far)%s%s; a packet on another queue, or arriving on another interface, falls "
	     "back to the kernel stack (counted as fallback, %s so far), where %s has no kernel "
	     "socket (counted as no_socket)", svc->name, ifn, live, xk, dead[0] ? "; gone: " : "",
	     dead, fb, svc->name);
	set(out->verdict, sizeof(out->verdict),
	    "steered at the driver to service %s's AF_XDP socket%s on %s queue%s %s%s", svc->name,
	    nlive > 1 ? "s" : "", ifn, nlive > 1 ? "s" : "", qs, w->note);
	out->delivered = true;
	return false;
}

/* A steer rule covers the port: which CPU processes the packet. */
static void walk_steer(struct walk *w)
{
	const struct pt_explain_facts *f = w->f;
	const struct pt_xsteer *r = &f->steer;
	char rule[64 + 6 * PT_MAX_STEER_CPUS], cpus[6 * PT_MAX_STEER_CPUS], ports[16], n[24];
	struct pt_explain_step *s;
	uint32_t cpu;

	if (!f->has_steer)
		return;
	format_cpus(r, cpus, sizeof(cpus));
	set(rule, sizeof(rule), "steer %s %s cpus %s", pt_proto_name(f->proto),
	    pt_format_ports(r->lo, r->hi, ports, sizeof(ports)), cpus);
	if (!w->seen) {
		step(w->out, "steer", "not-steered",
		     "%s covers the port, but the guard does not see this packet: the stack "
		     "processes it on the CPU where it arrives", rule);
		return;
	}
	if (w->xsk) {
		step(w->out, "steer", "xsk-first",
		     "%s covers the port, but it is bound to AF_XDP service %s: the guard hands "
		     "its packets to AF_XDP (or, failing that, to the stack) and steers none to a "
		     "CPU", rule, w->xsk->name);
		return;
	}
	pt_format_human(f->cnt.cpu, n, sizeof(n));
	if (r->ncpus == 1) {
		s = step(w->out, "steer", "cpu", "%s: after policy, processed on CPU %u (%s packets "
		     "steered so far)", rule, r->cpus[0], n);
		cat(w->note, sizeof(w->note), ", processed on CPU %u", r->cpus[0]);
	} else if (f->has_from && f->has_from_port) {
		cpu = r->cpus[pt_steer_pick(f->proto, f->from, f->addr, f->from_port, f->port,
					    r->ncpus)];
		s = step(w->out, "steer", "cpu", "%s: after policy, processed on CPU %u (flow hash "
		     "over CPUs %s; %s packets steered so far)", rule, cpu, cpus, n);
		cat(w->note, sizeof(w->note), ", processed on CPU %u", cpu);
	} else {
		s = step(w->out, "steer", "cpu", "%s: after policy, processed on one of CPUs %s, "
		     "picked per flow by a hash of its addresses and ports (%s packets steered so "
		     "far; give --from ADDR:PORT for this flow's CPU)", rule, cpus, n);
		cat(w->note, sizeof(w->note), ", processed on one of CPUs %s", cpus);
	}
	if (w->limited)
		cat(s->detail, sizeof(s->detail), "; packets over the rate limit are dropped "
		    "before, never steered");
}

static bool walk_address(struct walk *w)
{
	const struct pt_explain_facts *f = w->f;

	switch (f->local) {
	case 1:
		step(w->out, "address", "local", "%s is an address of %s", w->addr, f->local_if);
		return true;
	case 2:
		step(w->out, "address", "local",
		     "%s is local through a local route (AnyIP), on no interface", w->addr);
		return true;
	case 0:
		step(w->out, "address", "not-local",
		     "%s is not an address of this host: the packet is routed on or dropped, "
		     "never delivered to a socket here", w->addr);
		set(w->out->verdict, sizeof(w->out->verdict), "%s is not an address of this host",
			 w->addr);
		return false;
	default:
		step(w->out, "address", "unknown", "could not tell whether %s is local: %s", w->addr,
		     strerror(-f->local));
		return true;
	}
}

/* UDP: where does the answer leave from? Appends to the verdict note. */
static void walk_reply(struct walk *w, const struct pt_xsock *socks, size_t n)
{
	const struct pt_explain_facts *f = w->f;
	const struct pt_xsock *bad = NULL;
	size_t nbad = 0;
	bool route = false;

	if (f->proto != PT_UDP || !n)
		return;
	for (size_t i = 0; i < n; i++) {
		const struct pt_xsock *s = &socks[i];
		uint8_t a[16];
		bool mine = addr_as(s, f->family, a);

		if (s->pktinfo == 1)
			continue;
		if (mine && s->port == f->port && same_addr(f->family, a, f->addr))
			continue;
		if (mine && s->port == f->port && is_any(f->family, a)) {
			route = true;
			continue;
		}
		if (!bad)
			bad = s;
		nbad++;
	}
	if (!bad) {
		if (route)
			step(w->out, "reply", "ok",
			     "the socket is bound to the wildcard address on port %u: replies leave "
			     "from port %u with the source address the route picks (normally %s)",
			     f->port, f->port, w->addr);
		else
			step(w->out, "reply", "ok",
			     "replies can leave from %s, where the client sent it (the socket is "
			     "bound there, or answers from the original destination)", w->pkt);
		return;
	}
	char from[64], cnt[48] = "";

	pt_format_addrport(bad->family, bad->addr, bad->port, from, sizeof(from));
	if (n > 1)
		set(cnt, sizeof(cnt), " (%zu of %zu sockets)", nbad, n);
	step(w->out, "reply", bad->pktinfo == 0 ? "wrong-source" : "unknown",
	     "replies %sleave from %s, not from %s%s: the socket %s %s, so a client that "
	     "connected to %s drops the answer; the server should set %s and answer from the "
	     "original destination", bad->pktinfo == 0 ? "" : "probably ", from, w->pkt, cnt,
	     bad->pktinfo == 0 ? "has neither" : "could not be read (no process to take it "
	     "from) to tell whether it has",
	     f->family == PT_INET ? (bad->pktinfo == 0 ? "IP_PKTINFO nor IP_RECVORIGDSTADDR" :
						      "IP_PKTINFO or IP_RECVORIGDSTADDR") :
				    (bad->pktinfo == 0 ? "IPV6_RECVPKTINFO nor IPV6_RECVORIGDSTADDR" :
							 "IPV6_RECVPKTINFO or IPV6_RECVORIGDSTADDR"),
	     w->pkt, f->family == PT_INET ? "IP_PKTINFO" : "IPV6_RECVPKTINFO");
	cat(w->note, sizeof(w->note), ", but its replies leave from %s, not %s", from, w->pkt);
}

/* The kernel's own lookup, when portier does not steer the packet. */
static void walk_kernel(struct walk *w)
{
	const struct pt_explain_facts *f = w->f;
	struct pt_explain *out = w->out;
	const struct pt_xsock *best = NULL;
	int best_rank = 0;	/* 2 exact, 1 wildcard */
	char loop[192] = "", other[192] = "", v6[128] = "", desc[192], verdict[256];
	const char *check = f->proto == PT_TCP ? "listener" : "socket";
	const char *what = f->proto == PT_TCP ? "listens" : "is bound";

	for (size_t i = 0; i < f->nkern; i++) {
		const struct pt_xsock *s = &f->kern[i];
		uint8_t a[16];
		char ap[64];
		int rank = 0;

		if (s->port != f->port)
			continue;
		if (f->proto == PT_TCP && s->state != PT_TCP_LISTEN)
			continue;
		if (f->proto == PT_UDP && s->state != PT_TCP_CLOSE)
			continue;	/* a connected UDP socket takes only its peer */
		pt_format_addrport(s->family, s->addr, s->port, ap, sizeof(ap));
		if (!addr_as(s, f->family, a)) {
			/* an IPv6 socket for an IPv4 packet: only the dual-stack wildcard */
			if (f->family == PT_INET && s->family == PT_INET6 && is_any(PT_INET6, s->addr)) {
				if (!s->v6only) {
					rank = 1;
				} else {
					cat(v6, sizeof(v6), "%s%s", v6[0] ? ", " : "", ap);
					continue;
				}
			} else {
				continue;	/* an IPv4 socket for an IPv6 packet */
			}
		} else if (same_addr(f->family, a, f->addr)) {
			rank = 2;
		} else if (is_any(f->family, a)) {
			rank = 1;
		} else if (is_loopback(f->family, a)) {
			cat(loop, sizeof(loop), "%s%s", loop[0] ? ", " : "", ap);
			continue;
		} else {
			cat(other, sizeof(other), "%s%s", other[0] ? ", " : "", ap);
			continue;
		}
		if (rank > best_rank) {
			best = s;
			best_rank = rank;
		}
	}
	if (best) {
		describe_sock(f->proto, best, desc, sizeof(desc));
		step(out, check, best_rank == 2 ? "exact" : "wildcard",
		     "the kernel's own lookup finds %s%s", desc,
		     best_rank == 1 ? ", on the wildcard address" : "");
		walk_reply(w, best, 1);
		short_sock(best, desc, sizeof(desc));
		set(verdict, sizeof(verdict), "delivered to the %s on %s by the kernel's own "
			 "lookup, not through portier", f->proto == PT_TCP ? "listener" : "socket",
			 desc);
		out->delivered = true;
	} else if (loop[0] && !is_loopback(f->family, f->addr)) {
		step(out, check, "loopback",
		     "listening only on loopback (%s): reachable from this host only, at that "
		     "address, not at %s", loop, w->addr);
		set(verdict, sizeof(verdict),
			 "listening only on loopback: reachable from this host only");
	} else if (v6[0]) {
		step(out, check, "v6only",
		     "listening on %s with IPV6_V6ONLY: it takes IPv6 packets only; an IPv4 "
		     "packet is %s", v6, f->proto == PT_TCP ? "refused (RST)" : "answered with "
		     "ICMP port unreachable");
		set(verdict, sizeof(verdict), "listening on %s, IPv6 only: IPv4 is %s", v6,
			 f->proto == PT_TCP ? "refused" : "answered with ICMP port unreachable");
	} else if (other[0] || loop[0]) {
		step(out, check, "other-address", "%s on %s%s%s, not on %s",
		     f->proto == PT_TCP ? "listening" : "bound", other, other[0] && loop[0] ? ", " : "",
		     loop, w->addr);
		set(verdict, sizeof(verdict), "%s on %s%s%s, not on %s",
			 f->proto == PT_TCP ? "listening" : "bound", other,
			 other[0] && loop[0] ? ", " : "", loop, w->addr);
	} else {
		step(out, check, "none", "nothing %s on %s port %u, at any address: %s", what,
		     pt_proto_name(f->proto), f->port,
		     f->proto == PT_TCP ? "the connection is refused (RST)" :
					  "the host answers ICMP port unreachable");
		set(verdict, sizeof(verdict), "nothing listens: %s",
			 f->proto == PT_TCP ? "the connection is refused" : "ICMP port unreachable");
	}
	set(out->verdict, sizeof(out->verdict), "%s%s%s%s", w->fallthrough,
		 w->fallthrough[0] ? "; " : "", verdict, out->delivered ? w->note : "");
}

/* The receptionist: which binding, which sockets. */
static void walk_dispatch(struct walk *w)
{
	const struct pt_explain_facts *f = w->f;
	const struct pt_state *st = f->st;
	struct pt_explain *out = w->out;
	char desc[256], beats[384] = "", ctr[24];
	const struct pt_service *svc;
	const struct pt_binding *b;
	size_t nbeats = 0;
	ssize_t bi;

	if (!f->dispatch_attached) {
		step(out, "dispatch", "detached",
		     "the sk_lookup program is not attached to this namespace: no binding applies "
		     "('portier load' attaches it)");
		walk_kernel(w);
		return;
	}
	bi = pt_model_bind_lookup(st, f->proto, f->family, f->addr, f->port);
	if (bi < 0) {
		step(out, "binding", "none", "no binding covers %s %s: the kernel's own lookup decides",
		     pt_proto_name(f->proto), w->pkt);
		walk_kernel(w);
		return;
	}
	b = &st->bindings[bi];
	svc = pt_service_by_id(st, b->service);
	/* the other candidates, the runner-up first */
	size_t *cand = calloc(st->nbindings ? st->nbindings : 1, sizeof(*cand)), ncand = 0;

	for (size_t i = 0; cand && i < st->nbindings; i++) {
		const struct pt_binding *o = &st->bindings[i];

		if ((ssize_t)i == bi || o->proto != f->proto || f->port < o->lo || f->port > o->hi ||
		    !pt_prefix_match(&o->prefix, f->family, f->addr))
			continue;
		size_t k = ncand++;

		while (k > 0 && pt_binding_beats(&st->bindings[i], &st->bindings[cand[k - 1]])) {
			cand[k] = cand[k - 1];
			k--;
		}
		cand[k] = i;
	}
	for (size_t c = 0; c < ncand && nbeats < 8; c++) {
		const struct pt_binding *o = &st->bindings[cand[c]];
		char od[160];

		describe_binding(st, o, od, sizeof(od));
		cat(beats, sizeof(beats), "%s%s (%s)", nbeats ? ", " : "", od,
		    (uint32_t)b->hi - b->lo != (uint32_t)o->hi - o->lo ? "narrower range" :
		    b->prefix.plen != o->prefix.plen ? "longer prefix" : "an explicit family beats any");
		nbeats++;
	}
	if (ncand > nbeats)
		cat(beats, sizeof(beats), " and %zu more", ncand - nbeats);
	free(cand);
	describe_binding(st, b, desc, sizeof(desc));
	if (nbeats)
		step(out, "binding", "match", "%s wins; it beats %s", desc, beats);
	else
		step(out, "binding", "match", "%s (the only binding that covers %s)", desc, w->pkt);

	const char *name = svc ? svc->name : "?";
	const char *fam = f->family == PT_INET ? "IPv4" : "IPv6";

	pt_format_human(f->cnt.no_socket, ctr, sizeof(ctr));
	if (f->nsvc_socks) {
		char list[512] = "";
		const struct pt_xsock *s0 = &f->svc_socks[0];

		for (size_t i = 0; i < f->nsvc_socks && i < 4; i++) {
			describe_sock(f->proto, &f->svc_socks[i], desc, sizeof(desc));
			cat(list, sizeof(list), "%s%s", i ? "; " : "", desc);
		}
		if (f->nsvc_socks > 4)
			cat(list, sizeof(list), "; and %zu more", f->nsvc_socks - 4);
		step(out, "sockets", "live", "service %s has %zu live %s socket%s for %s packets: "
		     "%s%s", name, f->nsvc_socks, pt_proto_name(f->proto),
		     f->nsvc_socks == 1 ? "" : "s", fam, list,
		     f->nsvc_socks > 1 ? " (each flow goes to one of them by a hash of its 4-tuple)" : "");
		walk_reply(w, f->svc_socks, f->nsvc_socks);
		short_sock(s0, desc, sizeof(desc));
		if (f->nsvc_socks == 1)
			set(out->verdict, sizeof(out->verdict), "delivered to service '%s' at %s%s",
				 name, desc, w->note);
		else
			set(out->verdict, sizeof(out->verdict),
				 "delivered to service '%s' (one of its %zu sockets)%s", name,
				 f->nsvc_socks, w->note);
		out->delivered = true;
		return;
	}
	if (f->nsvc_other) {
		char list[256] = "";

		for (size_t i = 0; i < f->nsvc_other && i < 4; i++) {
			char ap[64];

			pt_format_addrport(f->svc_other[i].family, f->svc_other[i].addr,
					   f->svc_other[i].port, ap, sizeof(ap));
			cat(list, sizeof(list), "%s%s", i ? ", " : "", ap);
		}
		step(out, "sockets", "family",
		     "service %s has no socket that takes %s packets (its socket%s %s %s %s only): "
		     "the lookup falls through to the kernel, counted as no_socket (%s so far)",
		     name, fam, f->nsvc_other > 1 ? "s" : "", list, f->nsvc_other > 1 ? "are" : "is",
		     f->family == PT_INET ? "IPv6" : "IPv4", ctr);
		set(w->fallthrough, sizeof(w->fallthrough), "service '%s' has no %s socket",
			 name, fam);
	} else if (svc && svc->xsk_ifindex) {
		step(out, "sockets", "xsk-only",
		     "service %s holds AF_XDP sockets only, no kernel socket: the lookup falls "
		     "through to the kernel, counted as no_socket (%s so far)", name, ctr);
		if (!w->fallthrough[0])
			set(w->fallthrough, sizeof(w->fallthrough),
			    "service '%s' has no kernel socket", name);
	} else {
		step(out, "sockets", "none",
		     "service %s has no live %s socket (its process exited, or none was "
		     "registered): the lookup falls through to the kernel, counted as no_socket "
		     "(%s so far)", name, pt_proto_name(f->proto), ctr);
		set(w->fallthrough, sizeof(w->fallthrough), "service '%s' has no live socket",
			 name);
	}
	walk_kernel(w);
}

void pt_explain_decide(const struct pt_explain_facts *f, struct pt_explain *out)
{
	struct walk w = { .f = f, .out = out };

	memset(out, 0, sizeof(*out));
	pt_format_addr(f->family, f->addr, w.addr, sizeof(w.addr));
	pt_format_addrport(f->family, f->addr, f->port, w.pkt, sizeof(w.pkt));

	if (!f->loaded || !f->st) {
		step(out, "portier", "not-loaded",
		     "portier is not loaded in this network namespace: no guard, no bindings; the "
		     "kernel alone decides");
		if (walk_address(&w))
			walk_kernel(&w);
		return;
	}
	w.xsk = xsk_service(f);
	if (!walk_guard(&w))
		return;
	if (!walk_xsk(&w))
		return;
	walk_steer(&w);
	if (!walk_address(&w))
		return;
	walk_dispatch(&w);
}
