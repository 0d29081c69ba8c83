/* SPDX-License-Identifier: MIT */
/*
 * The pure half of firewall changes: parsing a SPEC, validating it against firewalld's
 * configuration, and planning which zones to change. firewalld answers a bad port with a
 * Python error string, so everything is checked here first, each fault with its own words.
 */
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "portcheck/fwzone.h"
#include "portcheck/fwchange.h"

static __attribute__((format(printf, 2, 3))) int fail(char **ret_error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(ret_error, fmt, ap) < 0)
		*ret_error = NULL;
	va_end(ap);
	return -EINVAL;
}

/* A decimal port 1-65535 from [s, end). Returns 0, or -EINVAL with a message. */
static int parse_port_number(const char *s, size_t len, const char *item, uint16_t *ret,
			     char **ret_error)
{
	unsigned long v = 0;

	if (len == 0)
		return fail(ret_error, "'%s': missing port number", item);
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return fail(ret_error, "'%s': '%.*s' is not a port number", item, (int)len,
				    s);
		if (v <= 65535)
			v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return fail(ret_error, "'%s': port %.*s is out of range (1-65535)", item, (int)len,
			    s);
	*ret = (uint16_t)v;
	return 0;
}

static bool valid_service_name(const char *s)
{
	/* firewalld's service names: letters, digits, '-', '_', '.', '+'. */
	if (!*s || strlen(s) >= sizeof(((struct pc_fw_item *)0)->service))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("-_.+", *s))
			return false;
	return true;
}

static int parse_item(const char *item, struct pc_fw_item *ret, char **ret_error)
{
	static const char *const protos[] = {"tcp", "udp", "sctp", "dccp"};
	const char *slash = strchr(item, '/'), *dash;
	struct pc_fw_item it = {0};
	bool known = false;
	int r;

	if (!slash) {
		if (isdigit((unsigned char)item[0]))
			return fail(ret_error, "'%s': a port needs a protocol, e.g. %s/tcp", item,
				    item);
		if (!valid_service_name(item))
			return fail(ret_error,
				    "'%s' is neither PORT/PROTO (80/tcp, 8000-8010/udp) nor a "
				    "service name",
				    item);
		it.kind = PC_FW_ITEM_SERVICE;
		snprintf(it.service, sizeof(it.service), "%s", item);
		*ret = it;
		return 0;
	}

	for (size_t i = 0; i < ELEMENTSOF(protos); i++)
		known = known || strcmp(slash + 1, protos[i]) == 0;
	if (!known)
		return fail(ret_error, "'%s': unknown protocol '%s' (tcp, udp, sctp or dccp)", item,
			    slash + 1);
	it.kind = PC_FW_ITEM_PORT;
	snprintf(it.port.proto, sizeof(it.port.proto), "%s", slash + 1);
	dash = memchr(item, '-', (size_t)(slash - item));
	if (dash) {
		r = parse_port_number(item, (size_t)(dash - item), item, &it.port.lo, ret_error);
		if (r >= 0)
			r = parse_port_number(dash + 1, (size_t)(slash - dash - 1), item,
					      &it.port.hi, ret_error);
		if (r < 0)
			return r;
		if (it.port.lo > it.port.hi)
			return fail(ret_error, "'%s': range %u-%u runs backwards (low > high)",
				    item, it.port.lo, it.port.hi);
	} else {
		r = parse_port_number(item, (size_t)(slash - item), item, &it.port.lo, ret_error);
		if (r < 0)
			return r;
		it.port.hi = it.port.lo;
	}
	*ret = it;
	return 0;
}

static bool item_equal(const struct pc_fw_item *a, const struct pc_fw_item *b)
{
	if (a->kind != b->kind)
		return false;
	if (a->kind == PC_FW_ITEM_SERVICE)
		return strcmp(a->service, b->service) == 0;
	return a->port.lo == b->port.lo && a->port.hi == b->port.hi &&
	       strcmp(a->port.proto, b->port.proto) == 0;
}

int pc_fw_spec_parse(const char *text, struct pc_fw_spec *ret, char **ret_error)
{
	_cleanup_free_ char *copy = NULL;
	struct pc_fw_spec spec = {0};
	char *p, *comma;
	int r;

	if (!text || !*text)
		return fail(ret_error, "empty SPEC: give PORT/PROTO (80/tcp), a range "
				       "(8000-8010/udp) or a service name (http)");
	if (strlen(text) > 4096)
		return fail(ret_error, "SPEC is too long");
	copy = strdup(text);
	if (!copy)
		return -ENOMEM;
	for (p = copy;; p = comma + 1) {
		struct pc_fw_item it;
		bool dup = false;

		comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		if (!*p)
			return fail(ret_error, "'%s': empty item in the list", text);
		r = parse_item(p, &it, ret_error);
		if (r < 0)
			return r;
		for (size_t i = 0; i < spec.n; i++)
			dup = dup || item_equal(&spec.items[i], &it);
		if (!dup) {
			if (spec.n >= PC_FW_SPEC_MAX_ITEMS)
				return fail(ret_error, "too many items (at most %d)",
					    PC_FW_SPEC_MAX_ITEMS);
			spec.items[spec.n++] = it;
		}
		if (!comma)
			break;
	}
	*ret = spec;
	return 0;
}

int pc_fw_spec_validate(const struct pc_fw_spec *spec, const char *zone,
			const struct pc_firewalld *fw, const char **ret_param, char **ret_error)
{
	if (zone && !pc_fw_config_zone(&fw->runtime, zone)) {
		*ret_param = "zone";
		if (asprintf(ret_error, "no zone '%s' in firewalld (see firewall-cmd --get-zones)",
			     zone) < 0)
			*ret_error = NULL;
		return -ENOENT;
	}
	for (size_t i = 0; i < spec->n; i++) {
		const struct pc_fw_item *it = &spec->items[i];

		if (it->kind != PC_FW_ITEM_SERVICE ||
		    pc_fw_config_service(&fw->runtime, it->service))
			continue;
		*ret_param = "spec";
		if (asprintf(ret_error,
			     "no service '%s' in firewalld (see firewall-cmd --get-services)",
			     it->service) < 0)
			*ret_error = NULL;
		return -ENOENT;
	}
	return 0;
}

char *pc_fw_item_to_string(const struct pc_fw_item *item)
{
	char *s = NULL;
	int r;

	if (item->kind == PC_FW_ITEM_SERVICE)
		return strdup(item->service);
	if (item->port.lo == item->port.hi)
		r = asprintf(&s, "%u/%s", item->port.lo, item->port.proto);
	else
		r = asprintf(&s, "%u-%u/%s", item->port.lo, item->port.hi, item->port.proto);
	return r < 0 ? NULL : s;
}

bool pc_fw_zone_has_item(const struct pc_fw_zone *zone, const struct pc_fw_item *item)
{
	if (item->kind == PC_FW_ITEM_SERVICE)
		return pc_strv_contains(&zone->services, item->service);
	for (size_t i = 0; i < zone->ports.n; i++) {
		const struct pc_fw_port *p = &zone->ports.v[i];

		if (p->lo == item->port.lo && p->hi == item->port.hi &&
		    strcmp(p->proto, item->port.proto) == 0)
			return true;
	}
	return false;
}

static bool ports_cover(const struct pc_fw_ports *ports, const struct pc_fw_port *want)
{
	for (size_t i = 0; i < ports->n; i++) {
		const struct pc_fw_port *p = &ports->v[i];

		if (strcmp(p->proto, want->proto) == 0 && p->lo <= want->lo && want->hi <= p->hi)
			return true;
	}
	return false;
}

const char *pc_fw_zone_service_covering(const struct pc_fw_config *cfg,
					const struct pc_fw_zone *zone,
					const struct pc_fw_item *item)
{
	if (item->kind != PC_FW_ITEM_PORT)
		return NULL;
	for (size_t i = 0; i < zone->services.n; i++) {
		const struct pc_fw_service *s = pc_fw_config_service(cfg, zone->services.v[i]);

		if (s && ports_cover(&s->ports, &item->port))
			return s->name;
	}
	return NULL;
}

static bool item_matches(const struct pc_fw_item *it, const struct pc_fw_config *cfg,
			 uint8_t protocol, uint16_t port)
{
	struct pc_fw_port want = {.lo = port, .hi = port};
	const struct pc_fw_service *s;

	snprintf(want.proto, sizeof(want.proto), "%s", pc_proto_name(protocol));
	if (it->kind == PC_FW_ITEM_PORT)
		return ports_cover(
		    &(struct pc_fw_ports){.v = (struct pc_fw_port *)&it->port, .n = 1}, &want);
	s = cfg ? pc_fw_config_service(cfg, it->service) : NULL;
	return s && ports_cover(&s->ports, &want);
}

bool pc_fw_spec_matches(const struct pc_fw_spec *spec, const struct pc_fw_config *cfg,
			uint8_t protocol, uint16_t port)
{
	for (size_t i = 0; i < spec->n; i++)
		if (item_matches(&spec->items[i], cfg, protocol, port))
			return true;
	return false;
}

static int plan_add(struct pc_fw_plan *plan, const char *zone, const struct pc_fw_item *item,
		    const struct pc_firewalld *fw, bool open)
{
	const struct pc_fw_zone *rz = pc_fw_config_zone(&fw->runtime, zone);
	const struct pc_fw_zone *pz =
	    fw->have_permanent ? pc_fw_config_zone(&fw->permanent, zone) : NULL;
	struct pc_fw_plan_entry *e;

	for (size_t i = 0; i < plan->n; i++)
		if (strcmp(plan->v[i].zone, zone) == 0 && item_equal(&plan->v[i].item, item))
			return 0;
	e = pc_array_grow(&plan->v, &plan->n, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->zone = strdup(zone);
	if (!e->zone) {
		plan->n--;
		return -ENOMEM;
	}
	e->item = *item;
	e->runtime_present = rz && pc_fw_zone_has_item(rz, item);
	e->permanent_present = pz && pc_fw_zone_has_item(pz, item);
	if (open && rz)
		e->covered_by = pc_fw_zone_service_covering(&fw->runtime, rz, item);
	return 0;
}

static bool zone_seen(const struct pc_strv *zones, const char *z)
{
	return pc_strv_contains(zones, z);
}

int pc_fw_plan_make(bool open, const struct pc_fw_spec *spec, const char *zone,
		    const struct pc_firewalld *fw, const struct pc_report *report,
		    struct pc_fw_plan *ret)
{
	struct pc_fw_plan plan = {0};
	struct pc_strv zones = {0};
	int r = 0;

	if (zone) {
		r = pc_strv_push(&zones, zone);
	} else if (open) {
		/* The zones that, by firewalld's own rules, refuse a listener the spec names. */
		for (size_t i = 0; r >= 0 && report && i < report->n_listeners; i++) {
			const struct pc_listener_report *l = &report->listeners[i];

			if (!pc_fw_spec_matches(spec, &fw->runtime, l->listener.protocol,
						l->listener.port))
				continue;
			for (size_t j = 0; r >= 0 && j < l->n_paths; j++) {
				const struct pc_path *p = &l->paths[j];

				if (!p->zone || (p->fw_verdict != PC_VERDICT_REJECT &&
						 p->fw_verdict != PC_VERDICT_DROP))
					continue;
				if (!zone_seen(&zones, p->zone))
					r = pc_strv_push(&zones, p->zone);
			}
		}
		plan.zones_from_analysis = zones.n > 0;
	} else {
		for (size_t i = 0; r >= 0 && i < fw->runtime.n_zones; i++)
			for (size_t k = 0; k < spec->n; k++) {
				const struct pc_fw_zone *z = &fw->runtime.zones[i];
				const struct pc_fw_zone *pz =
				    fw->have_permanent ? pc_fw_config_zone(&fw->permanent, z->name)
						       : NULL;

				if (pc_fw_zone_has_item(z, &spec->items[k]) ||
				    (pz && pc_fw_zone_has_item(pz, &spec->items[k]))) {
					if (!zone_seen(&zones, z->name))
						r = pc_strv_push(&zones, z->name);
					break;
				}
			}
		plan.zones_from_analysis = zones.n > 0;
	}
	if (r >= 0 && zones.n == 0) {
		if (!fw->default_zone)
			r = -ENOENT;
		else
			r = pc_strv_push(&zones, fw->default_zone);
	}
	for (size_t z = 0; r >= 0 && z < zones.n; z++)
		for (size_t k = 0; r >= 0 && k < spec->n; k++) {
			const struct pc_fw_zone *rz = pc_fw_config_zone(&fw->runtime, zones.v[z]);
			const struct pc_fw_zone *pz =
			    fw->have_permanent ? pc_fw_config_zone(&fw->permanent, zones.v[z])
					       : NULL;

			/* Close without a zone: only the zones that have this item. */
			if (!open && !zone && plan.zones_from_analysis &&
			    !(rz && pc_fw_zone_has_item(rz, &spec->items[k])) &&
			    !(pz && pc_fw_zone_has_item(pz, &spec->items[k])))
				continue;
			r = plan_add(&plan, zones.v[z], &spec->items[k], fw, open);
		}
	plan.n_zones = zones.n;
	pc_strv_clear(&zones);
	if (r < 0) {
		pc_fw_plan_clear(&plan);
		return r;
	}
	*ret = plan;
	return 0;
}

void pc_fw_plan_clear(struct pc_fw_plan *plan)
{
	if (!plan)
		return;
	for (size_t i = 0; i < plan->n; i++)
		free(plan->v[i].zone);
	free(plan->v);
	*plan = (struct pc_fw_plan){0};
}
