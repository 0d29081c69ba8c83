/* SPDX-License-Identifier: MIT */
/*
 * The pure half of firewall changes: validating a SPEC (common/fwspec_parse.c parses it)
 * against firewalld's configuration, and planning which zones to change. firewalld
 * answers a bad port with a Python error string, so everything is checked here first,
 * each fault with its own words.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "portcheck/fwzone.h"
#include "portcheck/fwchange.h"

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
		if (strcmp(plan->v[i].zone, zone) == 0 && pc_fw_item_equal(&plan->v[i].item, item))
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
