/* SPDX-License-Identifier: MIT */
/* The analysis on in-memory snapshots: firewalld's zones, interfaces, the host model. */
#include "analysis_fixture.h"
#include "portcheck/status_view.h"

static void test_incident(void **state)
{
	struct fixture *f = *state;
	const struct pc_listener_report *r;
	const struct pc_path *p;

	listen_on(f, mk_listener(IPPROTO_TCP, "0.0.0.0", 22, false));
	listen_on(f, mk_listener(IPPROTO_TCP, "::", 80, false));
	listen_on(f, mk_listener(IPPROTO_TCP, "127.0.0.1", 5432, false));
	r = run(f);

	/* 22: eth0 v4 + eth1 v4 (0.0.0.0 is IPv4 only), accepted by the zone's rule. Each
	 * interface also has a path of spoofed sources: eth1's network arriving on eth0, and
	 * on eth1 everything the default route (via eth0) answers. */
	assert_int_equal(r[0].exposure, PC_EXPOSURE_OPEN);
	assert_int_equal(r[0].n_paths, 4);
	assert_int_equal(n_real(&r[0]), 2);
	p = real_path(&r[0], 0);
	assert_string_equal(p->interface, "eth0");
	assert_int_equal(p->verdict, PC_VERDICT_ACCEPT);
	assert_string_equal(p->allowed_by, "service ssh");
	assert_string_equal(p->rule.chain, "filter_IN_public");
	assert_string_equal(p->rule.text, "tcp dport 22 accept");
	assert_false(p->disagrees);
	assert_null(strstr(p->source, "198.51.100.0/24"));
	p = path_for(&r[0], "eth0", "198.51.100.9");
	assert_true(p->spoofed);
	/* eth1's network but its own address (no client has that one) */
	assert_string_equal(p->source, "198.51.100.0/32,198.51.100.2-198.51.100.255");
	assert_false(path_for(&r[0], "eth1", "198.51.100.9")->spoofed);
	assert_true(path_for(&r[0], "eth1", "192.0.2.9")->spoofed);
	assert_null(r[0].fix.command);

	/* 80: dual stack: eth0 v4, eth0 v6, eth1 v4; the zone's target rejects each. */
	assert_int_equal(r[1].exposure, PC_EXPOSURE_BLOCKED);
	assert_int_equal(r[1].families, PC_FAMILY_IPV4 | PC_FAMILY_IPV6);
	assert_int_equal(n_real(&r[1]), 3);
	for (size_t i = 0; i < r[1].n_paths; i++) {
		p = &r[1].paths[i];
		assert_int_equal(p->verdict, PC_VERDICT_REJECT);
		assert_int_equal(p->fw_verdict, PC_VERDICT_REJECT);
		assert_string_equal(p->zone, "public");
		assert_string_equal(p->rule.table, "firewalld");
		assert_string_equal(p->rule.text, "reject with icmpx admin-prohibited");
		assert_null(p->allowed_by);
		/* icmpx admin-prohibited on the wire: ICMP 3/13, ICMPv6 1/1. */
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
	fw_allow(&f->rs, "public", 8005);
	listen_on(f, mk_listener(IPPROTO_TCP, "192.0.2.1", 8005, false));
	r = run(f);
	/* Bound to eth0's address, reached through eth1 too: Linux is a weak host. */
	assert_int_equal(n_real(&r[0]), 2);
	assert_string_equal(real_path(&r[0], 0)->interface, "eth0");
	assert_string_equal(real_path(&r[0], 1)->interface, "eth1");
	assert_int_equal(r[0].exposure, PC_EXPOSURE_OPEN);
	assert_string_equal(r[0].paths[0].allowed_by, "port 8000-8010/tcp");
	assert_true(r[0].paths[0].runtime_only);
	assert_non_null(strstr(r[0].paths[0].reason, "lost on the next reload"));
	assert_string_equal(r[0].fix.command, "portcheck open 8005/tcp --zone public --permanent");
}

/* firewalld: eth1 in zone drop (by its "eth+" wildcard), eth0 in public. */
static void drop_zone_on_eth1(struct fixture *f)
{
	struct pc_nft_chain *c;
	struct pc_nft_rule *rule, tmp;

	pc_strv_push(&zone(&f->fw.runtime, "public")->interfaces, "eth0");
	pc_strv_push(&zone(&f->fw.runtime, "drop")->interfaces, "eth+");
	c = (struct pc_nft_chain *)pc_nft_chain_find(fw_table(&f->rs), "filter_INPUT_ZONES");
	rule = nb_rule(c, "iifname \"eth1\" goto filter_IN_drop");
	nb_iifname(rule, "eth1", false);
	nb_goto(rule, "filter_IN_drop");
	tmp = c->rules[c->n_rules - 1];
	memmove(&c->rules[1], &c->rules[0], (c->n_rules - 1) * sizeof(tmp));
	c->rules[0] = tmp;
}

static void test_drop_zone_on_interface(void **state)
{
	struct fixture *f = *state;
	const struct pc_listener_report *r;

	drop_zone_on_eth1(f);
	listen_on(f, mk_listener(IPPROTO_TCP, "0.0.0.0", 22, false));
	r = run(f);
	assert_int_equal(n_real(&r[0]), 2);
	assert_int_equal(path_for(&r[0], "eth0", "192.0.2.9")->verdict, PC_VERDICT_ACCEPT);
	assert_string_equal(path_for(&r[0], "eth1", "198.51.100.9")->zone, "drop");
	assert_int_equal(path_for(&r[0], "eth1", "198.51.100.9")->verdict, PC_VERDICT_DROP);
	assert_int_equal(r[0].exposure, PC_EXPOSURE_PARTIAL);
	assert_string_equal(r[0].fix.command, "portcheck open ssh --zone drop --permanent");
}

/* IgnoreInterfaces=: eth1's drop no longer makes 22 partial; with every interface ignored
 * the listener is ignored and its exposure is theirs. */
static void test_ignore_interfaces(void **state)
{
	struct fixture *f = *state;
	const struct pc_listener_report *r;

	drop_zone_on_eth1(f);
	listen_on(f, mk_listener(IPPROTO_TCP, "0.0.0.0", 22, false));
	assert_int_equal(pc_strv_push(&f->ignore, "eth1"), 0);
	r = run(f);
	assert_int_equal(r[0].exposure, PC_EXPOSURE_OPEN);
	assert_false(r[0].ignored);
	assert_true(path_for(&r[0], "eth1", "198.51.100.9")->ignored);
	assert_false(path_for(&r[0], "eth0", "192.0.2.9")->ignored);
	assert_null(r[0].fix.command); /* the fix was about eth1 */

	pc_strv_clear(&f->ignore);
	assert_int_equal(pc_strv_push(&f->ignore, "eth[0-9]"), 0);
	r = run(f);
	assert_true(r[0].ignored);
	assert_int_equal(r[0].exposure, PC_EXPOSURE_PARTIAL);
}

/* A bridge port gets no path (the bridge receives); an IPv4 link without an address still
 * delivers to a wildcard socket. */
static void test_ports_and_unnumbered_links(void **state)
{
	struct fixture *f = *state;
	const struct pc_listener_report *r;
	struct pc_link *br;

	add_link(&f->ni, 4, "br0", false);
	add_link(&f->ni, 5, "port0", false);
	add_link(&f->ni, 6, "tun0", false);
	br = (struct pc_link *)pc_netif_link_by_index(&f->ni, 4);
	snprintf(br->kind, sizeof(br->kind), "bridge");
	((struct pc_link *)pc_netif_link_by_index(&f->ni, 5))->master = 4;
	nb_route(&f->ni, "203.0.113.0/24", RT_TABLE_MAIN, RTN_UNICAST, 6, NULL, 0);
	listen_on(f, mk_listener(IPPROTO_TCP, "0.0.0.0", 22, false));
	listen_on(f, mk_listener(IPPROTO_TCP, "192.0.2.1", 23, false));
	r = run(f);
	for (size_t k = 0; k < 2; k++)
		for (size_t i = 0; i < r[k].n_paths; i++)
			assert_string_not_equal(r[k].paths[i].interface, "port0");
	assert_false(path_for(&r[0], "tun0", "203.0.113.5")->spoofed);
	assert_false(path_for(&r[1], "tun0", "203.0.113.5")->spoofed);
}

/* route_localnet on eth1: a socket on 127.0.0.1 is reached from eth1's network
 * (CVE-2020-8558's kube-proxy hosts); without it, it is local-only. */
static void test_loopback_listener_and_route_localnet(void **state)
{
	struct fixture *f = *state;
	const struct pc_listener_report *r;
	struct pc_link *eth1 = (struct pc_link *)pc_netif_link_by_index(&f->ni, 3);

	listen_on(f, mk_listener(IPPROTO_TCP, "127.0.0.1", 5432, false));
	r = run(f);
	assert_int_equal(r[0].exposure, PC_EXPOSURE_LOCAL_ONLY);
	assert_int_equal(r[0].n_paths, 0);
	eth1->has_inet_conf = true;
	eth1->inet.route_localnet = 1;
	r = run(f);
	assert_int_equal(n_real(&r[0]), 1);
	assert_string_equal(real_path(&r[0], 0)->interface, "eth1");
	assert_int_equal(real_path(&r[0], 0)->verdict, PC_VERDICT_REJECT);
	assert_int_equal(r[0].exposure, PC_EXPOSURE_BLOCKED);
}

/* No IPv6 default route and firewalld's IPv6 rpfilter: the sources it drops have no route
 * back, so they are spoofed, and the listener is open for every real client. */
static void test_rpfilter_drops_are_not_exposure(void **state)
{
	struct fixture *f = *state;
	const struct pc_listener_report *r;
	struct pc_nft_table *t = fw_table(&f->rs);
	struct pc_nft_chain *c =
	    nb_base_chain(t, "filter_PREROUTING", "filter", NF_INET_PRE_ROUTING, -290, NF_ACCEPT);
	struct pc_nft_rule *rule =
	    nb_rule(c, "meta nfproto ipv6 fib saddr . mark . iif oif missing drop");
	size_t k = 0;

	nb_nfproto(rule, NFPROTO_IPV6);
	nb_fib(rule, NFTA_FIB_F_SADDR | NFTA_FIB_F_MARK | NFTA_FIB_F_IIF | NFTA_FIB_F_PRESENT,
	       NFT_FIB_RESULT_OIF, NFT_REG_1);
	nb_cmp_u8(rule, NFT_CMP_EQ, NFT_REG_1, 0);
	nb_drop(rule);
	for (size_t i = 0; i < f->ni.n_routes; i++) /* the IPv6 default route goes */
		if (!(f->ni.routes[i].family == AF_INET6 && f->ni.routes[i].dst.len == 0))
			f->ni.routes[k++] = f->ni.routes[i];
	f->ni.n_routes = k;
	fw_allow(&f->rs, "public", 80);
	listen_on(f, mk_listener(IPPROTO_TCP, "::", 80, true));
	r = run(f);
	assert_int_equal(r[0].exposure, PC_EXPOSURE_OPEN);
	assert_int_equal(path_for(&r[0], "eth0", "2001:db8:1::9")->verdict, PC_VERDICT_ACCEPT);
	assert_false(path_for(&r[0], "eth0", "2001:db8:1::9")->spoofed);
	assert_int_equal(path_for(&r[0], "eth0", "2001:db8:99::9")->verdict, PC_VERDICT_DROP);
	assert_true(path_for(&r[0], "eth0", "2001:db8:99::9")->spoofed);
	assert_null(r[0].fix.command);
}

static void test_source_zone_splits_sources(void **state)
{
	struct fixture *f = *state;
	const struct pc_listener_report *r;
	const struct pc_path *p;

	pc_strv_push(&zone(&f->fw.runtime, "trusted")->sources, "203.0.113.0/24");
	fw_source_zone(&f->rs, "203.0.113.0/24", "trusted");
	listen_on(f, mk_listener(IPPROTO_TCP, "192.0.2.1", 80, false));
	r = run(f);
	/* eth0: the trusted source and the rest; eth1 (weak host): its own network. */
	assert_int_equal(n_real(&r[0]), 3);
	p = path_for(&r[0], "eth0", "203.0.113.77");
	assert_string_equal(p->source, "203.0.113.0/24");
	assert_string_equal(p->zone, "trusted");
	assert_int_equal(p->verdict, PC_VERDICT_ACCEPT);
	assert_string_equal(p->rule.text, "accept");
	p = path_for(&r[0], "eth0", "198.18.0.7");
	assert_false(p->spoofed);
	assert_string_equal(p->zone, "public");
	assert_int_equal(p->verdict, PC_VERDICT_REJECT);
	/* The rest of the IPv4 space, exactly: ranges around 203.0.113.0/24. Impossible
	 * sources (0.0.0.0/8, 127.0.0.0/8, multicast, our own) are left out. */
	assert_true(strncmp(p->source, "1.0.0.0-126.255.255.255,", 24) == 0);
	assert_null(strstr(p->source, "127.0.0.0"));
	assert_null(strstr(p->source, "203.0.113.0/24"));
	assert_non_null(strstr(p->source, "-203.0.112.255,203.0.114.0-223.255.255.255"));
	assert_int_equal(r[0].exposure, PC_EXPOSURE_PARTIAL);
}

static void test_dnat_is_forwarded_not_disagreement(void **state)
{
	struct fixture *f = *state;
	const struct pc_listener_report *r;
	const struct pc_path *p;
	struct pc_nft_table *t = nb_table(&f->rs, NFPROTO_IPV4, "docker");
	struct pc_nft_chain *c =
	    nb_base_chain(t, "PREROUTING", "nat", NF_INET_PRE_ROUTING, -100, NF_ACCEPT);
	struct pc_nft_rule *rule = nb_rule(c, "tcp dport 8000 dnat to 198.51.100.2:8000");

	nb_l4proto(rule, IPPROTO_TCP);
	nb_dport(rule, 8000);
	nb_dnat_to(rule, NFPROTO_IPV4, "198.51.100.2", 8000);
	/* Forwarded traffic meets firewalld's forward chain: "ct status dnat accept". */
	c = nb_base_chain(fw_table(&f->rs), "filter_FORWARD", "filter", NF_INET_FORWARD, 10,
			  NF_ACCEPT);
	rule = nb_rule(c, "ct status dnat accept");
	nb_ct_status(rule, IPS_DST_NAT);
	nb_accept(rule);
	listen_on(f, mk_listener(IPPROTO_TCP, "0.0.0.0", 8000, false));
	r = run(f);
	p = path_for(&r[0], "eth0", "192.0.2.9");
	assert_int_equal(p->verdict, PC_VERDICT_ACCEPT);
	assert_string_equal(p->forwarded_to, "198.51.100.2:8000");
	assert_int_equal(p->fw_verdict, PC_VERDICT_REJECT);
	assert_false(p->disagrees);
	assert_non_null(strstr(p->reason, "DNAT sends it to 198.51.100.2:8000"));
}

static void test_other_table_disagrees_with_firewalld(void **state)
{
	struct fixture *f = *state;
	const struct pc_listener_report *r;
	const struct pc_path *p;
	struct pc_nft_table *t = nb_table(&f->rs, NFPROTO_IPV4, "filter");
	struct pc_nft_chain *c =
	    nb_base_chain(t, "INPUT", "filter", NF_INET_LOCAL_IN, 0, NF_ACCEPT);
	struct pc_nft_rule *rule = nb_rule(c, "tcp dport 22 drop");

	nb_l4proto(rule, IPPROTO_TCP);
	nb_dport(rule, 22);
	nb_drop(rule);
	listen_on(f, mk_listener(IPPROTO_TCP, "192.0.2.1", 22, false));
	r = run(f);
	p = &r[0].paths[0];
	assert_int_equal(p->verdict, PC_VERDICT_DROP);
	assert_string_equal(p->rule.family, "ip");
	assert_string_equal(p->rule.table, "filter");
	assert_string_equal(p->allowed_by, "service ssh");
	assert_true(p->disagrees);
	assert_non_null(strstr(p->reason, "tcp dport 22 drop"));
	/* Not firewalld's doing: no firewalld command would fix it. */
	assert_null(r[0].fix.command);
	assert_int_equal(r[0].exposure, PC_EXPOSURE_BLOCKED);
}

static void test_rich_rule_only_affects_the_firewalld_layer(void **state)
{
	struct fixture *f = *state;
	const struct pc_listener_report *r;

	pc_strv_push(&zone(&f->fw.runtime, "public")->rich_rules,
		     "rule family=\"ipv4\" source address=\"198.51.100.7\" "
		     "port port=\"80\" protocol=\"tcp\" accept");
	listen_on(f, mk_listener(IPPROTO_TCP, "::", 80, false));
	r = run(f);
	/* The kernel's verdict is exact regardless; firewalld's view is unknown on IPv4. */
	assert_int_equal(r[0].exposure, PC_EXPOSURE_BLOCKED);
	for (size_t i = 0; i < r[0].n_paths; i++) {
		assert_int_equal(r[0].paths[i].verdict, PC_VERDICT_REJECT);
		assert_int_equal(r[0].paths[i].fw_verdict, r[0].paths[i].family == AF_INET
							       ? PC_VERDICT_UNKNOWN
							       : PC_VERDICT_REJECT);
	}
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
	assert_int_equal(r[0].paths[0].fw_verdict, PC_VERDICT_ACCEPT);
	assert_string_equal(r[0].paths[0].allowed_by, "service ssh");
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
	assert_int_equal(n_real(&r[1]), 1);
	assert_string_equal(real_path(&r[1], 0)->interface, "eth1");
	for (size_t i = 0; i < r[1].n_paths; i++)
		assert_string_equal(r[1].paths[i].interface, "eth1");
}

/* The route back to a source is asked once per piece, link and binding (piece_spoofed):
 * on eth1, eth0's network is spoofed for a socket the routes answer (via eth0), and not
 * for one bound to eth1, whose IPv4 replies leave through eth1 whatever the routes say.
 * Both listeners in one analysis, either order: neither may take the other's answer. */
static void test_spoofed_per_binding(void **state)
{
	struct fixture *f = *state;
	const struct pc_listener_report *r;
	struct pc_listener l = mk_listener(IPPROTO_TCP, "0.0.0.0", 81, false);

	l.bound_ifindex = 3;
	listen_on(f, l);
	listen_on(f, mk_listener(IPPROTO_TCP, "0.0.0.0", 82, false));
	l = mk_listener(IPPROTO_TCP, "0.0.0.0", 83, false);
	l.bound_ifindex = 3;
	listen_on(f, l);
	r = run(f);
	assert_int_equal(r[0].listener.port, 81);
	assert_false(path_for(&r[0], "eth1", "192.0.2.9")->spoofed);
	assert_int_equal(r[1].listener.port, 82);
	assert_true(path_for(&r[1], "eth1", "192.0.2.9")->spoofed);
	assert_false(path_for(&r[1], "eth0", "192.0.2.9")->spoofed);
	assert_int_equal(r[2].listener.port, 83);
	assert_false(path_for(&r[2], "eth1", "192.0.2.9")->spoofed);
}

static void test_without_ruleset_never_guesses(void **state)
{
	struct fixture *f = *state;
	const struct pc_listener_report *r;

	f->no_ruleset = true;
	listen_on(f, mk_listener(IPPROTO_TCP, "0.0.0.0", 22, false));
	r = run(f);
	/* firewalld allows it, but only the kernel's ruleset can say what happens. */
	assert_int_equal(r[0].exposure, PC_EXPOSURE_UNKNOWN);
	assert_int_equal(r[0].paths[0].verdict, PC_VERDICT_UNKNOWN);
	assert_int_equal(r[0].paths[0].fw_verdict, PC_VERDICT_ACCEPT);
	assert_non_null(strstr(r[0].paths[0].reason, "could not be read"));
	assert_false(f->report.nft_read);
	assert_string_equal(f->report.nft_error, "test: not read");
}

static void test_firewalld_not_running(void **state)
{
	struct fixture *f = *state;
	const struct pc_listener_report *r;

	/* firewalld gone, its rules removed: an empty ruleset accepts everything. */
	f->fw.running = false;
	f->fw.error = strdup("firewalld is not running");
	pc_nft_ruleset_clear(&f->rs);
	listen_on(f, mk_listener(IPPROTO_TCP, "0.0.0.0", 22, false));
	r = run(f);
	assert_int_equal(r[0].exposure, PC_EXPOSURE_OPEN);
	assert_int_equal(r[0].paths[0].verdict, PC_VERDICT_ACCEPT);
	assert_null(r[0].paths[0].zone);
	assert_false(r[0].paths[0].has_rule);
	assert_null(r[0].fix.command);
	assert_false(f->report.fw_running);
}

static void test_panic_mode(void **state)
{
	struct fixture *f = *state;
	const struct pc_listener_report *r;
	struct pc_nft_table *t = nb_table(&f->rs, NFPROTO_INET, "firewalld_policy_drop");

	/* firewalld's panic mode: a table whose chains drop everything. */
	nb_base_chain(t, "filter_input", "filter", NF_INET_LOCAL_IN, -1000, NF_DROP);
	f->fw.panic = true;
	listen_on(f, mk_listener(IPPROTO_TCP, "0.0.0.0", 22, false));
	r = run(f);
	assert_int_equal(r[0].exposure, PC_EXPOSURE_BLOCKED);
	assert_int_equal(r[0].paths[0].verdict, PC_VERDICT_DROP);
	assert_true(r[0].paths[0].rule.handle == 0); /* the policy decided */
	assert_string_equal(r[0].paths[0].rule.text, "policy drop");
	/* Zones mean nothing in panic mode, and no zone change would help. */
	assert_null(r[0].paths[0].zone);
	assert_null(r[0].fix.command);
}

static void test_json_contract(void **state)
{
	struct fixture *f = *state;
	json_t *j, *l, *p, *q, *rule, *view;

	listen_on(f, mk_listener(IPPROTO_TCP, "::", 80, false));
	listen_on(f, mk_listener(IPPROTO_TCP, "0.0.0.0", 8080, false));
	run(f);
	assert_int_equal(pc_report_to_json(&f->report, &j), 0);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "version")), 2);
	assert_true(json_is_true(json_object_get(json_object_get(j, "firewalld"), "running")));
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(j, "nftables"), "generation")), 7);
	l = json_array_get(json_object_get(j, "listeners"), 0);
	assert_string_equal(json_string_value(json_object_get(l, "exposure")), "blocked");
	assert_string_equal(json_string_value(json_object_get(l, "address")), "::");
	assert_int_equal(json_array_size(json_object_get(l, "families")), 2);
	p = json_array_get(json_object_get(l, "paths"), 0);
	assert_string_equal(json_string_value(json_object_get(p, "verdict")), "reject");
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(p, "reject"), "icmp_code")), 13);
	/* Version 2: the rule and the sources by index into the reply's tables, each once:
	 * 8080's IPv4 path is refused by the same rule from the same sources. */
	assert_true(json_is_integer(json_object_get(p, "rule")));
	assert_true(json_is_integer(json_object_get(p, "sources")));
	assert_null(json_object_get(p, "source"));
	assert_int_equal(json_array_size(json_object_get(j, "rules")), 1);
	/* IPv4 from outside 198.51.100.0/24, from inside it (eth1's), IPv6 from anywhere. */
	assert_int_equal(json_array_size(json_object_get(j, "sources")), 3);
	assert_int_equal(json_array_size(json_object_get(j, "sets")), 0);
	q = json_array_get(
	    json_object_get(json_array_get(json_object_get(j, "listeners"), 1), "paths"), 0);
	assert_true(json_equal(json_object_get(p, "rule"), json_object_get(q, "rule")));
	assert_true(json_equal(json_object_get(p, "sources"), json_object_get(q, "sources")));
	assert_non_null(pc_status_path_words(j, q));
	assert_string_equal(pc_status_path_words(j, q), pc_status_path_words(j, p));
	rule = (json_t *)pc_status_path_rule(j, p);
	assert_non_null(rule);
	assert_string_equal(json_string_value(json_object_get(rule, "family")), "inet");
	assert_string_equal(json_string_value(json_object_get(rule, "chain")), "filter_IN_public");
	assert_true(json_integer_value(json_object_get(rule, "handle")) > 0);
	/* Null and false are left out. */
	assert_null(json_object_get(p, "forwarded_to"));
	assert_null(json_object_get(p, "spoofed"));
	assert_string_equal(json_string_value(json_object_get(p, "firewalld_verdict")), "reject");
	/* The view puts them back inline, as version 1 had them. */
	view = pc_status_view(j);
	assert_non_null(view);
	p = json_array_get(
	    json_object_get(json_array_get(json_object_get(view, "listeners"), 0), "paths"), 0);
	assert_string_equal(json_string_value(json_object_get(p, "source")),
			    pc_status_path_words(j, q));
	assert_string_equal(json_string_value(json_object_get(json_object_get(p, "rule"), "chain")),
			    "filter_IN_public");
	json_decref(view);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(l, "firewalld"), "zone")), "public");
	assert_string_equal(json_string_value(json_object_get(json_object_get(l, "fix"), "port")),
			    "80/tcp");
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	    T(test_incident),
	    T(test_fix_names_port_without_exact_service),
	    T(test_runtime_only),
	    T(test_drop_zone_on_interface),
	    T(test_ignore_interfaces),
	    T(test_loopback_listener_and_route_localnet),
	    T(test_ports_and_unnumbered_links),
	    T(test_rpfilter_drops_are_not_exposure),
	    T(test_source_zone_splits_sources),
	    T(test_dnat_is_forwarded_not_disagreement),
	    T(test_other_table_disagrees_with_firewalld),
	    T(test_rich_rule_only_affects_the_firewalld_layer),
	    T(test_rich_rule_elsewhere_is_ignored),
	    T(test_v6only_and_bound_device),
	    T(test_spoofed_per_binding),
	    T(test_without_ruleset_never_guesses),
	    T(test_firewalld_not_running),
	    T(test_panic_mode),
	    T(test_json_contract),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
