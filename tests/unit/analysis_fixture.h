/* SPDX-License-Identifier: MIT */
/*
 * The fixture of the analysis tests (test_analysis.c: zones and firewalld;
 * test_analysis_sources.c: the symbolic source): a host, firewalld's configuration and
 * its nftables ruleset, built in memory.
 */
#pragma once
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netfilter/nf_conntrack_common.h>

#include <cmocka.h>
#include <jansson.h>

#include "nftbuild.h"
#include "portcheck/report.h"

/* --- snapshot builders ---------------------------------------------------------------- */

static inline struct pc_listener mk_listener(uint8_t proto, const char *addr, uint16_t port,
					     bool v6only)
{
	struct pc_listener l = {.protocol = proto, .port = port, .v6only = v6only, .pid = 42};

	assert_int_equal(pc_addr_from_string(addr, &l.addr), 0);
	snprintf(l.comm, sizeof(l.comm), "test%u", port);
	return l;
}

static inline void add_link(struct pc_netif *ni, uint32_t idx, const char *name, bool lo)
{
	struct pc_link *k = pc_array_grow(&ni->links, &ni->n_links, sizeof(*k));

	assert_non_null(k);
	k->ifindex = idx;
	snprintf(k->name, sizeof(k->name), "%s", name);
	snprintf(k->kname, sizeof(k->kname), "%s", name);
	k->up = true;
	k->loopback = lo;
}

/* An interface address: the local address (host bits set) and its prefix length. */
static inline void add_addr(struct pc_netif *ni, uint32_t idx, const char *addr, uint8_t len)
{
	struct pc_ifaddr *a = pc_array_grow(&ni->addrs, &ni->n_addrs, sizeof(*a));

	assert_non_null(a);
	a->ifindex = idx;
	assert_int_equal(pc_addr_from_string(addr, &a->prefix.addr), 0);
	a->prefix.len = len;
}

/* lo, eth0 (IPv4 + IPv6), eth1 (IPv4 only). */
static inline void mk_netif(struct pc_netif *ni)
{
	*ni = (struct pc_netif){0};
	add_link(ni, 1, "lo", true);
	add_link(ni, 2, "eth0", false);
	add_link(ni, 3, "eth1", false);
	add_addr(ni, 1, "127.0.0.1", 8);
	add_addr(ni, 2, "192.0.2.1", 24);
	add_addr(ni, 2, "2001:db8:1::1", 64);
	add_addr(ni, 3, "198.51.100.1", 24);
	/* A host's usual default routes: replies (ICMP errors included) can reach any source. */
	nb_route(ni, "0.0.0.0/0", RT_TABLE_MAIN, RTN_UNICAST, 2, "192.0.2.254", 0);
	nb_route(ni, "::/0", RT_TABLE_MAIN, RTN_UNICAST, 2, "2001:db8:1::fffe", 1024);
	nb_route(ni, "192.0.2.0/24", RT_TABLE_MAIN, RTN_UNICAST, 2, NULL, 0);
	nb_route(ni, "2001:db8:1::/64", RT_TABLE_MAIN, RTN_UNICAST, 2, NULL, 256);
	nb_route(ni, "198.51.100.0/24", RT_TABLE_MAIN, RTN_UNICAST, 3, NULL, 0);
	nb_route(ni, "127.0.0.0/8", RT_TABLE_LOCAL, RTN_LOCAL, 1, NULL, 0);
	nb_route(ni, "192.0.2.1/32", RT_TABLE_LOCAL, RTN_LOCAL, 2, NULL, 0);
	nb_route(ni, "198.51.100.1/32", RT_TABLE_LOCAL, RTN_LOCAL, 3, NULL, 0);
	nb_route(ni, "2001:db8:1::1/128", RT_TABLE_LOCAL, RTN_LOCAL, 2, NULL, 0);
	ni->forwarding_v4 = true;
}

/*
 * The ruleset firewalld 1.3's nftables backend loads for the stock public zone, reduced to
 * what decides a new inbound connection: established/DNAT/lo accepted, dispatch to the zone
 * chain by source then by interface, the zone's allow rules, then its target.
 */
static inline struct pc_nft_table *fw_table(struct pc_nft_ruleset *rs)
{
	return (struct pc_nft_table *)pc_nft_table_find(rs, NFPROTO_INET, "firewalld");
}

static inline void fw_zone_chain(struct pc_nft_ruleset *rs, const char *zone, const char *target)
{
	char name[64];
	struct pc_nft_rule *r;
	struct pc_nft_chain *c;

	snprintf(name, sizeof(name), "filter_IN_%s", zone);
	c = nb_chain(fw_table(rs), name);
	if (strcmp(target, "ACCEPT") == 0) {
		nb_accept(nb_rule(c, "accept"));
	} else if (strcmp(target, "DROP") == 0) {
		nb_drop(nb_rule(c, "drop"));
	} else {
		r = nb_rule(c, "reject with icmpx admin-prohibited");
		nb_reject(r, NFT_REJECT_ICMPX_UNREACH, NFT_REJECT_ICMPX_ADMIN_PROHIBITED);
	}
}

/* "tcp dport PORT accept" at the head of zone chain @zone. */
static inline void fw_allow(struct pc_nft_ruleset *rs, const char *zone, uint16_t port)
{
	char name[64], text[64];
	struct pc_nft_chain *c;
	struct pc_nft_rule *r, tmp;

	snprintf(name, sizeof(name), "filter_IN_%s", zone);
	c = (struct pc_nft_chain *)pc_nft_chain_find(fw_table(rs), name);
	assert_non_null(c);
	snprintf(text, sizeof(text), "tcp dport %u accept", port);
	r = nb_rule(c, text);
	nb_l4proto(r, IPPROTO_TCP);
	nb_dport(r, port);
	nb_accept(r);
	/* Allow rules come before the target's rule. */
	tmp = c->rules[c->n_rules - 1];
	memmove(&c->rules[1], &c->rules[0], (c->n_rules - 1) * sizeof(tmp));
	c->rules[0] = tmp;
}

/* "ip saddr PREFIX goto filter_IN_ZONE" at the head of the zone dispatch. */
static inline void fw_source_zone(struct pc_nft_ruleset *rs, const char *prefix, const char *zone)
{
	char name[64], text[96];
	struct pc_nft_chain *c =
	    (struct pc_nft_chain *)pc_nft_chain_find(fw_table(rs), "filter_INPUT_ZONES");
	struct pc_nft_rule *r, tmp;

	snprintf(name, sizeof(name), "filter_IN_%s", zone);
	snprintf(text, sizeof(text), "ip saddr %s goto %s", prefix, name);
	r = nb_rule(c, text);
	nb_nfproto(r, NFPROTO_IPV4);
	nb_addr_match(r, prefix, false, NFT_CMP_EQ);
	nb_goto(r, name);
	tmp = c->rules[c->n_rules - 1];
	memmove(&c->rules[1], &c->rules[0], (c->n_rules - 1) * sizeof(tmp));
	c->rules[0] = tmp;
}

static inline void mk_ruleset(struct pc_nft_ruleset *rs)
{
	struct pc_nft_table *t;
	struct pc_nft_chain *c;
	struct pc_nft_rule *r;

	*rs = (struct pc_nft_ruleset){.genid = 7};
	t = nb_table(rs, NFPROTO_INET, "firewalld");
	c = nb_base_chain(t, "filter_INPUT", "filter", NF_INET_LOCAL_IN, 10, NF_ACCEPT);
	r = nb_rule(c, "ct state established,related accept");
	nb_ct_state(r, NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED));
	nb_accept(r);
	r = nb_rule(c, "ct status dnat accept");
	nb_ct_status(r, IPS_DST_NAT);
	nb_accept(r);
	r = nb_rule(c, "iifname \"lo\" accept");
	nb_iifname(r, "lo", false);
	nb_accept(r);
	nb_jump(nb_rule(c, "jump filter_INPUT_ZONES"), "filter_INPUT_ZONES");
	r = nb_rule(c, "reject with icmpx admin-prohibited");
	nb_reject(r, NFT_REJECT_ICMPX_UNREACH, NFT_REJECT_ICMPX_ADMIN_PROHIBITED);
	c = nb_chain(t, "filter_INPUT_ZONES");
	nb_goto(nb_rule(c, "goto filter_IN_public"), "filter_IN_public");
	fw_zone_chain(rs, "public", "default");
	fw_zone_chain(rs, "drop", "DROP");
	fw_zone_chain(rs, "trusted", "ACCEPT");
	fw_allow(rs, "public", 22);
}

static inline void add_port(struct pc_fw_ports *ports, const char *port, const char *proto)
{
	struct pc_fw_port *p = pc_array_grow(&ports->v, &ports->n, sizeof(*p));

	assert_non_null(p);
	assert_int_equal(pc_fw_parse_port(port, proto, p), 0);
}

static inline struct pc_fw_service *add_service(struct pc_fw_config *c, const char *name,
						const char *port, const char *proto)
{
	struct pc_fw_service *s = pc_array_grow(&c->services, &c->n_services, sizeof(*s));

	assert_non_null(s);
	s->name = strdup(name);
	if (port)
		add_port(&s->ports, port, proto);
	return s;
}

static inline struct pc_fw_zone *add_zone(struct pc_fw_config *c, const char *name,
					  const char *target)
{
	struct pc_fw_zone *z = pc_array_grow(&c->zones, &c->n_zones, sizeof(*z));

	assert_non_null(z);
	z->name = strdup(name);
	z->target = strdup(target);
	return z;
}

/* firewalld's stock public zone: ssh and dhcpv6-client, target default. */
static inline void mk_config(struct pc_fw_config *c)
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

static inline void mk_firewalld(struct pc_firewalld *fw)
{
	*fw = (struct pc_firewalld){.running = true, .have_permanent = true};
	fw->state = strdup("RUNNING");
	fw->version = strdup("1.3.3");
	fw->default_zone = strdup("public");
	mk_config(&fw->runtime);
	mk_config(&fw->permanent);
}

static inline struct pc_fw_zone *zone(struct pc_fw_config *c, const char *name)
{
	return (struct pc_fw_zone *)pc_fw_config_zone(c, name);
}

struct fixture {
	struct pc_netif ni;
	struct pc_firewalld fw;
	struct pc_nft_ruleset rs;
	bool no_ruleset; /* analyse as if nftables could not be read */
	struct pc_listener_set ls;
	struct pc_report report;
	struct pc_strv ignore;	    /* IgnoreInterfaces= */
	struct pc_strv ignore_sets; /* IgnoreSets= */
};

static inline int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	mk_netif(&f->ni);
	mk_firewalld(&f->fw);
	mk_ruleset(&f->rs);
	*state = f;
	return 0;
}

static inline int teardown(void **state)
{
	struct fixture *f = *state;

	pc_report_clear(&f->report);
	pc_firewalld_clear(&f->fw);
	pc_nft_ruleset_clear(&f->rs);
	pc_netif_free(&f->ni);
	pc_strv_clear(&f->ignore);
	pc_strv_clear(&f->ignore_sets);
	free(f->ls.items);
	free(f);
	return 0;
}

static inline void listen_on(struct fixture *f, struct pc_listener l)
{
	struct pc_listener *slot = pc_array_grow(&f->ls.items, &f->ls.n, sizeof(*slot));

	assert_non_null(slot);
	*slot = l;
}

/* The listeners of a Status reply with every index resolved: a path's sources and rule
 * their entries, a set literal's set its descriptor. Replies that say the same are equal. */
static inline json_t *reply_resolved(const json_t *reply)
{
	const json_t *sets = json_object_get(reply, "sets");
	const json_t *rules = json_object_get(reply, "rules");
	const json_t *sources = json_object_get(reply, "sources");
	json_t *ls = json_deep_copy(json_object_get(reply, "listeners")), *l, *p;
	size_t i, k;

	assert_non_null(ls);
	json_array_foreach(ls, i, l) json_array_foreach(json_object_get(l, "paths"), k, p)
	{
		json_t *src = json_deep_copy(json_array_get(
		    sources, (size_t)json_integer_value(json_object_get(p, "sources"))));
		json_t *conj, *lit;
		size_t a, b;

		assert_non_null(src);
		json_array_foreach(json_object_get(src, "any_of"), a, conj)
		    json_array_foreach(json_object_get(conj, "all_of"), b, lit)
		{
			const json_t *set = json_object_get(lit, "set");

			if (json_is_integer(set))
				json_object_set(
				    lit, "set",
				    json_array_get(sets, (size_t)json_integer_value(set)));
		}
		json_object_set_new(p, "sources", src);
		if (json_object_get(p, "rule"))
			json_object_set(p, "rule",
					json_array_get(rules, (size_t)json_integer_value(
								  json_object_get(p, "rule"))));
	}
	return ls;
}

/* The Status reply of @report. */
static inline json_t *reply_of(const struct pc_report *report)
{
	json_t *j = NULL;

	assert_int_equal(pc_report_to_json(report, &j), 0);
	return j;
}

/*
 * The analysis of the fixture (Explain's inline forms, which the reply converts), and, to
 * hold the Status path to it, the same with the forms written as the reply's shared
 * entries (shared_forms): both replies must say the same.
 */
static inline const struct pc_listener_report *run(struct fixture *f)
{
	pc_report_clear(&f->report);
	struct pc_analysis_input in = {.listeners = &f->ls,
				       .netif = &f->ni,
				       .fw = &f->fw,
				       .nft = f->no_ruleset ? NULL : &f->rs,
				       .nft_error = "test: not read",
				       .ignore_interfaces = &f->ignore,
				       .ignore_sets = &f->ignore_sets};
	struct pc_report shared = {0};
	json_t *a, *b, *ra, *rb;

	assert_int_equal(pc_analysis_run(&in, &f->report), 0);
	assert_int_equal(f->report.n_listeners, f->ls.n);
	in.shared_forms = true;
	assert_int_equal(pc_analysis_run(&in, &shared), 0);
	a = reply_of(&f->report);
	b = reply_of(&shared);
	ra = reply_resolved(a);
	rb = reply_resolved(b);
	if (!json_equal(ra, rb)) {
		char *x = json_dumps(ra, JSON_COMPACT), *y = json_dumps(rb, JSON_COMPACT);

		fprintf(stderr, "inline forms: %s\nshared forms: %s\n", x, y);
		free(x);
		free(y);
		fail_msg("the reply from shared forms differs from the one from inline forms");
	}
	json_decref(ra);
	json_decref(rb);
	json_decref(a);
	json_decref(b);
	pc_report_clear(&shared);
	return f->report.listeners;
}

/* --- finding paths in a report -------------------------------------------------------- */

/* The eth0 IPv4 path whose source range holds @src. */
/* Paths of real clients (not spoofed): the ones the exposure counts. */
static inline size_t n_real(const struct pc_listener_report *lr)
{
	size_t n = 0;

	for (size_t i = 0; i < lr->n_paths; i++)
		n += !lr->paths[i].spoofed;
	return n;
}

/* The @k-th path of real clients. */
static inline const struct pc_path *real_path(const struct pc_listener_report *lr, size_t k)
{
	for (size_t i = 0; i < lr->n_paths; i++)
		if (!lr->paths[i].spoofed && k-- == 0)
			return &lr->paths[i];
	fail_msg("no real path %zu", k);
	return NULL;
}

static inline const struct pc_path *path_for(const struct pc_listener_report *lr,
					     const char *ifname, const char *src)
{
	struct pc_addr a;

	assert_int_equal(pc_addr_from_string(src, &a), 0);
	for (size_t i = 0; i < lr->n_paths; i++) {
		const struct pc_path *p = &lr->paths[i];
		char *copy, *tok, *save = NULL;
		bool hit = false;

		if (strcmp(p->interface, ifname) || p->family != a.family)
			continue;
		if (strcmp(p->source, "any") == 0)
			return p;
		copy = strdup(p->source);
		for (tok = strtok_r(copy, ",", &save); tok && !hit;
		     tok = strtok_r(NULL, ",", &save)) {
			struct pc_prefix pfx;
			struct pc_addr lo, hi;
			char *dash = strchr(tok, '-');

			/* a prefix, or a range "lo-hi" (what is not one) */
			if (dash) {
				*dash = 0;
				hit = pc_addr_from_string(tok, &lo) == 0 &&
				      pc_addr_from_string(dash + 1, &hi) == 0 &&
				      pc_addr_cmp(&lo, &a) <= 0 && pc_addr_cmp(&a, &hi) <= 0;
			} else {
				hit = pc_prefix_from_string(tok, &pfx) == 0 &&
				      pc_prefix_contains(&pfx, &a);
			}
		}
		free(copy);
		if (hit)
			return p;
	}
	for (size_t i = 0; i < lr->n_paths; i++)
		print_message("  path %s [%s]\n", lr->paths[i].interface, lr->paths[i].source);
	fail_msg("no %s path for %s", ifname, src);
	return NULL;
}
