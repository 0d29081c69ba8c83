/* SPDX-License-Identifier: MIT */
/*
 * Pure half of the firewalld module: settings dictionaries as firewalld 1.x sends them
 * (getZoneSettings2, getServiceSettings2, config.*.getSettings2), port strings, service
 * includes, lookups and destructors. No bus I/O here, so all of it is unit-testable from
 * hand-built messages.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "portcheck/firewalld.h"
#include "portcheck/strsan.h"
#include "portcheck/util.h"

/*
 * firewalld omits empty lists and builds the rest with dbus-python, whose signatures are
 * fixed by the Python types (list of str, list of tuples, bool), so every known key has
 * exactly one acceptable signature.
 */
#define SIG_STRV "as"
#define SIG_PORTS "a(ss)"
#define SIG_FWD_PORTS "a(ssss)"

static void pc_dbus_freep(char **p)
{
	dbus_free(*p);
}

/* Compare the signature of the value at @iter with @sig. Returns 0, -EBADMSG, -ENOMEM. */
static int expect_signature(DBusMessageIter *iter, const char *sig)
{
	_cleanup_(pc_dbus_freep) char *have = dbus_message_iter_get_signature(iter);

	if (!have)
		return -ENOMEM;
	return strcmp(have, sig) == 0 ? 0 : -EBADMSG;
}

/*
 * Every string firewalld sends is stored sanitised (strsan.h): D-Bus guarantees UTF-8, not
 * the absence of control characters, and zone, service, interface and rule strings are
 * whatever was put in firewalld's configuration.
 */
static int push_sanitised(struct pc_strv *sv, const char *s)
{
	_cleanup_free_ char *clean = NULL;
	int r;

	r = pc_strsan(s, strlen(s), PC_STRSAN_RAW, &clean);
	if (r < 0)
		return r;
	return pc_strv_push(sv, clean);
}

static int read_strv(DBusMessageIter *variant, struct pc_strv *ret)
{
	DBusMessageIter arr;
	int r;

	r = expect_signature(variant, SIG_STRV);
	if (r < 0)
		return r;
	dbus_message_iter_recurse(variant, &arr);
	while (dbus_message_iter_get_arg_type(&arr) == DBUS_TYPE_STRING) {
		const char *s;

		dbus_message_iter_get_basic(&arr, &s);
		r = push_sanitised(ret, s);
		if (r < 0)
			return r;
		dbus_message_iter_next(&arr);
	}
	return 0;
}

/* Read the next @n string members of a struct into @ret. The signature was checked. */
static void read_struct_strings(DBusMessageIter *st, const char **ret, size_t n)
{
	DBusMessageIter m;

	dbus_message_iter_recurse(st, &m);
	for (size_t i = 0; i < n; i++) {
		dbus_message_iter_get_basic(&m, &ret[i]);
		dbus_message_iter_next(&m);
	}
}

static int read_ports(DBusMessageIter *variant, struct pc_fw_ports *ret)
{
	DBusMessageIter arr;
	int r;

	r = expect_signature(variant, SIG_PORTS);
	if (r < 0)
		return r;
	dbus_message_iter_recurse(variant, &arr);
	while (dbus_message_iter_get_arg_type(&arr) == DBUS_TYPE_STRUCT) {
		const char *s[2];
		struct pc_fw_port port, *p;

		read_struct_strings(&arr, s, 2);
		/* firewalld validates ports itself; anything else is a corrupt message. */
		if (pc_fw_parse_port(s[0], s[1], &port) < 0)
			return -EBADMSG;
		p = pc_array_grow(&ret->v, &ret->n, sizeof(*p));
		if (!p)
			return -ENOMEM;
		*p = port;
		dbus_message_iter_next(&arr);
	}
	return 0;
}

static int read_forward_ports(DBusMessageIter *variant, struct pc_strv *ret)
{
	DBusMessageIter arr;
	int r;

	r = expect_signature(variant, SIG_FWD_PORTS);
	if (r < 0)
		return r;
	dbus_message_iter_recurse(variant, &arr);
	while (dbus_message_iter_get_arg_type(&arr) == DBUS_TYPE_STRUCT) {
		_cleanup_free_ char *s = NULL;
		const char *f[4];

		read_struct_strings(&arr, f, 4);
		/* The spelling of firewall-cmd --list-forward-ports, which users recognise. */
		if (asprintf(&s, "port=%s:proto=%s:toport=%s:toaddr=%s", f[0], f[1], f[2], f[3]) <
		    0)
			return -ENOMEM;
		r = push_sanitised(ret, s);
		if (r < 0)
			return r;
		dbus_message_iter_next(&arr);
	}
	return 0;
}

static int read_string(DBusMessageIter *variant, char **ret)
{
	const char *s;
	char *copy;
	int r;

	r = expect_signature(variant, DBUS_TYPE_STRING_AS_STRING);
	if (r < 0)
		return r;
	dbus_message_iter_get_basic(variant, &s);
	r = pc_strsan(s, strlen(s), PC_STRSAN_RAW, &copy);
	if (r < 0)
		return r;
	free(*ret);
	*ret = copy;
	return 0;
}

static int read_bool(DBusMessageIter *variant, bool *ret)
{
	dbus_bool_t b;
	int r;

	r = expect_signature(variant, DBUS_TYPE_BOOLEAN_AS_STRING);
	if (r < 0)
		return r;
	dbus_message_iter_get_basic(variant, &b);
	*ret = b;
	return 0;
}

enum field_kind { F_STRING, F_STRV, F_PORTS, F_FWD_PORTS, F_BOOL };

struct field {
	const char *key;
	enum field_kind kind;
	size_t offset;
};

/*
 * Walk an a{sv} at @iter and store every key listed in @fields into @obj at the field's
 * offset. A known key seen twice is rejected: appending would silently merge two lists.
 */
static int parse_dict(DBusMessageIter *iter, const struct field *fields, size_t n_fields, void *obj)
{
	DBusMessageIter arr;
	unsigned seen = 0;
	int r;

	if (dbus_message_iter_get_arg_type(iter) != DBUS_TYPE_ARRAY ||
	    dbus_message_iter_get_element_type(iter) != DBUS_TYPE_DICT_ENTRY)
		return -EBADMSG;

	dbus_message_iter_recurse(iter, &arr);
	while (dbus_message_iter_get_arg_type(&arr) == DBUS_TYPE_DICT_ENTRY) {
		DBusMessageIter entry, variant;
		const struct field *f = NULL;
		const char *key;
		size_t i;

		dbus_message_iter_recurse(&arr, &entry);
		if (dbus_message_iter_get_arg_type(&entry) != DBUS_TYPE_STRING)
			return -EBADMSG;
		dbus_message_iter_get_basic(&entry, &key);
		dbus_message_iter_next(&entry);
		if (dbus_message_iter_get_arg_type(&entry) != DBUS_TYPE_VARIANT)
			return -EBADMSG;

		for (i = 0; i < n_fields; i++) {
			if (strcmp(fields[i].key, key) == 0) {
				f = &fields[i];
				break;
			}
		}
		if (f) {
			char *field = (char *)obj + f->offset;

			if (seen & (1u << i))
				return -EBADMSG;
			seen |= 1u << i;

			dbus_message_iter_recurse(&entry, &variant);
			switch (f->kind) {
			case F_STRING:
				r = read_string(&variant, (char **)field);
				break;
			case F_STRV:
				r = read_strv(&variant, (struct pc_strv *)field);
				break;
			case F_PORTS:
				r = read_ports(&variant, (struct pc_fw_ports *)field);
				break;
			case F_FWD_PORTS:
				r = read_forward_ports(&variant, (struct pc_strv *)field);
				break;
			case F_BOOL:
				r = read_bool(&variant, (bool *)field);
				break;
			default:
				r = -EBADMSG;
			}
			if (r < 0)
				return r;
		}
		dbus_message_iter_next(&arr);
	}
	return 0;
}

#define FIELD(k, kind, type, member)                                                               \
	{                                                                                          \
		k, kind, offsetof(type, member)                                                    \
	}

static const struct field zone_fields[] = {
    FIELD("target", F_STRING, struct pc_fw_zone, target),
    FIELD("services", F_STRV, struct pc_fw_zone, services),
    FIELD("ports", F_PORTS, struct pc_fw_zone, ports),
    FIELD("protocols", F_STRV, struct pc_fw_zone, protocols),
    FIELD("source_ports", F_PORTS, struct pc_fw_zone, source_ports),
    FIELD("rules_str", F_STRV, struct pc_fw_zone, rich_rules),
    FIELD("forward_ports", F_FWD_PORTS, struct pc_fw_zone, forward_ports),
    FIELD("icmp_blocks", F_STRV, struct pc_fw_zone, icmp_blocks),
    FIELD("icmp_block_inversion", F_BOOL, struct pc_fw_zone, icmp_block_inversion),
    FIELD("masquerade", F_BOOL, struct pc_fw_zone, masquerade),
    FIELD("interfaces", F_STRV, struct pc_fw_zone, interfaces),
    FIELD("sources", F_STRV, struct pc_fw_zone, sources),
};

static const struct field service_fields[] = {
    FIELD("ports", F_PORTS, struct pc_fw_service, ports),
    FIELD("protocols", F_STRV, struct pc_fw_service, protocols),
    FIELD("includes", F_STRV, struct pc_fw_service, includes),
};

int pc_fw_parse_zone_settings(DBusMessageIter *iter, const char *name, struct pc_fw_zone *ret)
{
	_cleanup_(pc_fw_zone_clear) struct pc_fw_zone z = {0};
	int r;

	if (!iter || !name || !ret)
		return -EINVAL;
	r = pc_strsan(name, strlen(name), PC_STRSAN_RAW, &z.name);
	if (r < 0)
		return r;
	r = parse_dict(iter, zone_fields, ELEMENTSOF(zone_fields), &z);
	if (r < 0)
		return r;
	/* firewalld always sends the target; if a future one omits it, its meaning is the
	 * default, and consumers can rely on a non-NULL target. */
	if (!z.target) {
		z.target = strdup("default");
		if (!z.target)
			return -ENOMEM;
	}
	*ret = z;
	z = (struct pc_fw_zone){0};
	return 0;
}

int pc_fw_parse_service_settings(DBusMessageIter *iter, const char *name, struct pc_fw_service *ret)
{
	_cleanup_(pc_fw_service_clear) struct pc_fw_service s = {0};
	int r;

	if (!iter || !name || !ret)
		return -EINVAL;
	r = pc_strsan(name, strlen(name), PC_STRSAN_RAW, &s.name);
	if (r < 0)
		return r;
	r = parse_dict(iter, service_fields, ELEMENTSOF(service_fields), &s);
	if (r < 0)
		return r;
	*ret = s;
	s = (struct pc_fw_service){0};
	return 0;
}

/* Decimal 1..65535 from [s, s+len), digits only: no sign, blanks or base prefixes. */
static int parse_port_number(const char *s, size_t len, uint16_t *ret)
{
	unsigned v = 0;

	if (len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
		if (v > 65535)
			return -EINVAL;
	}
	if (v == 0)
		return -EINVAL;
	*ret = (uint16_t)v;
	return 0;
}

int pc_fw_parse_port(const char *port, const char *proto, struct pc_fw_port *ret)
{
	static const char *const protos[] = {"tcp", "udp", "sctp", "dccp"};
	struct pc_fw_port p = {0};
	const char *dash;
	bool known = false;

	if (!port || !proto || !ret)
		return -EINVAL;
	for (size_t i = 0; i < ELEMENTSOF(protos); i++)
		known = known || strcmp(proto, protos[i]) == 0;
	if (!known)
		return -EINVAL;

	dash = strchr(port, '-');
	if (dash) {
		if (parse_port_number(port, (size_t)(dash - port), &p.lo) < 0 ||
		    parse_port_number(dash + 1, strlen(dash + 1), &p.hi) < 0)
			return -EINVAL;
	} else {
		if (parse_port_number(port, strlen(port), &p.lo) < 0)
			return -EINVAL;
		p.hi = p.lo;
	}
	if (p.lo > p.hi)
		return -EINVAL;
	/* Known protocols all fit; snprintf keeps the copy bounded regardless. */
	snprintf(p.proto, sizeof(p.proto), "%s", proto);
	*ret = p;
	return 0;
}

static ssize_t service_index(const struct pc_fw_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_services; i++)
		if (strcmp(cfg->services[i].name, name) == 0)
			return (ssize_t)i;
	return -1;
}

static int ports_add_unique(struct pc_fw_ports *ports, const struct pc_fw_port *port)
{
	struct pc_fw_port *p;

	for (size_t i = 0; i < ports->n; i++) {
		p = &ports->v[i];
		if (p->lo == port->lo && p->hi == port->hi && strcmp(p->proto, port->proto) == 0)
			return 0;
	}
	p = pc_array_grow(&ports->v, &ports->n, sizeof(*p));
	if (!p)
		return -ENOMEM;
	*p = *port;
	return 0;
}

/*
 * Union of the own ports/protocols of every service reachable from @start through
 * includes. A visited set makes cycles harmless; unknown names are skipped because
 * firewalld itself only warns about them.
 */
static int closure(const struct pc_fw_config *cfg, size_t start, bool *visited, size_t *stack,
		   struct pc_fw_ports *ret_ports, struct pc_strv *ret_protocols)
{
	size_t depth = 0;
	int r;

	memset(visited, 0, cfg->n_services * sizeof(*visited));
	visited[start] = true;
	stack[depth++] = start;
	while (depth > 0) {
		const struct pc_fw_service *s = &cfg->services[stack[--depth]];

		for (size_t i = 0; i < s->ports.n; i++) {
			r = ports_add_unique(ret_ports, &s->ports.v[i]);
			if (r < 0)
				return r;
		}
		for (size_t i = 0; i < s->protocols.n; i++) {
			if (pc_strv_contains(ret_protocols, s->protocols.v[i]))
				continue;
			r = pc_strv_push(ret_protocols, s->protocols.v[i]);
			if (r < 0)
				return r;
		}
		for (size_t i = 0; i < s->includes.n; i++) {
			ssize_t k = service_index(cfg, s->includes.v[i]);

			/* Each service is pushed at most once, so the stack never overflows. */
			if (k < 0 || visited[k])
				continue;
			visited[k] = true;
			stack[depth++] = (size_t)k;
		}
	}
	return 0;
}

int pc_fw_resolve_includes(struct pc_fw_config *cfg)
{
	size_t n = cfg->n_services;
	_cleanup_free_ bool *visited = NULL;
	_cleanup_free_ size_t *stack = NULL;
	struct pc_fw_ports *ports = NULL;
	struct pc_strv *protocols = NULL;
	int r = 0;

	if (n == 0)
		return 0;
	visited = calloc(n, sizeof(*visited));
	stack = calloc(n, sizeof(*stack));
	ports = calloc(n, sizeof(*ports));
	protocols = calloc(n, sizeof(*protocols));
	if (!visited || !stack || !ports || !protocols) {
		r = -ENOMEM;
		goto out;
	}

	/* Compute every closure from the declared ports before replacing any, so the result
	 * does not depend on the order of the services. */
	for (size_t i = 0; i < n; i++) {
		r = closure(cfg, i, visited, stack, &ports[i], &protocols[i]);
		if (r < 0)
			goto out;
	}
	for (size_t i = 0; i < n; i++) {
		free(cfg->services[i].ports.v);
		cfg->services[i].ports = ports[i];
		ports[i] = (struct pc_fw_ports){0};
		pc_strv_clear(&cfg->services[i].protocols);
		cfg->services[i].protocols = protocols[i];
		protocols[i] = (struct pc_strv){0};
	}
out:
	for (size_t i = 0; ports && protocols && i < n; i++) {
		free(ports[i].v);
		pc_strv_clear(&protocols[i]);
	}
	free(ports);
	free(protocols);
	return r;
}

const struct pc_fw_zone *pc_fw_config_zone(const struct pc_fw_config *cfg, const char *name)
{
	if (!cfg || !name)
		return NULL;
	for (size_t i = 0; i < cfg->n_zones; i++)
		if (strcmp(cfg->zones[i].name, name) == 0)
			return &cfg->zones[i];
	return NULL;
}

const struct pc_fw_service *pc_fw_config_service(const struct pc_fw_config *cfg, const char *name)
{
	ssize_t i;

	if (!cfg || !name)
		return NULL;
	i = service_index(cfg, name);
	return i < 0 ? NULL : &cfg->services[i];
}

void pc_fw_zone_clear(struct pc_fw_zone *z)
{
	if (!z)
		return;
	free(z->name);
	free(z->target);
	pc_strv_clear(&z->interfaces);
	pc_strv_clear(&z->sources);
	pc_strv_clear(&z->services);
	free(z->ports.v);
	pc_strv_clear(&z->protocols);
	free(z->source_ports.v);
	pc_strv_clear(&z->rich_rules);
	pc_strv_clear(&z->forward_ports);
	pc_strv_clear(&z->icmp_blocks);
	*z = (struct pc_fw_zone){0};
}

void pc_fw_service_clear(struct pc_fw_service *s)
{
	if (!s)
		return;
	free(s->name);
	free(s->ports.v);
	pc_strv_clear(&s->protocols);
	pc_strv_clear(&s->includes);
	*s = (struct pc_fw_service){0};
}

void pc_fw_config_clear(struct pc_fw_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n_zones; i++)
		pc_fw_zone_clear(&cfg->zones[i]);
	free(cfg->zones);
	for (size_t i = 0; i < cfg->n_services; i++)
		pc_fw_service_clear(&cfg->services[i]);
	free(cfg->services);
	*cfg = (struct pc_fw_config){0};
}

void pc_firewalld_clear(struct pc_firewalld *fw)
{
	if (!fw)
		return;
	free(fw->state);
	free(fw->version);
	free(fw->default_zone);
	free(fw->error);
	pc_fw_config_clear(&fw->runtime);
	pc_fw_config_clear(&fw->permanent);
	*fw = (struct pc_firewalld){0};
}
