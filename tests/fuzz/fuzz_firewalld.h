/* SPDX-License-Identifier: MIT */
/*
 * Harness body for the parsing of firewalld's D-Bus replies (daemon/sources/firewalld_parse.c):
 * pc_fw_parse_zone_settings(), pc_fw_parse_service_settings(), pc_fw_parse_port() (through
 * them) and pc_fw_resolve_includes() over the services parsed.
 *
 * The first byte chooses how the rest becomes a message:
 *   even: the bytes are a whole marshalled D-Bus message (dbus_message_demarshal, what
 *         libdbus does with what arrives on the bus); every argument goes to both parsers.
 *   odd:  the bytes drive a generator that appends a{sv} dictionaries with firewalld's
 *         keys (and others), values of the right and of wrong types, port strings valid
 *         and not, names with control bytes, backslashes and non-ASCII; bit 1 of the first
 *         byte: zone settings (one dictionary) or service settings (up to 4, then their
 *         includes resolved). libdbus refuses most random byte strings in demarshal, so
 *         this is what reaches the parsers' corners.
 *
 * Checked, for both: only 0, -EBADMSG and -ENOMEM; a failure leaves the caller's result
 * alone; every string stored is sanitised (pc_strsan_is_clean) and NULL-terminated in its
 * array; ports within 1-65535, not backwards, of a known protocol; a zone's target never
 * NULL. For the generator, also an oracle written here independently of the parser: the
 * parse succeeds exactly when every known key appears at most once, with its one
 * signature, and every port is valid; then the stored values are exactly those appended
 * (counts, ports, booleans, and the strings that needed no escaping byte for byte). The
 * resolved services: ports unique, each service's ports those of every service it reaches
 * through includes (a cycle included), computed here by a plain search.
 */
#pragma once

#include <dbus/dbus.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "portcheck/firewalld.h"
#include "portcheck/strsan.h"
#include "portcheck/util.h"

#define PC_FUZZ_FW_MAX_ENTRIES 24
#define PC_FUZZ_FW_MAX_ELEMS 6
#define PC_FUZZ_FW_STR 64
#define PC_FUZZ_FW_SERVICES 4

/* The bytes left to drive the generator; reads past the end give 0. */
struct pc_fuzz_fw_in {
	const uint8_t *p;
	size_t n;
};

static uint8_t pc_fuzz_fw_byte(struct pc_fuzz_fw_in *in)
{
	uint8_t b;

	if (!in->n)
		return 0;
	b = *in->p++;
	in->n--;
	return b;
}

/* Keys the generator uses: firewalld's own for zones and services, and two it ignores. */
enum pc_fuzz_fw_type { T_S, T_AS, T_ASS, T_ASSSS, T_B, T_I, T_ASS_DICT, T_ASSS, T__N };
static const struct {
	const char *key;
	enum pc_fuzz_fw_type type; /* the one signature firewalld sends */
	bool zone, service;	   /* parsed for zones, services */
} pc_fuzz_fw_keys[] = {
    {"target", T_S, true, false},
    {"services", T_AS, true, false},
    {"ports", T_ASS, true, true},
    {"protocols", T_AS, true, true},
    {"source_ports", T_ASS, true, false},
    {"rules_str", T_AS, true, false},
    {"forward_ports", T_ASSSS, true, false},
    {"icmp_blocks", T_AS, true, false},
    {"icmp_block_inversion", T_B, true, false},
    {"masquerade", T_B, true, false},
    {"interfaces", T_AS, true, false},
    {"sources", T_AS, true, false},
    {"includes", T_AS, false, true},
    {"description", T_S, false, false},
    {"helpers", T_AS, false, false},
};
#define PC_FUZZ_FW_NKEYS (sizeof(pc_fuzz_fw_keys) / sizeof(pc_fuzz_fw_keys[0]))

/* What one dictionary should parse to, per key (index into pc_fuzz_fw_keys). */
struct pc_fuzz_fw_expect {
	bool ok; /* the parse must succeed */
	unsigned seen[PC_FUZZ_FW_NKEYS];
	size_t n[PC_FUZZ_FW_NKEYS];
	char s[PC_FUZZ_FW_NKEYS][PC_FUZZ_FW_MAX_ELEMS][PC_FUZZ_FW_STR * 8 + 64];
	bool plain[PC_FUZZ_FW_NKEYS][PC_FUZZ_FW_MAX_ELEMS]; /* stored verbatim */
	struct pc_fw_port port[PC_FUZZ_FW_NKEYS][PC_FUZZ_FW_MAX_ELEMS];
	bool b[PC_FUZZ_FW_NKEYS];
};

/* A port string as firewalld's D-Bus API documents it, checked without the parser's code:
 * "N" or "N-M", decimal digits only, 1 <= N <= M <= 65535. */
static bool pc_fuzz_fw_ref_port(const char *port, const char *proto, struct pc_fw_port *ret)
{
	unsigned long v[2] = {0, 0};
	size_t k = 0, digits = 0;

	if (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp") &&
	    strcmp(proto, "dccp"))
		return false;
	for (const char *p = port;; p++) {
		if (*p >= '0' && *p <= '9') {
			v[k] = v[k] * 10 + (unsigned long)(*p - '0');
			if (v[k] > 65535)
				return false;
			digits++;
		} else if ((*p == '-' && k == 0) || *p == '\0') {
			if (!digits || !v[k])
				return false;
			if (!*p)
				break;
			k = 1;
			digits = 0;
		} else {
			return false;
		}
	}
	if (k == 0)
		v[1] = v[0];
	if (v[0] > v[1])
		return false;
	*ret = (struct pc_fw_port){.lo = (uint16_t)v[0], .hi = (uint16_t)v[1]};
	snprintf(ret->proto, sizeof(ret->proto), "%.7s", proto);
	return true;
}

/* A string of valid UTF-8 without NUL (libdbus refuses anything else on append) into
 * @buf: shaped by the next byte as text (controls, backslash and U+0080-U+00FF included),
 * a port number, a port range or a protocol name. Sets *@plain when pc_strsan leaves it
 * as it is (no control character, no backslash). */
static void pc_fuzz_fw_string(struct pc_fuzz_fw_in *in, char *buf, bool *plain)
{
	static const char *const protos[] = {"tcp", "udp", "sctp", "dccp", "TCP", "icmp", ""};
	uint8_t shape = pc_fuzz_fw_byte(in), len;
	size_t o = 0;

	*plain = true;
	switch (shape % 5) {
	case 1:
		snprintf(buf, PC_FUZZ_FW_STR, "%u",
			 (unsigned)pc_fuzz_fw_byte(in) << 8 | pc_fuzz_fw_byte(in));
		return;
	case 2:
		snprintf(buf, PC_FUZZ_FW_STR, "%u-%u", (unsigned)pc_fuzz_fw_byte(in) * 300,
			 (unsigned)pc_fuzz_fw_byte(in) * 300);
		return;
	case 3:
		snprintf(buf, PC_FUZZ_FW_STR, "%s", protos[pc_fuzz_fw_byte(in) % 7]);
		return;
	default:
		break;
	}
	len = pc_fuzz_fw_byte(in) % 24;
	for (uint8_t i = 0; i < len; i++) {
		uint8_t b = pc_fuzz_fw_byte(in);

		if (b == 0)
			b = '0';
		if (b < 0x80) {
			buf[o++] = (char)b;
			if (b < 0x20 || b == 0x7f || b == '\\')
				*plain = false;
		} else {
			/* U+0080-U+00FF: C1 controls (escaped) and Latin-1 letters. */
			buf[o++] = (char)(0xc0 | (b >> 6));
			buf[o++] = (char)(0x80 | (b & 0x3f));
			if (b < 0xa0)
				*plain = false;
		}
	}
	buf[o] = '\0';
}

/* Append one a{sv} to @top from the input, recording in @ex what it should parse to for
 * a zone (@zone) or a service. Returns false when libdbus runs out of memory. */
static bool pc_fuzz_fw_dict(struct pc_fuzz_fw_in *in, DBusMessageIter *top, bool zone,
			    struct pc_fuzz_fw_expect *ex)
{
	static const char *const sigs[T__N] = {"s", "as", "a(ss)", "a(ssss)",
					       "b", "i",  "a{ss}", "a(sss)"};
	DBusMessageIter arr;
	uint8_t entries = pc_fuzz_fw_byte(in) % (PC_FUZZ_FW_MAX_ENTRIES + 1);

	memset(ex, 0, sizeof(*ex));
	ex->ok = true;
	if (!dbus_message_iter_open_container(top, DBUS_TYPE_ARRAY, "{sv}", &arr))
		return false;
	for (uint8_t e = 0; e < entries && in->n; e++) {
		size_t k = pc_fuzz_fw_byte(in) % PC_FUZZ_FW_NKEYS;
		enum pc_fuzz_fw_type t = (enum pc_fuzz_fw_type)(pc_fuzz_fw_byte(in) % T__N);
		bool known = zone ? pc_fuzz_fw_keys[k].zone : pc_fuzz_fw_keys[k].service;
		const char *key = pc_fuzz_fw_keys[k].key;
		DBusMessageIter entry, var, a, st;
		uint8_t elems = pc_fuzz_fw_byte(in) % (PC_FUZZ_FW_MAX_ELEMS + 1);
		char s[4][PC_FUZZ_FW_STR * 2 + 1];
		const char *sp[4] = {s[0], s[1], s[2], s[3]};
		bool plain[4];
		dbus_bool_t bv;
		dbus_int32_t iv;

		/* The right type most of the time: the interesting paths are past the check. */
		if (pc_fuzz_fw_byte(in) % 4)
			t = pc_fuzz_fw_keys[k].type;
		if (known) {
			if (ex->seen[k]++ || t != pc_fuzz_fw_keys[k].type)
				ex->ok = false;
			ex->n[k] = 0;
		}
		if (!dbus_message_iter_open_container(&arr, DBUS_TYPE_DICT_ENTRY, NULL, &entry) ||
		    !dbus_message_iter_append_basic(&entry, DBUS_TYPE_STRING, &key) ||
		    !dbus_message_iter_open_container(&entry, DBUS_TYPE_VARIANT, sigs[t], &var))
			return false;
		switch (t) {
		case T_S:
			pc_fuzz_fw_string(in, s[0], &plain[0]);
			if (!dbus_message_iter_append_basic(&var, DBUS_TYPE_STRING, &sp[0]))
				return false;
			if (known) {
				snprintf(ex->s[k][0], sizeof(ex->s[k][0]), "%s", s[0]);
				ex->plain[k][0] = plain[0];
				ex->n[k] = 1;
			}
			break;
		case T_B:
			bv = pc_fuzz_fw_byte(in) & 1;
			if (!dbus_message_iter_append_basic(&var, DBUS_TYPE_BOOLEAN, &bv))
				return false;
			if (known)
				ex->b[k] = bv;
			break;
		case T_I:
			iv = pc_fuzz_fw_byte(in);
			if (!dbus_message_iter_append_basic(&var, DBUS_TYPE_INT32, &iv))
				return false;
			break;
		default: {
			/* Arrays: of strings, of structs of 2, 4 or 3 strings, of {ss}. */
			size_t width = t == T_AS ? 1 : t == T_ASSSS ? 4 : t == T_ASSS ? 3 : 2;

			if (!dbus_message_iter_open_container(&var, DBUS_TYPE_ARRAY, sigs[t] + 1,
							      &a))
				return false;
			for (uint8_t i = 0; i < elems; i++) {
				for (size_t w = 0; w < width; w++)
					pc_fuzz_fw_string(in, s[w], &plain[w]);
				if (t == T_AS) {
					if (!dbus_message_iter_append_basic(&a, DBUS_TYPE_STRING,
									    &sp[0]))
						return false;
				} else {
					if (!dbus_message_iter_open_container(
						&a,
						t == T_ASS_DICT ? DBUS_TYPE_DICT_ENTRY
								: DBUS_TYPE_STRUCT,
						NULL, &st))
						return false;
					for (size_t w = 0; w < width; w++)
						if (!dbus_message_iter_append_basic(
							&st, DBUS_TYPE_STRING, &sp[w]))
							return false;
					if (!dbus_message_iter_close_container(&a, &st))
						return false;
				}
				if (!known || t != pc_fuzz_fw_keys[k].type)
					continue;
				if (t == T_AS) {
					snprintf(ex->s[k][i], sizeof(ex->s[k][i]), "%s", s[0]);
					ex->plain[k][i] = plain[0];
				} else if (t == T_ASS) {
					if (!pc_fuzz_fw_ref_port(s[0], s[1], &ex->port[k][i]))
						ex->ok = false;
				} else if (t == T_ASSSS) {
					snprintf(ex->s[k][i], sizeof(ex->s[k][i]),
						 "port=%s:proto=%s:toport=%s:toaddr=%s", s[0], s[1],
						 s[2], s[3]);
					ex->plain[k][i] =
					    plain[0] && plain[1] && plain[2] && plain[3];
				}
				ex->n[k]++;
			}
			if (!dbus_message_iter_close_container(&var, &a))
				return false;
			break;
		}
		}
		if (!dbus_message_iter_close_container(&entry, &var) ||
		    !dbus_message_iter_close_container(&arr, &entry))
			return false;
	}
	return dbus_message_iter_close_container(top, &arr);
}

static void pc_fuzz_fw_check_strv(const struct pc_strv *sv)
{
	PC_FUZZ_ASSERT(!sv->n || sv->v);
	for (size_t i = 0; i < sv->n; i++)
		PC_FUZZ_ASSERT(sv->v[i] && pc_strsan_is_clean(sv->v[i]));
	PC_FUZZ_ASSERT(!sv->v || !sv->v[sv->n]);
}

static void pc_fuzz_fw_check_ports(const struct pc_fw_ports *ps)
{
	for (size_t i = 0; i < ps->n; i++) {
		const struct pc_fw_port *p = &ps->v[i];

		PC_FUZZ_ASSERT(p->lo >= 1 && p->lo <= p->hi);
		PC_FUZZ_ASSERT(memchr(p->proto, '\0', sizeof(p->proto)));
		PC_FUZZ_ASSERT(!strcmp(p->proto, "tcp") || !strcmp(p->proto, "udp") ||
			       !strcmp(p->proto, "sctp") || !strcmp(p->proto, "dccp"));
	}
}

static void pc_fuzz_fw_check_zone(const struct pc_fw_zone *z)
{
	PC_FUZZ_ASSERT(z->name && pc_strsan_is_clean(z->name));
	PC_FUZZ_ASSERT(z->target && pc_strsan_is_clean(z->target));
	pc_fuzz_fw_check_strv(&z->interfaces);
	pc_fuzz_fw_check_strv(&z->sources);
	pc_fuzz_fw_check_strv(&z->services);
	pc_fuzz_fw_check_strv(&z->protocols);
	pc_fuzz_fw_check_strv(&z->rich_rules);
	pc_fuzz_fw_check_strv(&z->forward_ports);
	pc_fuzz_fw_check_strv(&z->icmp_blocks);
	pc_fuzz_fw_check_ports(&z->ports);
	pc_fuzz_fw_check_ports(&z->source_ports);
}

static void pc_fuzz_fw_check_service(const struct pc_fw_service *s)
{
	PC_FUZZ_ASSERT(s->name && pc_strsan_is_clean(s->name));
	pc_fuzz_fw_check_strv(&s->protocols);
	pc_fuzz_fw_check_strv(&s->includes);
	pc_fuzz_fw_check_ports(&s->ports);
}

static bool pc_fuzz_fw_is_zeroed(const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (((const uint8_t *)p)[i])
			return false;
	return true;
}

/* The stored strings of key @k against what was appended. */
static void pc_fuzz_fw_expect_strv(const struct pc_fuzz_fw_expect *ex, size_t k,
				   const struct pc_strv *sv)
{
	PC_FUZZ_ASSERT(sv->n == ex->n[k]);
	for (size_t i = 0; i < sv->n; i++)
		PC_FUZZ_ASSERT(!ex->plain[k][i] || strcmp(sv->v[i], ex->s[k][i]) == 0);
}

static void pc_fuzz_fw_expect_ports(const struct pc_fuzz_fw_expect *ex, size_t k,
				    const struct pc_fw_ports *ps)
{
	PC_FUZZ_ASSERT(ps->n == ex->n[k]);
	for (size_t i = 0; i < ps->n; i++)
		PC_FUZZ_ASSERT(ps->v[i].lo == ex->port[k][i].lo &&
			       ps->v[i].hi == ex->port[k][i].hi &&
			       strcmp(ps->v[i].proto, ex->port[k][i].proto) == 0);
}

static size_t pc_fuzz_fw_key(const char *key)
{
	for (size_t k = 0; k < PC_FUZZ_FW_NKEYS; k++)
		if (strcmp(pc_fuzz_fw_keys[k].key, key) == 0)
			return k;
	abort();
}

static void pc_fuzz_fw_expect_zone(const struct pc_fuzz_fw_expect *ex, const struct pc_fw_zone *z)
{
	size_t t = pc_fuzz_fw_key("target");

	if (ex->seen[t])
		PC_FUZZ_ASSERT(!ex->plain[t][0] || strcmp(z->target, ex->s[t][0]) == 0);
	else
		PC_FUZZ_ASSERT(strcmp(z->target, "default") == 0);
	pc_fuzz_fw_expect_strv(ex, pc_fuzz_fw_key("services"), &z->services);
	pc_fuzz_fw_expect_strv(ex, pc_fuzz_fw_key("protocols"), &z->protocols);
	pc_fuzz_fw_expect_strv(ex, pc_fuzz_fw_key("rules_str"), &z->rich_rules);
	pc_fuzz_fw_expect_strv(ex, pc_fuzz_fw_key("forward_ports"), &z->forward_ports);
	pc_fuzz_fw_expect_strv(ex, pc_fuzz_fw_key("icmp_blocks"), &z->icmp_blocks);
	pc_fuzz_fw_expect_strv(ex, pc_fuzz_fw_key("interfaces"), &z->interfaces);
	pc_fuzz_fw_expect_strv(ex, pc_fuzz_fw_key("sources"), &z->sources);
	pc_fuzz_fw_expect_ports(ex, pc_fuzz_fw_key("ports"), &z->ports);
	pc_fuzz_fw_expect_ports(ex, pc_fuzz_fw_key("source_ports"), &z->source_ports);
	PC_FUZZ_ASSERT(z->masquerade == ex->b[pc_fuzz_fw_key("masquerade")]);
	PC_FUZZ_ASSERT(z->icmp_block_inversion == ex->b[pc_fuzz_fw_key("icmp_block_inversion")]);
}

static bool pc_fuzz_fw_has_port(const struct pc_fw_ports *ps, const struct pc_fw_port *p)
{
	for (size_t i = 0; i < ps->n; i++)
		if (ps->v[i].lo == p->lo && ps->v[i].hi == p->hi &&
		    strcmp(ps->v[i].proto, p->proto) == 0)
			return true;
	return false;
}

/* pc_fw_resolve_includes over the services parsed, against a plain search over the own
 * ports kept aside before. */
static void pc_fuzz_fw_resolve(struct pc_fw_config *cfg)
{
	struct pc_fw_ports own[PC_FUZZ_FW_SERVICES] = {0};
	size_t n = cfg->n_services;
	int r;

	for (size_t i = 0; i < n; i++) {
		own[i].n = cfg->services[i].ports.n;
		own[i].v = own[i].n ? malloc(own[i].n * sizeof(*own[i].v)) : NULL;
		if (own[i].n && !own[i].v)
			goto out;
		if (own[i].n)
			memcpy(own[i].v, cfg->services[i].ports.v, own[i].n * sizeof(*own[i].v));
	}
	r = pc_fw_resolve_includes(cfg);
	if (r == -ENOMEM)
		goto out;
	PC_FUZZ_ASSERT(r == 0);
	for (size_t i = 0; i < n; i++) {
		const struct pc_fw_service *s = &cfg->services[i];
		bool reach[PC_FUZZ_FW_SERVICES] = {false};
		size_t total = 0;

		pc_fuzz_fw_check_service(s);
		for (size_t a = 0; a < s->ports.n; a++)
			for (size_t b = 0; b < a; b++)
				PC_FUZZ_ASSERT(s->ports.v[a].lo != s->ports.v[b].lo ||
					       s->ports.v[a].hi != s->ports.v[b].hi ||
					       strcmp(s->ports.v[a].proto, s->ports.v[b].proto));
		/* Reachable through includes (names; the first service of a name wins, as
		 * lookups by name do): a fixpoint, at most n rounds. */
		reach[i] = true;
		for (size_t round = 0; round < n; round++)
			for (size_t a = 0; a < n; a++) {
				if (!reach[a])
					continue;
				for (size_t j = 0; j < cfg->services[a].includes.n; j++)
					for (size_t b = 0; b < n; b++)
						if (!strcmp(cfg->services[b].name,
							    cfg->services[a].includes.v[j])) {
							reach[b] = true;
							break;
						}
			}
		for (size_t a = 0; a < n; a++) {
			if (!reach[a])
				continue;
			for (size_t j = 0; j < own[a].n; j++)
				PC_FUZZ_ASSERT(pc_fuzz_fw_has_port(&s->ports, &own[a].v[j]));
		}
		/* And nothing else: each resolved port is some reached service's own. */
		for (size_t j = 0; j < s->ports.n; j++) {
			bool found = false;

			for (size_t a = 0; a < n && !found; a++)
				found = reach[a] && pc_fuzz_fw_has_port(&own[a], &s->ports.v[j]);
			PC_FUZZ_ASSERT(found);
			total++;
		}
		PC_FUZZ_ASSERT(total == s->ports.n);
	}
out:
	for (size_t i = 0; i < PC_FUZZ_FW_SERVICES; i++)
		free(own[i].v);
}

static int pc_fuzz_fw_generated(const uint8_t *data, size_t size, bool zone)
{
	struct pc_fuzz_fw_in in = {data, size};
	struct pc_fuzz_fw_expect *ex = calloc(PC_FUZZ_FW_SERVICES, sizeof(*ex));
	struct pc_fw_config cfg = {0};
	DBusMessage *m = dbus_message_new_signal("/fuzz", "io.portcheck.Fuzz", "Settings");
	DBusMessageIter top, it;
	size_t dicts = zone ? 1 : 1 + pc_fuzz_fw_byte(&in) % PC_FUZZ_FW_SERVICES;

	if (!m || !ex)
		goto out;
	dbus_message_iter_init_append(m, &top);
	for (size_t d = 0; d < dicts; d++)
		if (!pc_fuzz_fw_dict(&in, &top, zone, &ex[d]))
			goto out;
	if (!dbus_message_iter_init(m, &it))
		goto out;
	if (zone) {
		struct pc_fw_zone z;
		int r;

		memset(&z, 0, sizeof(z));
		r = pc_fw_parse_zone_settings(&it, "zone\\\x1b", &z);
		if (r == -ENOMEM)
			goto out;
		PC_FUZZ_ASSERT(r == 0 || r == -EBADMSG);
		PC_FUZZ_ASSERT((r == 0) == ex[0].ok);
		if (r == 0) {
			pc_fuzz_fw_check_zone(&z);
			PC_FUZZ_ASSERT(strcmp(z.name, "zone\\\\\\x1b") == 0);
			pc_fuzz_fw_expect_zone(&ex[0], &z);
		} else {
			PC_FUZZ_ASSERT(pc_fuzz_fw_is_zeroed(&z, sizeof(z)));
		}
		pc_fw_zone_clear(&z);
		goto out;
	}
	cfg.services = calloc(dicts, sizeof(*cfg.services));
	if (!cfg.services)
		goto out;
	for (size_t d = 0; d < dicts; d++) {
		struct pc_fw_service s;
		char name[8];
		int r;

		/* Names the generator's includes can hit ("ports", "tcp", ...) now and then. */
		snprintf(name, sizeof(name), "%s",
			 d == 0	  ? "tcp"
			 : d == 1 ? "80"
			 : d == 2 ? ""
				  : "s3");
		memset(&s, 0, sizeof(s));
		r = pc_fw_parse_service_settings(&it, name, &s);
		if (r == -ENOMEM)
			goto out;
		PC_FUZZ_ASSERT(r == 0 || r == -EBADMSG);
		PC_FUZZ_ASSERT((r == 0) == ex[d].ok);
		if (r == 0) {
			pc_fuzz_fw_check_service(&s);
			pc_fuzz_fw_expect_strv(&ex[d], pc_fuzz_fw_key("protocols"), &s.protocols);
			pc_fuzz_fw_expect_strv(&ex[d], pc_fuzz_fw_key("includes"), &s.includes);
			pc_fuzz_fw_expect_ports(&ex[d], pc_fuzz_fw_key("ports"), &s.ports);
			cfg.services[cfg.n_services++] = s;
		} else {
			PC_FUZZ_ASSERT(pc_fuzz_fw_is_zeroed(&s, sizeof(s)));
		}
		dbus_message_iter_next(&it);
	}
	pc_fuzz_fw_resolve(&cfg);
out:
	pc_fw_config_clear(&cfg);
	free(ex);
	if (m)
		dbus_message_unref(m);
	return 0;
}

static int pc_fuzz_fw_marshalled(const uint8_t *data, size_t size)
{
	DBusMessage *m;
	DBusMessageIter it;
	DBusError err;

	if (size > (1u << 20))
		return 0;
	dbus_error_init(&err);
	m = dbus_message_demarshal((const char *)data, (int)size, &err);
	dbus_error_free(&err);
	if (!m)
		return 0;
	if (dbus_message_iter_init(m, &it)) {
		for (int i = 0; i < 16; i++) {
			struct pc_fw_zone z;
			struct pc_fw_service s;
			int r;

			memset(&z, 0, sizeof(z));
			r = pc_fw_parse_zone_settings(&it, "public", &z);
			PC_FUZZ_ASSERT(r == 0 || r == -EBADMSG || r == -ENOMEM);
			if (r == 0)
				pc_fuzz_fw_check_zone(&z);
			else
				PC_FUZZ_ASSERT(pc_fuzz_fw_is_zeroed(&z, sizeof(z)));
			pc_fw_zone_clear(&z);
			memset(&s, 0, sizeof(s));
			r = pc_fw_parse_service_settings(&it, "http", &s);
			PC_FUZZ_ASSERT(r == 0 || r == -EBADMSG || r == -ENOMEM);
			if (r == 0)
				pc_fuzz_fw_check_service(&s);
			else
				PC_FUZZ_ASSERT(pc_fuzz_fw_is_zeroed(&s, sizeof(s)));
			pc_fw_service_clear(&s);
			if (!dbus_message_iter_next(&it))
				break;
		}
	}
	dbus_message_unref(m);
	return 0;
}

/* Returns 0 (libFuzzer's "keep going"); a broken property aborts. */
static int pc_fuzz_firewalld_one(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (!(data[0] & 1))
		return pc_fuzz_fw_marshalled(data + 1, size - 1);
	return pc_fuzz_fw_generated(data + 1, size - 1, !(data[0] & 2));
}
