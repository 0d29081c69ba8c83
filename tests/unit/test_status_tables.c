/* SPDX-License-Identifier: MIT */
/*
 * The Status reply's shared tables (daemon/report/status_tables.c): equal entries written
 * once, different ones never merged, whatever the names hold; the listener's port in a
 * key reads "destination_port" and nothing else does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../daemon/report/status_tables.h"

/* A version 1 form with one set test. */
static json_t *form(const char *table, const char *name, json_t *key)
{
	json_t *f =
	    json_pack("{s:i,s:[{s:[{s:{s:s,s:s,s:s,s:i,s:o}}]}],s:{s:s,s:i}}", "version", 1,
		      "any_of", "all_of", "set", "family", "inet", "table", table, "name", name,
		      "elements", 3, "key", key, "example", "address", "192.0.2.1", "port", 40000);

	assert_non_null(f);
	return f;
}

static const json_t *entry_lit(const struct pc_status_tables *t, int i)
{
	return json_array_get(
	    json_object_get(
		json_array_get(json_object_get(json_array_get(t->sources, (size_t)i), "any_of"), 0),
		"all_of"),
	    0);
}

static void test_names_cannot_collide(void **state)
{
	struct pc_status_tables t;
	/* With a separator byte between the names these two would read the same. */
	json_t *a = form("a",
			 "b\x1f"
			 "c",
			 json_pack("[s]", "address"));
	json_t *b = form("a\x1f"
			 "b",
			 "c", json_pack("[s]", "address"));
	int ia, ib;

	(void)state;
	assert_int_equal(pc_status_tables_init(&t), 0);
	ia = pc_status_tables_sources(&t, "x", a, 80);
	ib = pc_status_tables_sources(&t, "x", b, 80);
	assert_true(ia >= 0 && ib >= 0);
	assert_int_not_equal(ia, ib);
	assert_int_equal(json_array_size(t.sets), 2);
	assert_int_not_equal(json_integer_value(json_object_get(entry_lit(&t, ia), "set")),
			     json_integer_value(json_object_get(entry_lit(&t, ib), "set")));
	json_decref(a);
	json_decref(b);
	pc_status_tables_clear(&t);
}

static void test_port_and_sharing(void **state)
{
	struct pc_status_tables t;
	json_t *f80 = form("t", "allow", json_pack("[s,i]", "address", 80));
	json_t *f443 = form("t", "allow", json_pack("[s,i]", "address", 443));
	json_t *f443_80 = form("t", "allow", json_pack("[s,i]", "address", 80));
	int i80, i443, i443_80;
	const json_t *key;

	(void)state;
	assert_int_equal(pc_status_tables_init(&t), 0);
	i80 = pc_status_tables_sources(&t, "w", f80, 80);
	i443 = pc_status_tables_sources(&t, "w", f443, 443);
	/* 80 in the key of a listener on 443 is a constant, not its port. */
	i443_80 = pc_status_tables_sources(&t, "w", f443_80, 443);
	assert_true(i80 >= 0 && i443 >= 0 && i443_80 >= 0);
	assert_int_equal(i80, i443);
	assert_int_not_equal(i80, i443_80);
	assert_int_equal(json_array_size(t.sets), 1);
	key = json_object_get(entry_lit(&t, i80), "key");
	assert_string_equal(json_string_value(json_array_get(key, 1)), "destination_port");
	key = json_object_get(entry_lit(&t, i443_80), "key");
	assert_int_equal(json_integer_value(json_array_get(key, 1)), 80);
	/* other words: another entry */
	assert_int_not_equal(pc_status_tables_sources(&t, "v", f80, 80), i80);
	json_decref(f80);
	json_decref(f443);
	json_decref(f443_80);
	pc_status_tables_clear(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names_cannot_collide),
	    cmocka_unit_test(test_port_and_sharing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
