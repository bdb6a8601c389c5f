/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the libFuzzer targets share: a way to fail loudly (abort, so the
 * fuzzer saves the input as a crash), state comparison, and a
 * deterministic byte reader over the fuzzer's input.
 */
#ifndef PORTIER_FUZZ_COMMON_H
#define PORTIER_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model.h"

/* A property does not hold: say which, then abort so libFuzzer keeps the input. */
#define FZ_CHECK(cond, ...)                                                   \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "%s:%d: property failed: %s: ", __FILE__, \
				__LINE__, #cond);                             \
			fprintf(stderr, __VA_ARGS__);                         \
			fputc('\n', stderr);                                  \
			abort();                                              \
		}                                                             \
	} while (0)

static inline bool fz_prefix_eq(const struct pt_prefix *a, const struct pt_prefix *b)
{
	return a->family == b->family && a->plen == b->plen && !memcmp(a->addr, b->addr, 16);
}

/* Field by field, in order; *why names the first difference. */
static inline bool fz_state_eq(const struct pt_state *a, const struct pt_state *b,
			       bool rules_too, const char **why)
{
	*why = NULL;
	if (a->nservices != b->nservices)
		*why = "number of services";
	else if (a->nbindings != b->nbindings)
		*why = "number of bindings";
	else if (a->npolicies != b->npolicies)
		*why = "number of policies";
	else if (a->nwatches != b->nwatches)
		*why = "number of watches";
	else if (a->nsteers != b->nsteers)
		*why = "number of steer rules";
	for (size_t i = 0; !*why && i < a->nservices; i++)
		if (strcmp(a->services[i].name, b->services[i].name) ||
		    strcmp(a->services[i].desc, b->services[i].desc) ||
		    a->services[i].id != b->services[i].id)
			*why = "a service";
	for (size_t i = 0; !*why && i < a->nbindings; i++) {
		const struct pt_binding *x = &a->bindings[i], *y = &b->bindings[i];

		if (x->proto != y->proto || x->lo != y->lo || x->hi != y->hi ||
		    x->service != y->service || !fz_prefix_eq(&x->prefix, &y->prefix))
			*why = "a binding";
	}
	for (size_t i = 0; !*why && i < a->npolicies; i++) {
		const struct pt_policy *x = &a->policies[i], *y = &b->policies[i];

		if (x->proto != y->proto || x->lo != y->lo || x->hi != y->hi ||
		    x->action != y->action || x->pps != y->pps ||
		    !fz_prefix_eq(&x->from, &y->from) || (rules_too && x->rule != y->rule))
			*why = "a policy";
	}
	for (size_t i = 0; !*why && i < a->nwatches; i++) {
		const struct pt_watch *x = &a->watches[i], *y = &b->watches[i];

		if (x->proto != y->proto || x->lo != y->lo || x->hi != y->hi)
			*why = "a watch";
	}
	for (size_t i = 0; !*why && i < a->nsteers; i++)
		if (memcmp(&a->steers[i], &b->steers[i], sizeof(a->steers[i])))
			*why = "a steer rule";
	return !*why;
}

/* The fuzzer's input as a stream of small decisions; zeros past the end. */
struct fz_in {
	const uint8_t *p;
	size_t n, off;
};

static inline uint8_t fz_u8(struct fz_in *in)
{
	return in->off < in->n ? in->p[in->off++] : 0;
}

static inline uint16_t fz_u16(struct fz_in *in)
{
	uint16_t hi = fz_u8(in);

	return (uint16_t)(hi << 8 | fz_u8(in));
}

static inline uint32_t fz_u32(struct fz_in *in)
{
	uint32_t hi = fz_u16(in);

	return hi << 16 | fz_u16(in);
}

static inline bool fz_more(const struct fz_in *in)
{
	return in->off < in->n;
}

#endif
