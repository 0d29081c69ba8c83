/* SPDX-License-Identifier: MIT */
/*
 * What portcheck-bench's parts share (bench_analysis.c: the sources and the analysis;
 * bench_eval.c: one evaluation per flow): time, memory, statistics, the flows.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "portcheck/addr.h"
#include "portcheck/netif.h"
#include "portcheck/nft.h"

#define MAX_FLOWS 16

struct flow_spec {
	char name[32];
	struct pc_addr saddr;
	uint16_t dport;
	uint8_t proto;
};

static inline double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* This process's CPU time: beside the wall clock, a figure the other load of a shared
 * machine moves less. */
static inline double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static inline long maxrss_kib(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return -1;
	return ru.ru_maxrss;
}

static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct stat_row {
	double median, max;
};

static inline struct stat_row stats_of(double *v, int n)
{
	struct stat_row s = {0};

	if (n <= 0)
		return s;
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	s.max = v[n - 1];
	return s;
}

static inline void print_row(const char *what, double *v, int n)
{
	struct stat_row s = stats_of(v, n);

	printf("  %-44s %10.1f ms %10.1f ms %5d\n", what, s.median, s.max, n);
}

static inline void die(const char *what, int r)
{
	fprintf(stderr, "portcheck-bench: %s: %s\n", what, strerror(r < 0 ? -r : r));
	exit(1);
}

/*
 * For each of @n_flows @flows (tcp or udp to their port on the address of interface @iface
 * of their family), the median cost of one pc_nft_eval_path in steady state, µs, into
 * eval_us[i]; the first evaluation on @rs (which builds the set indexes), ms, into
 * *index_ms. Prints a line per flow.
 */
void bench_eval(const char *iface, const struct flow_spec *flows, size_t n_flows, int iters,
		const struct pc_netif *ni, const struct pc_nft_ruleset *rs, double *eval_us,
		double *index_ms);
