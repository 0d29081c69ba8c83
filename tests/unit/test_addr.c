/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "portcheck/addr.h"

static void test_parse_and_format(void **state)
{
	struct pc_prefix p;
	char buf[PC_PREFIXSTRLEN];

	assert_int_equal(pc_prefix_from_string("192.0.2.0/24", &p), 0);
	assert_int_equal(p.addr.family, AF_INET);
	assert_int_equal(p.len, 24);
	assert_string_equal(pc_prefix_to_string(&p, buf), "192.0.2.0/24");
	assert_int_equal(pc_prefix_from_string("2001:db8::1", &p), 0);
	assert_int_equal(p.len, 128);
	assert_string_equal(pc_prefix_to_string(&p, buf), "2001:db8::1");
	/* Host bits set, bad lengths, garbage. */
	assert_int_equal(pc_prefix_from_string("192.0.2.1/24", &p), -EINVAL);
	assert_int_equal(pc_prefix_from_string("192.0.2.0/33", &p), -EINVAL);
	assert_int_equal(pc_prefix_from_string("192.0.2.0/", &p), -EINVAL);
	assert_int_equal(pc_prefix_from_string("192.0.2.0/2x", &p), -EINVAL);
	assert_int_equal(pc_prefix_from_string("ipset:foo", &p), -EINVAL);
	assert_int_equal(pc_prefix_from_string("52:54:00:12:34:56", &p), -EINVAL);
}

/* IPv4 is formatted by hand: the same text as inet_ntop for every octet value in every
 * position (0, 9, 10, 99, 100, 255 among them). */
static void test_format_ipv4_like_inet_ntop(void **state)
{
	char mine[PC_ADDRSTRLEN], libc[INET_ADDRSTRLEN];

	(void)state;
	for (unsigned v = 0; v < 256; v++)
		for (unsigned pos = 0; pos < 4; pos++) {
			struct pc_addr a = {.family = AF_INET, .bytes = {192, 0, 2, 1}};

			a.bytes[pos] = (uint8_t)v;
			a.bytes[(pos + 1) % 4] = (uint8_t)(255 - v);
			assert_non_null(inet_ntop(AF_INET, a.bytes, libc, sizeof(libc)));
			assert_string_equal(pc_addr_to_string(&a, mine), libc);
		}
}

/* IPv6 too: every pattern of zero groups (the runs "::" stands for, ties, the IPv4 forms
 * ::a.b.c.d and ::ffff:a.b.c.d and their near misses) with group values of every width,
 * then random addresses, each the same text as inet_ntop. */
static void test_format_ipv6_like_inet_ntop(void **state)
{
	static const unsigned vals[] = {0x1,	0xf,	0x10,	0xff,	0x100, 0xfff,
					0x1000, 0xffff, 0xabcd, 0x2001, 0xdb8, 0xa};
	char mine[PC_ADDRSTRLEN], libc[INET6_ADDRSTRLEN];
	unsigned seed = 12345;

	(void)state;
	for (unsigned mask = 0; mask < 256; mask++)
		for (unsigned variant = 0; variant < 4; variant++) {
			struct pc_addr a = {.family = AF_INET6};

			for (unsigned g = 0; g < 8; g++) {
				unsigned v =
				    mask & (1u << g) ? vals[(g * 5 + variant * 3 + mask) % 12] : 0;

				/* ::ffff:a.b.c.d and what is almost it */
				if (variant == 3 && g == 5 && v)
					v = 0xffff;
				a.bytes[2 * g] = (uint8_t)(v >> 8);
				a.bytes[2 * g + 1] = (uint8_t)v;
			}
			assert_non_null(inet_ntop(AF_INET6, a.bytes, libc, sizeof(libc)));
			assert_string_equal(pc_addr_to_string(&a, mine), libc);
		}
	for (int i = 0; i < 20000; i++) {
		struct pc_addr a = {.family = AF_INET6};

		for (unsigned g = 0; g < 8; g++) {
			unsigned v = rand_r(&seed) % 2 ? 0 : (unsigned)rand_r(&seed) & 0xffff;

			if (rand_r(&seed) % 8 == 0)
				v = 0xffff;
			a.bytes[2 * g] = (uint8_t)(v >> 8);
			a.bytes[2 * g + 1] = (uint8_t)v;
		}
		assert_non_null(inet_ntop(AF_INET6, a.bytes, libc, sizeof(libc)));
		assert_string_equal(pc_addr_to_string(&a, mine), libc);
	}
}

static void test_classify(void **state)
{
	struct pc_addr a;

	assert_int_equal(pc_addr_from_string("127.0.0.53", &a), 0);
	assert_true(pc_addr_is_loopback(&a));
	assert_int_equal(pc_addr_from_string("::1", &a), 0);
	assert_true(pc_addr_is_loopback(&a));
	assert_int_equal(pc_addr_from_string("::ffff:127.0.0.1", &a), 0);
	assert_true(pc_addr_is_loopback(&a));
	assert_true(pc_addr_is_v4mapped(&a));
	assert_int_equal(pc_addr_from_string("::", &a), 0);
	assert_true(pc_addr_is_any(&a));
	assert_false(pc_addr_is_loopback(&a));
	assert_int_equal(pc_addr_from_string("192.0.2.1", &a), 0);
	assert_false(pc_addr_is_any(&a));
}

static void test_contains(void **state)
{
	struct pc_prefix p, q;
	struct pc_addr a;

	assert_int_equal(pc_prefix_from_string("198.51.100.0/24", &p), 0);
	assert_int_equal(pc_addr_from_string("198.51.100.255", &a), 0);
	assert_true(pc_prefix_contains(&p, &a));
	assert_int_equal(pc_addr_from_string("198.51.101.0", &a), 0);
	assert_false(pc_prefix_contains(&p, &a));
	assert_int_equal(pc_prefix_from_string("198.51.100.128/25", &q), 0);
	assert_true(pc_prefix_covers(&p, &q));
	assert_false(pc_prefix_covers(&q, &p));
}

static void test_complement(void **state)
{
	struct pc_prefix ex[2], *out = NULL;
	char buf[PC_PREFIXSTRLEN];
	int n;

	/* Nothing excluded: the whole space. */
	n = pc_prefix_complement(AF_INET, NULL, 0, &out);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].len, 0);
	free(out);

	/* Excluding a /24 leaves 24 prefixes, one per bit; none overlaps the /24 and together
	 * they cover everything else. */
	assert_int_equal(pc_prefix_from_string("203.0.113.0/24", &ex[0]), 0);
	n = pc_prefix_complement(AF_INET, ex, 1, &out);
	assert_int_equal(n, 24);
	assert_string_equal(pc_prefix_to_string(&out[0], buf), "0.0.0.0/1");
	for (int i = 0; i < n; i++)
		assert_false(pc_prefix_covers(&out[i], &ex[0]) ||
			     pc_prefix_covers(&ex[0], &out[i]));
	free(out);

	/* Everything excluded: nothing left. Other families are ignored. */
	assert_int_equal(pc_prefix_from_string("0.0.0.0/0", &ex[0]), 0);
	assert_int_equal(pc_prefix_from_string("2001:db8::/32", &ex[1]), 0);
	n = pc_prefix_complement(AF_INET, ex, 2, &out);
	assert_int_equal(n, 0);
	free(out);
	n = pc_prefix_complement(AF_INET6, ex, 2, &out);
	assert_int_equal(n, 32);
	free(out);
}

static void test_range_to_prefixes(void **state)
{
	struct pc_addr lo, hi;
	struct pc_prefix *out = NULL;
	char buf[PC_PREFIXSTRLEN];
	size_t n = 0;

	assert_int_equal(pc_addr_from_string("192.0.2.1", &lo), 0);
	assert_int_equal(pc_addr_from_string("192.0.2.6", &hi), 0);
	assert_int_equal(pc_range_to_prefixes(&lo, &hi, &out, &n), 0);
	/* .1/32 .2/31 .4/31 .6/32 */
	assert_int_equal(n, 4);
	assert_string_equal(pc_prefix_to_string(&out[0], buf), "192.0.2.1");
	assert_string_equal(pc_prefix_to_string(&out[1], buf), "192.0.2.2/31");
	assert_string_equal(pc_prefix_to_string(&out[2], buf), "192.0.2.4/31");
	assert_string_equal(pc_prefix_to_string(&out[3], buf), "192.0.2.6");
	free(out);

	/* The whole space is one /0, and the top address does not wrap. */
	out = NULL;
	n = 0;
	lo = (struct pc_addr){.family = AF_INET6};
	hi = pc_addr_max(AF_INET6);
	assert_int_equal(pc_range_to_prefixes(&lo, &hi, &out, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].len, 0);
	free(out);

	assert_true(pc_addr_inc(&lo));
	assert_int_equal(lo.bytes[15], 1);
	assert_false(pc_addr_inc(&hi));
	assert_true(pc_addr_dec(&lo));
	assert_false(pc_addr_dec(&lo));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_format_ipv4_like_inet_ntop),
	    cmocka_unit_test(test_format_ipv6_like_inet_ntop),
	    cmocka_unit_test(test_parse_and_format),
	    cmocka_unit_test(test_classify),
	    cmocka_unit_test(test_contains),
	    cmocka_unit_test(test_complement),
	    cmocka_unit_test(test_range_to_prefixes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
