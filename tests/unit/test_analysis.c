/* SPDX-License-Identifier: MIT */
/* The firewalld-layer analysis on in-memory snapshots. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "portcheck/report.h"

/* --- snapshot builders ---------------------------------------------------------------- */

static struct pc_listener mk_listener(uint8_t proto, const char *addr, uint16_t port, bool v6only)
{
	struct pc_listener l = {.protocol = proto, .port = port, .v6only = v6only, .pid = 42};

	assert_int_equal(pc_addr_from_string(addr, &l.addr), 0);
	snprintf(l.comm, sizeof(l.comm), "test%u", port);
	return l;
}

static void add_link(struct pc_netif *ni, uint32_t idx, const char *name, bool lo)
{
	struct pc_link *k = pc_array_grow(&ni->links, &ni->n_links, sizeof(*k));

	assert_non_null(k);
	k->ifindex = idx;
	snprintf(k->name, sizeof(k->name), "%s", name);
	k->up = true;
	k->loopback = lo;
}

/* An interface address: the local address (host bits set) and its prefix length. */
static void add_addr(struct pc_netif *ni, uint32_t idx, const char *addr, uint8_t len)
{
	struct pc_ifaddr *a = pc_array_grow(&ni->addrs, &ni->n_addrs, sizeof(*a));

	assert_non_null(a);
	a->ifindex = idx;
	assert_int_equal(pc_addr_from_string(addr, &a->prefix.addr), 0);
	a->prefix.len = len;
}

/* lo, eth0 (IPv4 + IPv6), eth1 (IPv4 only). */
static void mk_netif(struct pc_netif *ni)
{
	*ni = (struct pc_netif){0};
	add_link(ni, 1, "lo", true);
	add_link(ni, 2, "eth0", false);
	add_link(ni, 3, "eth1", false);
	add_addr(ni, 1, "127.0.0.1", 8);
	add_addr(ni, 2, "192.0.2.1", 24);
	add_addr(ni, 2, "2001:db8:1::1", 64);
	add_addr(ni, 3, "198.51.100.1", 24);
}

static void add_port(struct pc_fw_ports *ports, const char *port, const char *proto)
{
	struct pc_fw_port *p = pc_array_grow(&ports->v, &ports->n, sizeof(*p));

	assert_non_null(p);
	assert_int_equal(pc_fw_parse_port(port, proto, p), 0);
}

static struct pc_fw_service *add_service(struct pc_fw_config *c, const char *name, const char *port,
					 const char *proto)
{
	struct pc_fw_service *s = pc_array_grow(&c->services, &c->n_services, sizeof(*s));

	assert_non_null(s);
	s->name = strdup(name);
	if (port)
		add_port(&s->ports, port, proto);
	return s;
}

static struct pc_fw_zone *add_zone(struct pc_fw_config *c, const char *name, const char *target)
{
	struct pc_fw_zone *z = pc_array_grow(&c->zones, &c->n_zones, sizeof(*z));

	assert_non_null(z);
	z->name = strdup(name);
	z->target = strdup(target);
	return z;
}

/* firewalld's stock public zone: ssh and dhcpv6-client, target default. */
static void mk_config(struct pc_fw_config *c)
{
	struct pc_fw_zone *z;

	*c = (struct pc_fw_config){0};
	add_service(c, "ssh", "22", "tcp");
	add_service(c, "http", "80", "tcp");
	add_service(c, "dhcpv6-client", "546", "udp");
	add_service(c, "freeipa-ldap", "80", "tcp");
	add_port(&c->services[3].ports, "389", "tcp");
	z = add_zone(c, "public", "default");
	pc_strv_push(&z->services, "ssh");
	pc_strv_push(&z->services, "dhcpv6-client");
	add_zone(c, "drop", "DROP");
	add_zone(c, "trusted", "ACCEPT");
}

static void mk_firewalld(struct pc_firewalld *fw)
{
	*fw = (struct pc_firewalld){.running = true, .have_permanent = true};
	fw->state = strdup("RUNNING");
	fw->version = strdup("1.3.3");
	fw->default_zone = strdup("public");
	mk_config(&fw->runtime);
	mk_config(&fw->permanent);
}

static struct pc_fw_zone *zone(struct pc_fw_config *c, const char *name)
{
	return (struct pc_fw_zone *)pc_fw_config_zone(c, name);
}

struct fixture {
	struct pc_netif ni;
	struct pc_firewalld fw;
	struct pc_listener_set ls;
	struct pc_report report;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	mk_netif(&f->ni);
	mk_firewalld(&f->fw);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	pc_report_clear(&f->report);
	pc_firewalld_clear(&f->fw);
	pc_netif_free(&f->ni);
	free(f->ls.items);
	free(f);
	return 0;
}

static void listen_on(struct fixture *f, struct pc_listener l)
{
	struct pc_listener *slot = pc_array_grow(&f->ls.items, &f->ls.n, sizeof(*slot));

	assert_non_null(slot);
	*slot = l;
}

static const struct pc_listener_report *run(struct fixture *f)
{
	pc_report_clear(&f->report);
	assert_int_equal(pc_analysis_run(&f->ls, &f->ni, &f->fw, &f->report), 0);
	assert_int_equal(f->report.n_listeners, f->ls.n);
	return f->report.listeners;
}

/* --- tests ------------------------------------------------------------------------------ */

static void test_incident(void **state)
{
	struct fixture *f = *state;
	const struct pc_listener_report *r;

	listen_on(f, mk_listener(IPPROTO_TCP, "0.0.0.0", 22, false));
	listen_on(f, mk_listener(IPPROTO_TCP, "::", 80, false));
	listen_on(f, mk_listener(IPPROTO_TCP, "127.0.0.1", 5432, false));
	r = run(f);

	/* 22: eth0 v4 + eth1 v4 (0.0.0.0 is IPv4 only), both public, both allowed by ssh. */
	assert_int_equal(r[0].exposure, PC_EXPOSURE_OPEN);
	assert_int_equal(r[0].n_paths, 2);
	assert_string_equal(r[0].paths[0].allowed_by, "service ssh");
	assert_string_equal(r[0].paths[0].source, "any");
	assert_false(r[0].paths[0].runtime_only);
	assert_null(r[0].fix.command);

	/* 80: dual stack: eth0 v4, eth0 v6, eth1 v4; all rejected with admin-prohibited. */
	assert_int_equal(r[1].exposure, PC_EXPOSURE_BLOCKED);
	assert_int_equal(r[1].families, PC_FAMILY_IPV4 | PC_FAMILY_IPV6);
	assert_int_equal(r[1].n_paths, 3);
	for (size_t i = 0; i < r[1].n_paths; i++) {
		const struct pc_path *p = &r[1].paths[i];
		assert_int_equal(p->verdict, PC_VERDICT_REJECT);
		assert_string_equal(p->zone, "public");
		assert_null(p->allowed_by);
		if (p->family == AF_INET) {
			assert_int_equal(p->reject.icmp_type, 3);
			assert_int_equal(p->reject.icmp_code, 13);
		} else {
			assert_int_equal(p->reject.icmp_type, 1);
			assert_int_equal(p->reject.icmp_code, 1);
		}
	}
	/* http is not the only service that lists 80/tcp, but the only one that is exactly it. */
	assert_string_equal(r[1].fix.command, "portcheck open http --zone public --permanent");
	assert_string_equal(r[1].fix.port, "80/tcp");

	assert_int_equal(r[2].exposure, PC_EXPOSURE_LOCAL_ONLY);
	assert_int_equal(r[2].n_paths, 0);
}

static void test_fix_names_port_without_exact_service(void **state)
{
	struct fixture *f = *state;
	const struct pc_listener_report *r;

	listen_on(f, mk_listener(IPPROTO_UDP, "0.0.0.0", 9999, false));
	r = run(f);
	assert_int_equal(r[0].exposure, PC_EXPOSURE_BLOCKED);
	assert_string_equal(r[0].fix.command, "portcheck open 9999/udp --zone public --permanent");
	assert_null(r[0].fix.service);
}

static void test_runtime_only(void **state)
{
	struct fixture *f = *state;
	const struct pc_listener_report *r;

	add_port(&zone(&f->fw.runtime, "public")->ports, "8000-8010", "tcp");
	listen_on(f, mk_listener(IPPROTO_TCP, "192.0.2.1", 8005, false));
	r = run(f);
	/* Bound to eth0's address: only eth0 reaches it. */
	assert_int_equal(r[0].n_paths, 1);
	assert_string_equal(r[0].paths[0].interface, "eth0");
	assert_int_equal(r[0].exposure, PC_EXPOSURE_OPEN);
	assert_string_equal(r[0].paths[0].allowed_by, "port 8000-8010/tcp");
	assert_true(r[0].paths[0].runtime_only);
	assert_non_null(strstr(r[0].paths[0].reason, "lost on the next reload"));
	assert_string_equal(r[0].fix.command, "portcheck open 8005/tcp --zone public --permanent");
}

static void test_drop_zone_on_interface(void **state)
{
	struct fixture *f = *state;
	const struct pc_listener_report *r;

	pc_strv_push(&zone(&f->fw.runtime, "drop")->interfaces, "eth+");
	pc_strv_push(&zone(&f->fw.runtime, "public")->interfaces, "eth0");
	listen_on(f, mk_listener(IPPROTO_TCP, "0.0.0.0", 22, false));
	r = run(f);
	/* eth0 is listed by public (first match wins in zone order: public is first), eth1
	 * matches drop's "eth+" wildcard. */
	assert_int_equal(r[0].n_paths, 2);
	assert_int_equal(r[0].paths[0].verdict, PC_VERDICT_ACCEPT);
	assert_string_equal(r[0].paths[1].zone, "drop");
	assert_int_equal(r[0].paths[1].verdict, PC_VERDICT_DROP);
	assert_int_equal(r[0].exposure, PC_EXPOSURE_PARTIAL);
	assert_string_equal(r[0].fix.command, "portcheck open ssh --zone drop --permanent");
}

static void test_source_zone_splits_sources(void **state)
{
	struct fixture *f = *state;
	const struct pc_listener_report *r;

	pc_strv_push(&zone(&f->fw.runtime, "trusted")->sources, "203.0.113.0/24");
	listen_on(f, mk_listener(IPPROTO_TCP, "192.0.2.1", 80, false));
	r = run(f);
	assert_int_equal(r[0].n_paths, 2);
	assert_string_equal(r[0].paths[0].source, "203.0.113.0/24");
	assert_string_equal(r[0].paths[0].zone, "trusted");
	assert_int_equal(r[0].paths[0].verdict, PC_VERDICT_ACCEPT);
	assert_string_equal(r[0].paths[1].zone, "public");
	assert_int_equal(r[0].paths[1].verdict, PC_VERDICT_REJECT);
	/* The rest of the IPv4 space, exactly: 24 prefixes around 203.0.113.0/24. */
	assert_non_null(strstr(r[0].paths[1].source, "0.0.0.0/1"));
	assert_null(strstr(r[0].paths[1].source, "203.0.113.0/24"));
	assert_int_equal(r[0].exposure, PC_EXPOSURE_PARTIAL);
}

static void test_rich_rule_makes_unknown(void **state)
{
	struct fixture *f = *state;
	const struct pc_listener_report *r;
	struct pc_fw_zone *pub = zone(&f->fw.runtime, "public");

	pc_strv_push(&pub->rich_rules, "rule family=\"ipv4\" source address=\"198.51.100.7\" "
				       "port port=\"80\" protocol=\"tcp\" accept");
	pc_strv_push(&pub->rich_rules,
		     "rule family=\"ipv4\" port port=\"443\" protocol=\"tcp\" drop");
	listen_on(f, mk_listener(IPPROTO_TCP, "::", 80, false));
	listen_on(f, mk_listener(IPPROTO_TCP, "0.0.0.0", 443, false));
	r = run(f);
	/* 80: the rich rule is IPv4 only: IPv4 paths unknown, the IPv6 path still rejects. */
	assert_int_equal(r[0].exposure, PC_EXPOSURE_UNKNOWN);
	for (size_t i = 0; i < r[0].n_paths; i++)
		assert_int_equal(r[0].paths[i].verdict, r[0].paths[i].family == AF_INET
							    ? PC_VERDICT_UNKNOWN
							    : PC_VERDICT_REJECT);
	/* 443: a rich rule touching it too. */
	assert_int_equal(r[1].exposure, PC_EXPOSURE_UNKNOWN);
	assert_non_null(strstr(r[1].paths[0].reason, "rich rule"));
}

static void test_rich_rule_elsewhere_is_ignored(void **state)
{
	struct fixture *f = *state;
	const struct pc_listener_report *r;

	pc_strv_push(&zone(&f->fw.runtime, "public")->rich_rules,
		     "rule service name=\"http\" accept");
	pc_strv_push(&zone(&f->fw.runtime, "public")->rich_rules,
		     "rule icmp-block name=\"echo-request\"");
	listen_on(f, mk_listener(IPPROTO_TCP, "0.0.0.0", 22, false));
	r = run(f);
	assert_int_equal(r[0].exposure, PC_EXPOSURE_OPEN);
}

static void test_v6only_and_bound_device(void **state)
{
	struct fixture *f = *state;
	const struct pc_listener_report *r;
	struct pc_listener l = mk_listener(IPPROTO_TCP, "::", 80, true);

	listen_on(f, l);
	l = mk_listener(IPPROTO_TCP, "0.0.0.0", 81, false);
	l.bound_ifindex = 3;
	listen_on(f, l);
	r = run(f);
	assert_int_equal(r[0].families, PC_FAMILY_IPV6);
	assert_int_equal(r[0].n_paths, 1); /* eth1 has no IPv6 */
	assert_int_equal(r[0].paths[0].family, AF_INET6);
	assert_int_equal(r[1].n_paths, 1);
	assert_string_equal(r[1].paths[0].interface, "eth1");
}

static void test_firewalld_not_running(void **state)
{
	struct fixture *f = *state;
	const struct pc_listener_report *r;

	f->fw.running = false;
	f->fw.error = strdup("firewalld is not running");
	listen_on(f, mk_listener(IPPROTO_TCP, "0.0.0.0", 22, false));
	r = run(f);
	/* Never accept on a guess. */
	assert_int_equal(r[0].exposure, PC_EXPOSURE_UNKNOWN);
	assert_int_equal(r[0].paths[0].verdict, PC_VERDICT_UNKNOWN);
	assert_null(r[0].fix.command);
	assert_false(f->report.fw_running);
}

static void test_panic_mode_drops(void **state)
{
	struct fixture *f = *state;
	const struct pc_listener_report *r;

	f->fw.panic = true;
	listen_on(f, mk_listener(IPPROTO_TCP, "0.0.0.0", 22, false));
	r = run(f);
	assert_int_equal(r[0].exposure, PC_EXPOSURE_BLOCKED);
	assert_int_equal(r[0].paths[0].verdict, PC_VERDICT_DROP);
	assert_null(r[0].fix.command);
}

static void test_json_contract(void **state)
{
	struct fixture *f = *state;
	json_t *j, *l, *p;

	listen_on(f, mk_listener(IPPROTO_TCP, "::", 80, false));
	run(f);
	j = pc_report_to_json(&f->report);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "version")), 1);
	assert_true(json_is_true(json_object_get(json_object_get(j, "firewalld"), "running")));
	l = json_array_get(json_object_get(j, "listeners"), 0);
	assert_string_equal(json_string_value(json_object_get(l, "exposure")), "blocked");
	assert_string_equal(json_string_value(json_object_get(l, "address")), "::");
	assert_int_equal(json_array_size(json_object_get(l, "families")), 2);
	p = json_array_get(json_object_get(l, "paths"), 0);
	assert_string_equal(json_string_value(json_object_get(p, "verdict")), "reject");
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(p, "reject"), "icmp_code")), 13);
	assert_true(json_is_null(json_object_get(p, "rule")));
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(l, "firewalld"), "zone")), "public");
	assert_string_equal(json_string_value(json_object_get(json_object_get(l, "fix"), "port")),
			    "80/tcp");
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_incident, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fix_names_port_without_exact_service, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_runtime_only, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_drop_zone_on_interface, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_source_zone_splits_sources, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rich_rule_makes_unknown, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rich_rule_elsewhere_is_ignored, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_v6only_and_bound_device, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_firewalld_not_running, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_panic_mode_drops, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_json_contract, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
