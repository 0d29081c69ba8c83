/* SPDX-License-Identifier: MIT */
/*
 * firewalld settings parsing from hand-built messages shaped like firewalld 1.3's
 * getZoneSettings2 / getServiceSettings2 replies (dbus-python marshalling: lists of str
 * as "as", lists of tuples as "a(ss)"/"a(ssss)", empty lists omitted), port strings and
 * include resolution. No bus.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "portcheck/firewalld.h"

static void msg_unrefp(DBusMessage **m)
{
	if (*m)
		dbus_message_unref(*m);
}
#define _cleanup_msg_ _cleanup_(msg_unrefp)

/* A message whose only argument is an a{sv} under construction. */
struct dict {
	DBusMessage *m;
	DBusMessageIter top, arr;
};

static void dict_begin(struct dict *d)
{
	d->m = dbus_message_new_signal("/test", "io.portcheck.Test", "Settings");
	assert_non_null(d->m);
	dbus_message_iter_init_append(d->m, &d->top);
	assert_true(dbus_message_iter_open_container(&d->top, DBUS_TYPE_ARRAY, "{sv}", &d->arr));
}

/* Close the dict and hand over the message. */
static DBusMessage *dict_end(struct dict *d)
{
	assert_true(dbus_message_iter_close_container(&d->top, &d->arr));
	return d->m;
}

static void entry_begin(struct dict *d, const char *key, const char *sig, DBusMessageIter *entry,
			DBusMessageIter *var)
{
	assert_true(dbus_message_iter_open_container(&d->arr, DBUS_TYPE_DICT_ENTRY, NULL, entry));
	assert_true(dbus_message_iter_append_basic(entry, DBUS_TYPE_STRING, &key));
	assert_true(dbus_message_iter_open_container(entry, DBUS_TYPE_VARIANT, sig, var));
}

static void entry_end(struct dict *d, DBusMessageIter *entry, DBusMessageIter *var)
{
	assert_true(dbus_message_iter_close_container(entry, var));
	assert_true(dbus_message_iter_close_container(&d->arr, entry));
}

static void add_string(struct dict *d, const char *key, const char *value)
{
	DBusMessageIter e, v;

	entry_begin(d, key, "s", &e, &v);
	assert_true(dbus_message_iter_append_basic(&v, DBUS_TYPE_STRING, &value));
	entry_end(d, &e, &v);
}

static void add_bool(struct dict *d, const char *key, bool value)
{
	dbus_bool_t b = value;
	DBusMessageIter e, v;

	entry_begin(d, key, "b", &e, &v);
	assert_true(dbus_message_iter_append_basic(&v, DBUS_TYPE_BOOLEAN, &b));
	entry_end(d, &e, &v);
}

static void add_int32(struct dict *d, const char *key, int32_t value)
{
	DBusMessageIter e, v;

	entry_begin(d, key, "i", &e, &v);
	assert_true(dbus_message_iter_append_basic(&v, DBUS_TYPE_INT32, &value));
	entry_end(d, &e, &v);
}

/* NULL-terminated list of strings as "as". */
static void add_strv(struct dict *d, const char *key, const char *const *strv)
{
	DBusMessageIter e, v, a;

	entry_begin(d, key, "as", &e, &v);
	assert_true(dbus_message_iter_open_container(&v, DBUS_TYPE_ARRAY, "s", &a));
	for (; *strv; strv++)
		assert_true(dbus_message_iter_append_basic(&a, DBUS_TYPE_STRING, strv));
	assert_true(dbus_message_iter_close_container(&v, &a));
	entry_end(d, &e, &v);
}

/* NULL-terminated list of @width-string tuples as "a(s...)". */
static void add_tuples(struct dict *d, const char *key, size_t width, const char *const *strs)
{
	char sig[16] = "a(", *p = sig + 2;
	DBusMessageIter e, v, a, st;

	for (size_t i = 0; i < width; i++)
		*p++ = 's';
	*p = ')';
	entry_begin(d, key, sig, &e, &v);
	assert_true(dbus_message_iter_open_container(&v, DBUS_TYPE_ARRAY, sig + 1, &a));
	for (; *strs; strs += width) {
		assert_true(dbus_message_iter_open_container(&a, DBUS_TYPE_STRUCT, NULL, &st));
		for (size_t i = 0; i < width; i++)
			assert_true(
			    dbus_message_iter_append_basic(&st, DBUS_TYPE_STRING, &strs[i]));
		assert_true(dbus_message_iter_close_container(&a, &st));
	}
	assert_true(dbus_message_iter_close_container(&v, &a));
	entry_end(d, &e, &v);
}

/* a{ss}, as firewalld's service "destination": a type no parser field has. */
static void add_string_map(struct dict *d, const char *key, const char *k, const char *val)
{
	DBusMessageIter e, v, a, de;

	entry_begin(d, key, "a{ss}", &e, &v);
	assert_true(dbus_message_iter_open_container(&v, DBUS_TYPE_ARRAY, "{ss}", &a));
	assert_true(dbus_message_iter_open_container(&a, DBUS_TYPE_DICT_ENTRY, NULL, &de));
	assert_true(dbus_message_iter_append_basic(&de, DBUS_TYPE_STRING, &k));
	assert_true(dbus_message_iter_append_basic(&de, DBUS_TYPE_STRING, &val));
	assert_true(dbus_message_iter_close_container(&a, &de));
	assert_true(dbus_message_iter_close_container(&v, &a));
	entry_end(d, &e, &v);
}

static int parse_zone(DBusMessage *m, struct pc_fw_zone *ret)
{
	DBusMessageIter it;

	assert_true(dbus_message_iter_init(m, &it));
	return pc_fw_parse_zone_settings(&it, "public", ret);
}

static int parse_service(DBusMessage *m, struct pc_fw_service *ret)
{
	DBusMessageIter it;

	/* A message without arguments gives an iterator at DBUS_TYPE_INVALID. */
	dbus_message_iter_init(m, &it);
	return pc_fw_parse_service_settings(&it, "svc", ret);
}

static void assert_strv(const struct pc_strv *sv, const char *const *expect)
{
	size_t n = 0;

	for (; expect[n]; n++) {
		assert_true(n < sv->n);
		assert_string_equal(sv->v[n], expect[n]);
	}
	assert_int_equal(sv->n, n);
}

static void assert_port(const struct pc_fw_port *p, unsigned lo, unsigned hi, const char *proto)
{
	assert_int_equal(p->lo, lo);
	assert_int_equal(p->hi, hi);
	assert_string_equal(p->proto, proto);
}

static void test_zone_all_fields(void **state)
{
	struct pc_fw_zone z = {0};
	struct dict d;

	dict_begin(&d);
	/* Keys firewalld sends that the parser has no use for come first and last. */
	add_string(&d, "version", "1.0");
	add_string(&d, "short", "Public");
	add_string(&d, "description", "For use in public areas.");
	add_bool(&d, "UNUSED", false);
	add_string(&d, "target", "%%REJECT%%");
	add_strv(&d, "services", (const char *const[]){"ssh", "dhcpv6-client", "cockpit", NULL});
	add_tuples(&d, "ports", 2,
		   (const char *const[]){"8080", "tcp", "60000-61000", "udp", "9", "sctp", NULL});
	add_strv(&d, "protocols", (const char *const[]){"gre", "igmp", NULL});
	add_tuples(&d, "source_ports", 2, (const char *const[]){"53", "udp", NULL});
	add_strv(&d, "rules_str",
		 (const char *const[]){"rule family=\"ipv4\" source address=\"192.0.2.0/24\" "
				       "service name=\"http\" accept",
				       NULL});
	add_tuples(
	    &d, "forward_ports", 4,
	    (const char *const[]){"80", "tcp", "8080", "", "443", "tcp", "", "192.0.2.7", NULL});
	add_strv(&d, "icmp_blocks", (const char *const[]){"echo-request", NULL});
	add_bool(&d, "icmp_block_inversion", true);
	add_bool(&d, "masquerade", true);
	add_strv(&d, "interfaces", (const char *const[]){"eth0", "ens3", NULL});
	add_strv(&d, "sources", (const char *const[]){"198.51.100.0/24", "ipset:blocked", NULL});
	add_bool(&d, "forward", true);
	add_string_map(&d, "future_key", "a", "b");
	_cleanup_msg_ DBusMessage *m = dict_end(&d);

	assert_int_equal(parse_zone(m, &z), 0);
	assert_string_equal(z.name, "public");
	assert_string_equal(z.target, "%%REJECT%%");
	assert_strv(&z.services, (const char *const[]){"ssh", "dhcpv6-client", "cockpit", NULL});
	assert_int_equal(z.ports.n, 3);
	assert_port(&z.ports.v[0], 8080, 8080, "tcp");
	assert_port(&z.ports.v[1], 60000, 61000, "udp");
	assert_port(&z.ports.v[2], 9, 9, "sctp");
	assert_strv(&z.protocols, (const char *const[]){"gre", "igmp", NULL});
	assert_int_equal(z.source_ports.n, 1);
	assert_port(&z.source_ports.v[0], 53, 53, "udp");
	assert_strv(&z.rich_rules,
		    (const char *const[]){"rule family=\"ipv4\" source address=\"192.0.2.0/24\" "
					  "service name=\"http\" accept",
					  NULL});
	assert_strv(&z.forward_ports,
		    (const char *const[]){"port=80:proto=tcp:toport=8080:toaddr=",
					  "port=443:proto=tcp:toport=:toaddr=192.0.2.7", NULL});
	assert_strv(&z.icmp_blocks, (const char *const[]){"echo-request", NULL});
	assert_true(z.icmp_block_inversion);
	assert_true(z.masquerade);
	assert_strv(&z.interfaces, (const char *const[]){"eth0", "ens3", NULL});
	assert_strv(&z.sources, (const char *const[]){"198.51.100.0/24", "ipset:blocked", NULL});

	pc_fw_zone_clear(&z);
	assert_null(z.name);
	pc_fw_zone_clear(&z); /* idempotent */
	pc_fw_zone_clear(NULL);
}

/* firewalld omits empty lists, so a zone with nothing in it is just its target. */
/* firewalld's strings are UTF-8 (D-Bus checks) but may hold anything else: stored sanitised. */
static void test_zone_hostile_strings(void **state)
{
	_cleanup_msg_ DBusMessage *m = NULL;
	struct pc_fw_zone z = {0};
	DBusMessageIter it;
	struct dict d;

	dict_begin(&d);
	add_string(&d, "target", "ACCEPT\033[2J");
	add_strv(&d, "services", (const char *const[]){"ht\ntp", NULL});
	add_strv(&d, "interfaces", (const char *const[]){"e\033]0;x\007", NULL});
	add_strv(&d, "rules_str",
		 (const char *const[]){"rule \xc2\x9b"
				       "31m accept",
				       NULL});
	add_tuples(&d, "forward_ports", 4, (const char *const[]){"80", "tcp", "8080", "\r", NULL});
	m = dict_end(&d);
	assert_true(dbus_message_iter_init(m, &it));
	assert_int_equal(pc_fw_parse_zone_settings(&it, "pub\\lic\033", &z), 0);
	assert_string_equal(z.name, "pub\\\\lic\\x1b");
	assert_string_equal(z.target, "ACCEPT\\x1b[2J");
	assert_string_equal(z.services.v[0], "ht\\x0atp");
	assert_string_equal(z.interfaces.v[0], "e\\x1b]0;x\\x07");
	assert_string_equal(z.rich_rules.v[0], "rule \\xc2\\x9b31m accept");
	assert_string_equal(z.forward_ports.v[0], "port=80:proto=tcp:toport=8080:toaddr=\\x0d");
	pc_fw_zone_clear(&z);
}

static void test_zone_sparse(void **state)
{
	struct pc_fw_zone z = {0};
	struct dict d;

	dict_begin(&d);
	add_bool(&d, "masquerade", false);
	_cleanup_msg_ DBusMessage *m = dict_end(&d);

	assert_int_equal(parse_zone(m, &z), 0);
	assert_string_equal(z.name, "public");
	/* A missing target means firewalld's default one. */
	assert_string_equal(z.target, "default");
	assert_int_equal(z.services.n, 0);
	assert_int_equal(z.ports.n, 0);
	assert_int_equal(z.interfaces.n, 0);
	assert_false(z.masquerade);
	assert_false(z.icmp_block_inversion);
	pc_fw_zone_clear(&z);
}

/* One wrongly typed known key per case; each must fail the whole zone. */
static void test_zone_wrong_types(void **state)
{
	static const char *const zone_keys_strv[] = {"services",    "protocols",  "rules_str",
						     "icmp_blocks", "interfaces", "sources"};
	static const char *const zone_keys_ports[] = {"ports", "source_ports", "forward_ports"};
	static const char *const zone_keys_bool[] = {"masquerade", "icmp_block_inversion"};
	struct pc_fw_zone z, before;

	memset(&z, 0x5a, sizeof(z));
	before = z;

	for (size_t i = 0; i < ELEMENTSOF(zone_keys_strv); i++) {
		struct dict d;

		dict_begin(&d);
		add_string(&d, "target", "default");
		add_string(&d, zone_keys_strv[i], "ssh"); /* s instead of as */
		_cleanup_msg_ DBusMessage *m = dict_end(&d);
		assert_int_equal(parse_zone(m, &z), -EBADMSG);
		assert_memory_equal(&z, &before, sizeof(z)); /* untouched on failure */
	}
	for (size_t i = 0; i < ELEMENTSOF(zone_keys_ports); i++) {
		struct dict d;

		dict_begin(&d);
		add_strv(&d, zone_keys_ports[i], (const char *const[]){"80/tcp", NULL});
		_cleanup_msg_ DBusMessage *m = dict_end(&d);
		assert_int_equal(parse_zone(m, &z), -EBADMSG);
	}
	for (size_t i = 0; i < ELEMENTSOF(zone_keys_bool); i++) {
		struct dict d;

		dict_begin(&d);
		add_int32(&d, zone_keys_bool[i], 1);
		_cleanup_msg_ DBusMessage *m = dict_end(&d);
		assert_int_equal(parse_zone(m, &z), -EBADMSG);
	}
	{
		struct dict d;

		dict_begin(&d);
		add_bool(&d, "target", true);
		_cleanup_msg_ DBusMessage *m = dict_end(&d);
		assert_int_equal(parse_zone(m, &z), -EBADMSG);
	}
	{
		/* a(ss) where a(ssss) is expected, and the other way round */
		struct dict d;

		dict_begin(&d);
		add_tuples(&d, "forward_ports", 2, (const char *const[]){"80", "tcp", NULL});
		_cleanup_msg_ DBusMessage *m = dict_end(&d);
		assert_int_equal(parse_zone(m, &z), -EBADMSG);
	}
	{
		struct dict d;

		dict_begin(&d);
		add_tuples(&d, "ports", 4, (const char *const[]){"80", "tcp", "81", "", NULL});
		_cleanup_msg_ DBusMessage *m = dict_end(&d);
		assert_int_equal(parse_zone(m, &z), -EBADMSG);
	}
	assert_memory_equal(&z, &before, sizeof(z));
}

static void test_zone_bad_values(void **state)
{
	static const char *const bad_ports[][2] = {
	    {"0", "tcp"}, {"65536", "tcp"}, {"80", "icmp"}, {"10-5", "udp"}, {"", "tcp"}};
	struct pc_fw_zone z = {0};

	for (size_t i = 0; i < ELEMENTSOF(bad_ports); i++) {
		struct dict d;

		dict_begin(&d);
		add_tuples(
		    &d, "ports", 2,
		    (const char *const[]){"22", "tcp", bad_ports[i][0], bad_ports[i][1], NULL});
		_cleanup_msg_ DBusMessage *m = dict_end(&d);
		assert_int_equal(parse_zone(m, &z), -EBADMSG);
	}
	{
		/* The same list twice would merge silently. */
		struct dict d;

		dict_begin(&d);
		add_strv(&d, "services", (const char *const[]){"ssh", NULL});
		add_strv(&d, "services", (const char *const[]){"http", NULL});
		_cleanup_msg_ DBusMessage *m = dict_end(&d);
		assert_int_equal(parse_zone(m, &z), -EBADMSG);
	}
	{
		/* Unknown keys are ignored whatever their type, even repeated. */
		struct dict d;

		dict_begin(&d);
		add_int32(&d, "new_thing", 1);
		add_int32(&d, "new_thing", 2);
		_cleanup_msg_ DBusMessage *m = dict_end(&d);
		assert_int_equal(parse_zone(m, &z), 0);
		pc_fw_zone_clear(&z);
	}
}

/* The settings argument itself has the wrong shape. */
static void test_zone_wrong_container(void **state)
{
	struct pc_fw_zone z = {0};
	DBusMessageIter it, a, e;
	const char *s = "x";
	int32_t i = 1;

	{
		_cleanup_msg_ DBusMessage *m =
		    dbus_message_new_signal("/test", "io.portcheck.Test", "Settings");
		assert_true(dbus_message_append_args(m, DBUS_TYPE_STRING, &s, DBUS_TYPE_INVALID));
		assert_int_equal(parse_zone(m, &z), -EBADMSG);
	}
	{
		_cleanup_msg_ DBusMessage *m =
		    dbus_message_new_signal("/test", "io.portcheck.Test", "Settings");
		dbus_message_iter_init_append(m, &it);
		assert_true(dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "s", &a));
		assert_true(dbus_message_iter_append_basic(&a, DBUS_TYPE_STRING, &s));
		assert_true(dbus_message_iter_close_container(&it, &a));
		assert_int_equal(parse_zone(m, &z), -EBADMSG);
	}
	{
		/* a{ss}: values are not variants */
		_cleanup_msg_ DBusMessage *m =
		    dbus_message_new_signal("/test", "io.portcheck.Test", "Settings");
		dbus_message_iter_init_append(m, &it);
		assert_true(dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{ss}", &a));
		assert_true(dbus_message_iter_open_container(&a, DBUS_TYPE_DICT_ENTRY, NULL, &e));
		assert_true(dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &s));
		assert_true(dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &s));
		assert_true(dbus_message_iter_close_container(&a, &e));
		assert_true(dbus_message_iter_close_container(&it, &a));
		assert_int_equal(parse_zone(m, &z), -EBADMSG);
	}
	{
		/* a{iv}: keys are not strings */
		_cleanup_msg_ DBusMessage *m =
		    dbus_message_new_signal("/test", "io.portcheck.Test", "Settings");
		DBusMessageIter v;

		dbus_message_iter_init_append(m, &it);
		assert_true(dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{iv}", &a));
		assert_true(dbus_message_iter_open_container(&a, DBUS_TYPE_DICT_ENTRY, NULL, &e));
		assert_true(dbus_message_iter_append_basic(&e, DBUS_TYPE_INT32, &i));
		assert_true(dbus_message_iter_open_container(&e, DBUS_TYPE_VARIANT, "s", &v));
		assert_true(dbus_message_iter_append_basic(&v, DBUS_TYPE_STRING, &s));
		assert_true(dbus_message_iter_close_container(&e, &v));
		assert_true(dbus_message_iter_close_container(&a, &e));
		assert_true(dbus_message_iter_close_container(&it, &a));
		assert_int_equal(parse_zone(m, &z), -EBADMSG);
	}
	{
		/* no argument at all */
		_cleanup_msg_ DBusMessage *m =
		    dbus_message_new_signal("/test", "io.portcheck.Test", "Settings");
		assert_int_equal(parse_service(m, &(struct pc_fw_service){0}), -EBADMSG);
	}
}

static void test_service(void **state)
{
	struct pc_fw_service s = {0};
	struct dict d;

	dict_begin(&d);
	add_string(&d, "version", "");
	add_string(&d, "short", "Samba");
	add_tuples(
	    &d, "ports", 2,
	    (const char *const[]){"137", "udp", "138", "udp", "139", "tcp", "445", "tcp", NULL});
	add_strv(&d, "modules", (const char *const[]){"netbios-ns", NULL});
	add_string_map(&d, "destination", "ipv4", "224.0.0.251");
	add_strv(&d, "protocols", (const char *const[]){"igmp", NULL});
	add_tuples(&d, "source_ports", 2, (const char *const[]){"1024-65535", "udp", NULL});
	add_strv(&d, "includes", (const char *const[]){"samba-client", NULL});
	add_strv(&d, "helpers", (const char *const[]){"netbios-ns", NULL});
	_cleanup_msg_ DBusMessage *m = dict_end(&d);

	assert_int_equal(parse_service(m, &s), 0);
	assert_string_equal(s.name, "svc");
	assert_int_equal(s.ports.n, 4);
	assert_port(&s.ports.v[0], 137, 137, "udp");
	assert_port(&s.ports.v[1], 138, 138, "udp");
	assert_port(&s.ports.v[2], 139, 139, "tcp");
	assert_port(&s.ports.v[3], 445, 445, "tcp");
	assert_strv(&s.protocols, (const char *const[]){"igmp", NULL});
	assert_strv(&s.includes, (const char *const[]){"samba-client", NULL});
	pc_fw_service_clear(&s);
	pc_fw_service_clear(&s);
}

static void test_service_wrong_types(void **state)
{
	struct pc_fw_service s, before;

	memset(&s, 0x5a, sizeof(s));
	before = s;
	{
		struct dict d;

		dict_begin(&d);
		add_strv(&d, "ports", (const char *const[]){"80", NULL});
		_cleanup_msg_ DBusMessage *m = dict_end(&d);
		assert_int_equal(parse_service(m, &s), -EBADMSG);
	}
	{
		struct dict d;

		dict_begin(&d);
		add_string(&d, "includes", "http");
		_cleanup_msg_ DBusMessage *m = dict_end(&d);
		assert_int_equal(parse_service(m, &s), -EBADMSG);
	}
	{
		struct dict d;

		dict_begin(&d);
		add_tuples(&d, "protocols", 2, (const char *const[]){"gre", "x", NULL});
		_cleanup_msg_ DBusMessage *m = dict_end(&d);
		assert_int_equal(parse_service(m, &s), -EBADMSG);
	}
	{
		/* the service reader ignores zone-only keys, whatever their type */
		struct dict d;

		dict_begin(&d);
		add_int32(&d, "target", 3);
		add_int32(&d, "services", 3);
		_cleanup_msg_ DBusMessage *m = dict_end(&d);
		memset(&s, 0, sizeof(s));
		assert_int_equal(parse_service(m, &s), 0);
		assert_int_equal(s.ports.n, 0);
		pc_fw_service_clear(&s);
		s = before;
	}
	assert_memory_equal(&s, &before, sizeof(s));
}

static void test_parse_port(void **state)
{
	static const struct {
		const char *port, *proto;
		unsigned lo, hi;
	} good[] = {
	    {"80", "tcp", 80, 80},	     {"1", "udp", 1, 1},
	    {"65535", "sctp", 65535, 65535}, {"8000-8010", "dccp", 8000, 8010},
	    {"1-65535", "tcp", 1, 65535},    {"5-5", "udp", 5, 5},
	    {"0080", "tcp", 80, 80},
	};
	static const char *const bad_ports[] = {
	    "0",   "65536", "10-5",	 "abc",	 "80-",
	    "",	   "-80",   "80-90-100", "+80",	 " 80",
	    "80 ", "0-10",  "1-65536",	 "0x50", "99999999999999999999",
	    "-",   "8o",
	};
	static const char *const bad_protos[] = {"icmp", "TCP", "", "tcpx", "udplite"};
	struct pc_fw_port p, before;

	for (size_t i = 0; i < ELEMENTSOF(good); i++) {
		assert_int_equal(pc_fw_parse_port(good[i].port, good[i].proto, &p), 0);
		assert_port(&p, good[i].lo, good[i].hi, good[i].proto);
	}

	memset(&p, 0x5a, sizeof(p));
	before = p;
	for (size_t i = 0; i < ELEMENTSOF(bad_ports); i++) {
		assert_int_equal(pc_fw_parse_port(bad_ports[i], "tcp", &p), -EINVAL);
		assert_memory_equal(&p, &before, sizeof(p));
	}
	for (size_t i = 0; i < ELEMENTSOF(bad_protos); i++)
		assert_int_equal(pc_fw_parse_port("80", bad_protos[i], &p), -EINVAL);
	assert_int_equal(pc_fw_parse_port(NULL, "tcp", &p), -EINVAL);
	assert_int_equal(pc_fw_parse_port("80", NULL, &p), -EINVAL);
	assert_memory_equal(&p, &before, sizeof(p));
}

/* Build a service with own ports ("80/tcp" style, NULL-terminated) and includes. */
static void make_service(struct pc_fw_service *s, const char *name, const char *const *ports,
			 const char *const *protocols, const char *const *includes)
{
	memset(s, 0, sizeof(*s));
	s->name = strdup(name);
	assert_non_null(s->name);
	for (; ports && *ports; ports++) {
		char port[32], *slash;
		struct pc_fw_port *p = pc_array_grow(&s->ports.v, &s->ports.n, sizeof(*p));

		assert_non_null(p);
		strcpy(port, *ports);
		slash = strchr(port, '/');
		*slash = '\0';
		assert_int_equal(pc_fw_parse_port(port, slash + 1, p), 0);
	}
	for (; protocols && *protocols; protocols++)
		assert_int_equal(pc_strv_push(&s->protocols, *protocols), 0);
	for (; includes && *includes; includes++)
		assert_int_equal(pc_strv_push(&s->includes, *includes), 0);
}

static bool has_port(const struct pc_fw_service *s, unsigned lo, unsigned hi, const char *proto)
{
	for (size_t i = 0; i < s->ports.n; i++)
		if (s->ports.v[i].lo == lo && s->ports.v[i].hi == hi &&
		    strcmp(s->ports.v[i].proto, proto) == 0)
			return true;
	return false;
}

static void test_resolve_includes(void **state)
{
	struct pc_fw_config cfg = {0};
	const struct pc_fw_service *a, *b, *c, *lone, *chain;

	cfg.n_services = 5;
	cfg.services = calloc(cfg.n_services, sizeof(*cfg.services));
	assert_non_null(cfg.services);
	/* a and b include each other; a also names a service that does not exist. */
	make_service(&cfg.services[0], "a", (const char *const[]){"1/tcp", "9/udp", NULL},
		     (const char *const[]){"gre", NULL}, (const char *const[]){"b", "nope", NULL});
	make_service(&cfg.services[1], "b", (const char *const[]){"2/tcp", "9/udp", NULL}, NULL,
		     (const char *const[]){"a", NULL});
	/* c includes b, so gets a through it, and itself. */
	make_service(&cfg.services[2], "c", (const char *const[]){"3-4/sctp", NULL},
		     (const char *const[]){"gre", "igmp", NULL},
		     (const char *const[]){"b", "c", NULL});
	make_service(&cfg.services[3], "lone", (const char *const[]){"5/udp", NULL}, NULL, NULL);
	make_service(&cfg.services[4], "chain", NULL, NULL, (const char *const[]){"c", NULL});

	assert_int_equal(pc_fw_resolve_includes(&cfg), 0);
	a = pc_fw_config_service(&cfg, "a");
	b = pc_fw_config_service(&cfg, "b");
	c = pc_fw_config_service(&cfg, "c");
	lone = pc_fw_config_service(&cfg, "lone");
	chain = pc_fw_config_service(&cfg, "chain");
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_non_null(lone);
	assert_non_null(chain);
	assert_null(pc_fw_config_service(&cfg, "nope"));
	assert_null(pc_fw_config_service(&cfg, NULL));

	/* a = own ports first, then b's; the shared 9/udp only once */
	assert_int_equal(a->ports.n, 3);
	assert_port(&a->ports.v[0], 1, 1, "tcp");
	assert_port(&a->ports.v[1], 9, 9, "udp");
	assert_port(&a->ports.v[2], 2, 2, "tcp");
	assert_strv(&a->protocols, (const char *const[]){"gre", NULL});
	assert_strv(&a->includes, (const char *const[]){"b", "nope", NULL});

	assert_int_equal(b->ports.n, 3);
	assert_port(&b->ports.v[0], 2, 2, "tcp");
	assert_true(has_port(b, 1, 1, "tcp"));
	assert_true(has_port(b, 9, 9, "udp"));
	assert_strv(&b->protocols, (const char *const[]){"gre", NULL});

	assert_int_equal(c->ports.n, 4);
	assert_port(&c->ports.v[0], 3, 4, "sctp");
	assert_true(has_port(c, 1, 1, "tcp"));
	assert_true(has_port(c, 2, 2, "tcp"));
	assert_true(has_port(c, 9, 9, "udp"));
	assert_strv(&c->protocols, (const char *const[]){"gre", "igmp", NULL});

	assert_int_equal(lone->ports.n, 1);
	assert_port(&lone->ports.v[0], 5, 5, "udp");
	assert_int_equal(lone->protocols.n, 0);

	assert_int_equal(chain->ports.n, 4);
	assert_true(has_port(chain, 3, 4, "sctp"));
	assert_true(has_port(chain, 1, 1, "tcp"));
	assert_strv(&chain->includes, (const char *const[]){"c", NULL});

	/* Resolving again changes nothing: the closure is already complete. */
	assert_int_equal(pc_fw_resolve_includes(&cfg), 0);
	assert_int_equal(a->ports.n, 3);
	assert_int_equal(c->ports.n, 4);

	pc_fw_config_clear(&cfg);
	assert_int_equal(cfg.n_services, 0);
	pc_fw_config_clear(&cfg);
	assert_int_equal(pc_fw_resolve_includes(&cfg), 0);
}

static void test_config_lookup(void **state)
{
	struct pc_fw_config cfg = {0};
	struct pc_fw_zone *z;

	assert_null(pc_fw_config_zone(&cfg, "public"));
	z = pc_array_grow(&cfg.zones, &cfg.n_zones, sizeof(*z));
	assert_non_null(z);
	z->name = strdup("public");
	z = pc_array_grow(&cfg.zones, &cfg.n_zones, sizeof(*z));
	assert_non_null(z);
	z->name = strdup("trusted");
	assert_ptr_equal(pc_fw_config_zone(&cfg, "trusted"), &cfg.zones[1]);
	assert_ptr_equal(pc_fw_config_zone(&cfg, "public"), &cfg.zones[0]);
	assert_null(pc_fw_config_zone(&cfg, "work"));
	assert_null(pc_fw_config_zone(&cfg, NULL));
	assert_null(pc_fw_config_zone(NULL, "public"));
	pc_fw_config_clear(&cfg);
}

static void test_firewalld_clear(void **state)
{
	struct pc_firewalld fw = {0};

	fw.state = strdup("RUNNING");
	fw.error = strdup("x");
	fw.default_zone = strdup("public");
	pc_firewalld_clear(&fw);
	assert_null(fw.state);
	assert_null(fw.error);
	pc_firewalld_clear(&fw);
	pc_firewalld_clear(NULL);

	assert_int_equal(pc_firewalld_read(NULL, 1000, 1000, &fw), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_zone_all_fields), cmocka_unit_test(test_zone_hostile_strings),
	    cmocka_unit_test(test_zone_sparse),	    cmocka_unit_test(test_zone_wrong_types),
	    cmocka_unit_test(test_zone_bad_values), cmocka_unit_test(test_zone_wrong_container),
	    cmocka_unit_test(test_service),	    cmocka_unit_test(test_service_wrong_types),
	    cmocka_unit_test(test_parse_port),	    cmocka_unit_test(test_resolve_includes),
	    cmocka_unit_test(test_config_lookup),   cmocka_unit_test(test_firewalld_clear),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
