/* SPDX-License-Identifier: MIT */
/*
 * pc_hash_words (common/util.c) as the engine's caches use it: the low bits pick a slot
 * (the set projection cache has 1,024), so keys that differ in any one byte, the last
 * word's high bytes included, must spread over them. `ip saddr . tcp dport` keys differ
 * only in the port, bytes 4-5 of 8: without a final mix every port below 256 met in one
 * slot.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "portcheck/util.h"

#define SLOTS 1024

/* Distinct low-10-bit slots of 256 keys of @len bytes that differ only in byte @at. */
static size_t slots_used(size_t len, size_t at)
{
	bool used[SLOTS] = {false};
	size_t n = 0;

	for (unsigned v = 0; v < 256; v++) {
		uint8_t k[64] = {0};
		uint64_t h;

		k[at] = (uint8_t)v;
		h = pc_hash_words(k, len, PC_FNV1A_INIT) & (SLOTS - 1);
		n += !used[h];
		used[h] = true;
	}
	return n;
}

static void test_every_byte_reaches_the_slot(void **state)
{
	(void)state;
	/* 256 keys in 1,024 slots: about 225 distinct by chance; fewer than half means
	 * the byte hardly reaches the slot. */
	for (size_t len = 1; len <= 64; len++)
		for (size_t at = 0; at < len; at++)
			if (slots_used(len, at) < 128)
				fail_msg("a %zu-byte key differing in byte %zu: %zu slots", len, at,
					 slots_used(len, at));
}

static void test_deterministic_and_length_aware(void **state)
{
	const uint8_t k[16] = {1, 2, 3};

	(void)state;
	assert_true(pc_hash_words(k, 16, 7) == pc_hash_words(k, 16, 7));
	assert_true(pc_hash_words(k, 16, 7) != pc_hash_words(k, 15, 7));
	assert_true(pc_hash_words(k, 16, 7) != pc_hash_words(k, 16, 8));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_byte_reaches_the_slot),
	    cmocka_unit_test(test_deterministic_and_length_aware),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
