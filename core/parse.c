// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "parse.h"

char pt_why[160];

static int why(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int why(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(pt_why, sizeof(pt_why), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

void pt_escape(char *buf, size_t len)
{
	char out[1024];
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)buf; *p && o + 5 < sizeof(out); p++) {
		if (*p >= 0x20 && *p < 0x7f) {
			out[o++] = (char)*p;
			continue;
		}
		o += (size_t)snprintf(out + o, sizeof(out) - o, "\\x%02x", *p);
	}
	out[o] = 0;
	snprintf(buf, len, "%s", out);
}

int pt_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s)
		return why("empty number");
	for (const char *p = s; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return why("'%s' is not a decimal number", s);
		uint64_t d = (uint64_t)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return why("%s is out of range 0-%llu", s, (unsigned long long)max);
		v = v * 10 + d;
	}
	if (v > max)
		return why("%s is out of range 0-%llu", s, (unsigned long long)max);
	*out = v;
	return 0;
}

static int cmp_u16(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

int pt_parse_cpus(const char *s, uint16_t cpus[PT_MAX_STEER_CPUS], uint16_t *n)
{
	uint16_t got[PT_MAX_STEER_CPUS];
	size_t k = 0;
	const char *p = s;

	if (!s || !*s)
		return why("empty CPU list");
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char item[16], *dash;
		uint64_t a = 0, b = 0;

		if (!len || len >= sizeof(item))
			return why("'%s' is not a CPU list like 1,3-5", s);
		memcpy(item, p, len);
		item[len] = 0;
		dash = strchr(item, '-');
		if (dash)
			*dash = 0;
		if (pt_parse_uint(item, PT_MAX_CPUS - 1, &a) ||
		    (dash && pt_parse_uint(dash + 1, PT_MAX_CPUS - 1, &b)))
			return why("'%s' is not a CPU list like 1,3-5 (CPUs 0-%d)", s,
				   PT_MAX_CPUS - 1);
		if (!dash)
			b = a;
		if (a > b)
			return why("CPU range %llu-%llu has LO > HI", (unsigned long long)a,
				   (unsigned long long)b);
		if (b - a + 1 > PT_MAX_STEER_CPUS - k)
			return why("more than %d CPUs in '%s'", PT_MAX_STEER_CPUS, s);
		for (uint64_t c = a; c <= b; c++)
			got[k++] = (uint16_t)c;
		p += len;
		if (comma) {
			p++;
			if (!*p)
				return why("'%s' is not a CPU list like 1,3-5", s);
		}
	}
	qsort(got, k, sizeof(got[0]), cmp_u16);
	for (size_t i = 1; i < k; i++)
		if (got[i] == got[i - 1])
			return why("CPU %u is listed twice in '%s'", got[i], s);
	memcpy(cpus, got, k * sizeof(got[0]));
	*n = (uint16_t)k;
	return 0;
}

char *pt_format_cpus(const uint16_t *cpus, uint16_t n, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = 0;
	for (uint16_t i = 0; i < n && o < len; i++) {
		uint16_t j = i;

		while (j + 1 < n && cpus[j + 1] == cpus[j] + 1)
			j++;
		if (j > i)
			o += (size_t)snprintf(buf + o, len - o, "%s%u-%u", i ? "," : "", cpus[i],
					      cpus[j]);
		else
			o += (size_t)snprintf(buf + o, len - o, "%s%u", i ? "," : "", cpus[i]);
		i = j;
	}
	return buf;
}

int pt_parse_proto(const char *s, uint8_t *proto)
{
	if (s && !strcmp(s, "tcp")) {
		*proto = PT_TCP;
		return 0;
	}
	if (s && !strcmp(s, "udp")) {
		*proto = PT_UDP;
		return 0;
	}
	return why("'%s' is not a protocol (tcp or udp)", s ? s : "");
}

int pt_parse_port(const char *s, uint16_t *port)
{
	uint64_t v = 0;

	if (!s || !*s)
		return why("empty port");
	if (pt_parse_uint(s, 65535, &v))
		return why("port '%s' is not a number from 0 to 65535", s);
	*port = (uint16_t)v;
	return 0;
}

int pt_parse_ports(const char *s, uint16_t *lo, uint16_t *hi)
{
	char buf[16];
	const char *dash;
	uint16_t a = 0, b = 0;

	if (!s || !*s)
		return why("empty port range");
	dash = strchr(s, '-');
	if (!dash) {
		if (pt_parse_port(s, &a))
			return -EINVAL;
		*lo = *hi = a;
		return 0;
	}
	if ((size_t)(dash - s) >= sizeof(buf) || dash == s || !dash[1])
		return why("'%s' is not N or LO-HI", s);
	memcpy(buf, s, (size_t)(dash - s));
	buf[dash - s] = 0;
	if (pt_parse_port(buf, &a) || pt_parse_port(dash + 1, &b))
		return why("'%s' is not N or LO-HI with ports from 0 to 65535", s);
	if (a > b)
		return why("range %u-%u has LO > HI", a, b);
	*lo = a;
	*hi = b;
	return 0;
}

int pt_parse_addr(const char *s, uint8_t *family, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (!s || !*s)
		return why("empty address");
	if (strchr(s, ':')) {
		if (inet_pton(AF_INET6, s, addr) != 1)
			return why("'%s' is not an IPv6 address", s);
		*family = PT_INET6;
		return 0;
	}
	if (inet_pton(AF_INET, s, addr) != 1)
		return why("'%s' is not an IPv4 address", s);
	*family = PT_INET;
	return 0;
}

int pt_parse_prefix(const char *s, struct pt_prefix *p)
{
	char buf[INET6_ADDRSTRLEN + 8];
	char *slash;
	uint64_t plen;
	unsigned int max;

	memset(p, 0, sizeof(*p));
	if (!s || !*s)
		return why("empty prefix");
	if (!strcmp(s, "any")) {
		p->family = PT_FAMILY_ANY;
		return 0;
	}
	if (strlen(s) >= sizeof(buf))
		return why("'%s' is not a prefix", s);
	memcpy(buf, s, strlen(s) + 1);
	slash = strchr(buf, '/');
	if (slash)
		*slash = 0;
	if (pt_parse_addr(buf, &p->family, p->addr))
		return why("'%s' is not an IPv4 or IPv6 prefix (ADDR/LEN or any)", s);
	max = p->family == PT_INET ? 32 : 128;
	plen = max;
	if (slash && pt_parse_uint(slash + 1, max, &plen))
		return why("prefix length in '%s' is not a number from 0 to %u", s, max);
	p->plen = (uint8_t)plen;
	/* host bits must be zero: a typo should not silently widen a rule */
	for (unsigned int bit = p->plen; bit < max; bit++)
		if (p->addr[bit / 8] & (0x80 >> (bit % 8))) {
			struct pt_prefix m = *p;
			char net[INET6_ADDRSTRLEN + 8];

			for (unsigned int b2 = p->plen; b2 < max; b2++)
				m.addr[b2 / 8] &= (uint8_t)~(0x80 >> (b2 % 8));
			return why("'%s' has host bits set (did you mean %s?)", s,
				   pt_format_prefix(&m, net, sizeof(net)));
		}
	return 0;
}

int pt_parse_addrport(const char *s, uint8_t *family, uint8_t addr[16], uint16_t *port,
		      bool port_optional, bool *has_port)
{
	char buf[INET6_ADDRSTRLEN + 16];
	char *host = buf, *colon = NULL;

	if (has_port)
		*has_port = false;
	if (!s || !*s || strlen(s) >= sizeof(buf))
		return why("'%s' is not ADDR:PORT", s ? s : "");
	memcpy(buf, s, strlen(s) + 1);
	if (buf[0] == '[') {
		char *close = strchr(buf, ']');

		if (!close)
			return why("'%s' is not [IPV6]:PORT", s);
		*close = 0;
		host = buf + 1;
		if (close[1] == ':')
			colon = close + 1;
		else if (close[1])
			return why("'%s' is not [IPV6]:PORT", s);
	} else {
		colon = strrchr(buf, ':');
		/* a bare IPv6 address has several colons and no brackets */
		if (colon && strchr(buf, ':') != colon)
			colon = NULL;
	}
	if (colon) {
		*colon = 0;
		if (pt_parse_port(colon + 1, port))
			return -EINVAL;
		if (has_port)
			*has_port = true;
	} else if (!port_optional) {
		return why("'%s' has no port (ADDR:PORT, or [IPV6]:PORT)", s);
	}
	if (pt_parse_addr(host, family, addr))
		return -EINVAL;
	return 0;
}

int pt_parse_name(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (s && pt_name_valid(s))
		return 0;
	if (n < 1 || n > PT_NAME_LEN - 1)
		return why("service names are 1-%d characters of [a-z0-9_.-]", PT_NAME_LEN - 1);
	return why("'%s' has '%c': service names are [a-z0-9_.-]", s, s[strspn(s, PT_NAME_CHARS)]);
}

static const char *const action_names[] = {
	[PT_ALLOW] = "allow", [PT_DROP] = "drop", [PT_DROP_NEW] = "drop-new", [PT_LIMIT] = "limit",
};

int pt_parse_action(const char *s, uint32_t *action)
{
	for (uint32_t i = 0; i < sizeof(action_names) / sizeof(action_names[0]); i++)
		if (s && !strcmp(s, action_names[i])) {
			*action = i;
			return 0;
		}
	return why("'%s' is not an action (allow, drop, drop-new, limit PPS)", s ? s : "");
}

const char *pt_action_name(uint32_t action)
{
	return action <= PT_LIMIT ? action_names[action] : "?";
}

const char *pt_proto_name(uint8_t proto)
{
	return proto == PT_TCP ? "tcp" : proto == PT_UDP ? "udp" : "?";
}

const char *pt_class_name(enum pt_class c)
{
	switch (c) {
	case PT_CLASS_WELL_KNOWN: return "well-known";
	case PT_CLASS_REGISTERED: return "registered";
	case PT_CLASS_EPHEMERAL: return "ephemeral";
	default: return "?";
	}
}

const char *pt_xdp_mode_name(uint32_t mode)
{
	return mode == PT_XDP_NATIVE ? "native" : mode == PT_XDP_SKB ? "skb" : "?";
}

const char *pt_diag_state_name(uint8_t proto, uint8_t state)
{
	static const char *const tcp[] = {
		[1] = "ESTAB", [2] = "SYN-SENT", [3] = "SYN-RECV", [4] = "FIN-WAIT-1",
		[5] = "FIN-WAIT-2", [6] = "TIME-WAIT", [7] = "CLOSE", [8] = "CLOSE-WAIT",
		[9] = "LAST-ACK", [10] = "LISTEN", [11] = "CLOSING",
	};

	if (proto == PT_UDP)
		return state == PT_TCP_CLOSE ? "UNCONN" : state == PT_TCP_ESTABLISHED ? "ESTAB" : "?";
	if (state < sizeof(tcp) / sizeof(tcp[0]) && tcp[state])
		return tcp[state];
	return "?";
}

char *pt_format_addr(uint8_t family, const uint8_t addr[16], char *buf, size_t len)
{
	if (!inet_ntop(family == PT_INET ? AF_INET : AF_INET6, addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

/* v in decimal at p; returns the end. A dump of a million bindings
 * formats three million numbers: without printf's machinery. */
static char *put_dec(char *p, unsigned int v)
{
	char t[10];
	int n = 0;

	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = t[--n];
	return p;
}

char *pt_format_prefix(const struct pt_prefix *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (p->family == PT_FAMILY_ANY) {
		snprintf(buf, len, "any");
		return buf;
	}
	if (p->family == PT_INET && len >= sizeof("255.255.255.255/32")) {
		char *e = buf;

		for (int i = 0; i < 4; i++) {
			e = put_dec(e, p->addr[i]);
			*e++ = i < 3 ? '.' : '/';
		}
		*put_dec(e, p->plen) = 0;
		return buf;
	}
	snprintf(buf, len, "%s/%u", pt_format_addr(p->family, p->addr, a, sizeof(a)), p->plen);
	return buf;
}

char *pt_format_ports(uint16_t lo, uint16_t hi, char *buf, size_t len)
{
	char *e;

	if (len < sizeof("65535-65535")) {
		snprintf(buf, len, lo == hi ? "%u" : "%u-%u", lo, hi);
		return buf;
	}
	e = put_dec(buf, lo);
	if (lo != hi) {
		*e++ = '-';
		e = put_dec(e, hi);
	}
	*e = 0;
	return buf;
}

char *pt_format_addrport(uint8_t family, const uint8_t addr[16], uint16_t port,
			 char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	pt_format_addr(family, addr, a, sizeof(a));
	if (family == PT_INET6)
		snprintf(buf, len, "[%s]:%u", a, port);
	else
		snprintf(buf, len, "%s:%u", a, port);
	return buf;
}

char *pt_format_human(uint64_t v, char *buf, size_t len)
{
	static const char units[] = "kMGTPE";
	int u;

	if (v < 1000) {
		snprintf(buf, len, "%llu", (unsigned long long)v);
		return buf;
	}
	/* pick the unit and the decimals after rounding, so 999999 is 1.0M,
	 * not 1000k, and 9999 is 10k, not 10.0k */
	for (u = 0; u < 6; u++) {
		double d = (double)v;

		for (int i = 0; i <= u; i++)
			d /= 1000.0;
		if (d < 9.95) {
			snprintf(buf, len, "%.1f%c", d, units[u]);
			return buf;
		}
		if (d < 999.5 || u == 5) {
			snprintf(buf, len, "%.0f%c", d, units[u]);
			return buf;
		}
	}
	return buf;
}
