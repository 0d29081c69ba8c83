/* SPDX-License-Identifier: MIT */
/*
 * Listener classes (issue #9): listeners whose ports the ruleset does not tell apart
 * share the engine's results (portclass.h, analysis.c). The report must be exactly the
 * one without sharing (the engine's results are the same for every port of a class; the
 * firewalld layer, the fix and the words stay per listener), and the sharing must really
 * happen: the engine is counted through the linker (--wrap=pc_nft_eval_sources, as the
 * bench does).
 */
#include "analysis_fixture.h"
#include "eval_count.h"
#include "portcheck/portclass.h"

/* The report as text (version 2, keys sorted) and the engine calls it took. */
static char *report_text(struct fixture *f, bool share, unsigned *calls)
{
	json_t *j;
	char *text;

	pc_analysis_share_port_classes = share;
	eval_calls = 0;
	run(f);
	*calls = eval_calls;
	pc_analysis_share_port_classes = true;
	assert_int_equal(pc_report_to_json(&f->report, &j), 0);
	text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	assert_non_null(text);
	return text;
}

static void listen_many(struct fixture *f)
{
	static const uint16_t ports[] = {22, 80, 443, 8080, 8081, 10000, 10001, 65535, 1};

	for (size_t i = 0; i < ELEMENTSOF(ports); i++) {
		listen_on(f, mk_listener(IPPROTO_TCP, "0.0.0.0", ports[i], false));
		listen_on(f, mk_listener(IPPROTO_TCP, "::", ports[i], false));
		listen_on(f, mk_listener(IPPROTO_UDP, "0.0.0.0", ports[i], false));
	}
	listen_on(f, mk_listener(IPPROTO_TCP, "192.0.2.1", 8082, false));
	/* Sockets of one port and address told apart by their bound device (SO_BINDTODEVICE)
	 * and inode (SO_REUSEPORT): the report's order of them must not follow the classes'
	 * order, which sorts the bound one after. */
	for (unsigned k = 0; k < 3; k++) {
		struct pc_listener l = mk_listener(IPPROTO_TCP, "0.0.0.0", 12345, false);

		l.bound_ifindex = k == 0 ? 3 : 0;
		l.inode = 100 - k;
		listen_on(f, l);
	}
}

/* firewalld's ruleset (ssh and 8080 allowed in public): the report is the same with and
 * without sharing, and the unnamed ports share. */
static void test_shared_equals_unshared(void **state)
{
	struct fixture *f = *state;
	struct pc_port_classes c;
	unsigned shared, alone;
	char *a, *b;

	fw_allow(&f->rs, "public", 8080);
	assert_int_equal(pc_port_classes_of(&f->rs, &c), 0);
	assert_false(c.distinct);
	/* Classes are the ranges between the ports the ruleset names. */
	assert_int_equal(pc_port_class(&c, 80), pc_port_class(&c, 443));
	assert_int_equal(pc_port_class(&c, 8081), pc_port_class(&c, 65535));
	assert_int_equal(pc_port_class(&c, 0), pc_port_class(&c, 21));
	assert_int_not_equal(pc_port_class(&c, 1), pc_port_class(&c, 80));
	assert_int_not_equal(pc_port_class(&c, 22), pc_port_class(&c, 23));
	assert_int_not_equal(pc_port_class(&c, 8080), pc_port_class(&c, 8081));
	assert_int_not_equal(pc_port_class(&c, 8079), pc_port_class(&c, 8080));
	pc_port_classes_clear(&c);

	listen_many(f);
	a = report_text(f, true, &shared);
	b = report_text(f, false, &alone);
	assert_string_equal(a, b);
	/* The three sockets of 0.0.0.0:12345/tcp in a total order: unbound before bound,
	 * then by inode (not the order they were analysed in). */
	{
		uint64_t want[] = {98, 99, 100}, k = 0;

		for (size_t i = 0; i < f->report.n_listeners; i++) {
			const struct pc_listener *l = &f->report.listeners[i].listener;

			if (l->protocol == IPPROTO_TCP && l->port == 12345 &&
			    l->addr.family == AF_INET) {
				assert_true(k < 3);
				assert_int_equal(l->inode, want[k++]);
			}
		}
		assert_int_equal(k, 3);
	}
	/* 9 ports in 5 classes (1; 22; 80 and 443; 8080; 8081 and above): once per class,
	 * protocol and address. */
	assert_true(shared > 0);
	assert_true(shared * 3 < alone * 2);
	free(a);
	free(b);
}

/* A port the ruleset uses in a way the scan does not follow (a mask): every port its own
 * class, as many evaluations as without sharing, and the same report. */
static void test_distinct_when_masked(void **state)
{
	struct fixture *f = *state;
	struct pc_nft_chain *c =
	    (struct pc_nft_chain *)pc_nft_chain_find(fw_table(&f->rs), "filter_INPUT");
	static const uint8_t mask[2] = {0xff, 0x00}, v[2] = {0x1f, 0x00};
	struct pc_nft_rule *r = nb_rule(c, "tcp dport & 0xff00 == 0x1f00 accept");
	struct pc_port_classes pcl;
	unsigned shared, alone;
	char *a, *b;

	nb_l4proto(r, IPPROTO_TCP);
	nb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	nb_bitwise(r, NFT_REG_1, NFT_REG_1, 2, mask, NULL);
	nb_cmp(r, NFT_CMP_EQ, NFT_REG_1, v, 2);
	nb_accept(r);
	/* first in the chain */
	struct pc_nft_rule tmp = c->rules[c->n_rules - 1];
	memmove(&c->rules[1], &c->rules[0], (c->n_rules - 1) * sizeof(tmp));
	c->rules[0] = tmp;
	assert_int_equal(pc_port_classes_of(&f->rs, &pcl), 0);
	assert_true(pcl.distinct);
	assert_non_null(strstr(pcl.why, "bitwise"));
	pc_port_classes_clear(&pcl);

	listen_many(f);
	a = report_text(f, true, &shared);
	b = report_text(f, false, &alone);
	assert_string_equal(a, b);
	assert_int_equal(shared, alone);
	/* 8000-8191 (0x1f00-0x1fff) accepted by the mask, 8082 among them, 80 not. */
	for (size_t i = 0; i < f->report.n_listeners; i++) {
		const struct pc_listener_report *lr = &f->report.listeners[i];

		if (lr->listener.protocol == IPPROTO_TCP && lr->listener.port == 8082)
			assert_int_equal(lr->exposure, PC_EXPOSURE_OPEN);
	}
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	    T(test_shared_equals_unshared),
	    T(test_distinct_when_masked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
