/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Typed parsers for user input and formatters. Pure code: no syscalls. */
#ifndef PORTIER_PARSE_H
#define PORTIER_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "model.h"

/* TCP states as sock_diag reports them (include/net/tcp_states.h). */
#define PT_TCP_ESTABLISHED 1
#define PT_TCP_CLOSE 7
#define PT_TCP_LISTEN 10

/* After a parser fails (-EINVAL), why it failed, e.g. "out of range 0-65535". */
extern char pt_why[160];

/* In place: bytes outside printable ASCII become \xNN. */
void pt_escape(char *buf, size_t len);

int pt_parse_proto(const char *s, uint8_t *proto);
int pt_parse_port(const char *s, uint16_t *port);
int pt_parse_ports(const char *s, uint16_t *lo, uint16_t *hi);
int pt_parse_prefix(const char *s, struct pt_prefix *p);
int pt_parse_addr(const char *s, uint8_t *family, uint8_t addr[16]);
/* ADDR:PORT, [V6]:PORT; with port_optional, a bare ADDR gives *has_port false. */
int pt_parse_addrport(const char *s, uint8_t *family, uint8_t addr[16], uint16_t *port,
		      bool port_optional, bool *has_port);
int pt_parse_name(const char *s);
int pt_parse_action(const char *s, uint32_t *action);
int pt_parse_uint(const char *s, uint64_t max, uint64_t *out);
/* A CPU list, "1,3-5": CPUs below PT_MAX_CPUS, each once, at most
 * PT_MAX_STEER_CPUS; out gets them ascending. */
int pt_parse_cpus(const char *s, uint16_t cpus[PT_MAX_STEER_CPUS], uint16_t *n);

const char *pt_proto_name(uint8_t proto);
const char *pt_action_name(uint32_t action);
const char *pt_class_name(enum pt_class c);
const char *pt_xdp_mode_name(uint32_t mode);
/* A socket's state (PT_TCP_*) as ss(8) names it; UDP: UNCONN or ESTAB. */
const char *pt_diag_state_name(uint8_t proto, uint8_t state);
/* Formatters write into buf and return it. */
char *pt_format_prefix(const struct pt_prefix *p, char *buf, size_t len);
char *pt_format_ports(uint16_t lo, uint16_t hi, char *buf, size_t len);
/* Ascending CPUs as the shortest list pt_parse_cpus reads: "1,3-5". */
char *pt_format_cpus(const uint16_t *cpus, uint16_t n, char *buf, size_t len);
char *pt_format_addr(uint8_t family, const uint8_t addr[16], char *buf, size_t len);
char *pt_format_addrport(uint8_t family, const uint8_t addr[16], uint16_t port,
			 char *buf, size_t len);
/* 1234567 -> "1.2M" (SI, one decimal under 10, none above). */
char *pt_format_human(uint64_t v, char *buf, size_t len);

#endif /* PORTIER_PARSE_H */
