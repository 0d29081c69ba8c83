/* SPDX-License-Identifier: MIT */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portcheck/fwzone.h"

const char *pc_proto_name(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_SCTP:
		return "sctp";
	case IPPROTO_DCCP:
		return "dccp";
	default:
		return "?";
	}
}

bool pc_fw_ports_cover(const struct pc_fw_ports *ports, const char *proto, uint16_t port,
		       const struct pc_fw_port **ret_entry)
{
	for (size_t i = 0; i < ports->n; i++) {
		const struct pc_fw_port *p = &ports->v[i];
		if (strcmp(p->proto, proto) == 0 && p->lo <= port && port <= p->hi) {
			if (ret_entry)
				*ret_entry = p;
			return true;
		}
	}
	return false;
}

/*
 * Find attribute @key="value" after element keyword @element in rich rule @rule, e.g.
 * element "port", key "port". Rich rules are firewalld-normalised (firewall-cmd stores
 * them as rich_rule.__str__() prints them), so double quotes are reliable.
 */
static bool richrule_attr(const char *rule, const char *element, const char *key, char *buf,
			  size_t bufsz)
{
	size_t elen = strlen(element);
	const char *p = rule;

	while ((p = strstr(p, element))) {
		bool word_start = p == rule || p[-1] == ' ';
		const char *q = p + elen;
		p = q;
		if (!word_start || *q != ' ')
			continue;
		/* Attributes of this element run until the next bare keyword; scanning the
		 * next few key="value" pairs is enough for firewalld's grammar. */
		for (int i = 0; i < 4; i++) {
			while (*q == ' ')
				q++;
			const char *eq = strchr(q, '=');
			if (!eq || eq[1] != '"')
				break;
			const char *end = strchr(eq + 2, '"');
			if (!end)
				break;
			if ((size_t)(eq - q) == strlen(key) && strncmp(q, key, eq - q) == 0) {
				snprintf(buf, bufsz, "%.*s", (int)(end - eq - 2), eq + 2);
				return true;
			}
			q = end + 1;
		}
	}
	return false;
}

static bool richrule_has_element(const char *rule, const char *element)
{
	char buf[8];
	/* Every element we care about carries at least one attribute. */
	return richrule_attr(rule, element, "port", buf, sizeof(buf)) ||
	       richrule_attr(rule, element, "name", buf, sizeof(buf)) ||
	       richrule_attr(rule, element, "value", buf, sizeof(buf)) ||
	       richrule_attr(rule, element, "protocol", buf, sizeof(buf));
}

static bool service_covers(const struct pc_fw_config *cfg, const char *name, const char *proto,
			   uint16_t port)
{
	const struct pc_fw_service *s = pc_fw_config_service(cfg, name);

	/* An unknown service name covers nothing we can prove; firewalld refuses such rules. */
	return s && (pc_fw_ports_cover(&s->ports, proto, port, NULL) ||
		     pc_strv_contains(&s->protocols, proto));
}

bool pc_fwzone_richrule_touches(const struct pc_fw_config *cfg, const char *rule, int family,
				uint8_t proto, uint16_t port)
{
	const char *pname = pc_proto_name(proto);
	char fam[16], val[64], prot[16];
	struct pc_fw_port fp;

	if (richrule_attr(rule, "rule", "family", fam, sizeof(fam))) {
		if (strcmp(fam, family == AF_INET ? "ipv4" : "ipv6") != 0)
			return false;
	}
	if (richrule_attr(rule, "port", "port", val, sizeof(val)) &&
	    richrule_attr(rule, "port", "protocol", prot, sizeof(prot)))
		return pc_fw_parse_port(val, prot, &fp) == 0 && strcmp(prot, pname) == 0 &&
		       fp.lo <= port && port <= fp.hi;
	if (richrule_attr(rule, "service", "name", val, sizeof(val)))
		return service_covers(cfg, val, pname, port);
	if (richrule_attr(rule, "protocol", "value", val, sizeof(val)))
		return strcmp(val, pname) == 0;
	if (richrule_attr(rule, "forward-port", "port", val, sizeof(val)) &&
	    richrule_attr(rule, "forward-port", "protocol", prot, sizeof(prot)))
		return pc_fw_parse_port(val, prot, &fp) == 0 && strcmp(prot, pname) == 0 &&
		       fp.lo <= port && port <= fp.hi;
	/* ICMP-only rules never touch TCP/UDP; masquerade alone neither. */
	if (richrule_has_element(rule, "icmp-block") || richrule_has_element(rule, "icmp-type") ||
	    (strstr(rule, " masquerade") && !strstr(rule, " accept") && !strstr(rule, " drop") &&
	     !strstr(rule, " reject")))
		return false;
	/* No port, service or protocol restriction: it applies to every port. */
	return true;
}

/* "port=80:proto=tcp:toport=8080:toaddr=" covers @port/@proto? */
static bool forward_port_touches(const char *fwd, const char *proto, uint16_t port)
{
	char p[32] = "", pr[16] = "";
	struct pc_fw_port fp;

	if (sscanf(fwd, "port=%31[^:]:proto=%15[^:]", p, pr) != 2)
		return true; /* unparsable: assume it touches, never assume it does not */
	return pc_fw_parse_port(p, pr, &fp) == 0 && strcmp(pr, proto) == 0 && fp.lo <= port &&
	       port <= fp.hi;
}

void pc_fwzone_decide(const struct pc_fw_config *cfg, const struct pc_fw_zone *zone, int family,
		      uint8_t proto, uint16_t port, struct pc_fwzone_decision *ret)
{
	const char *pname = pc_proto_name(proto);
	struct pc_fwzone_decision d = {.outcome = PC_FWZONE_REJECT};
	const struct pc_fw_port *entry;

	/* Rich rules run before the zone's allow lists in firewalld's chains (and may deny),
	 * so any rule touching the port makes the answer unknown until the engine runs them. */
	for (size_t i = 0; i < zone->rich_rules.n; i++) {
		if (pc_fwzone_richrule_touches(cfg, zone->rich_rules.v[i], family, proto, port)) {
			d.outcome = PC_FWZONE_UNKNOWN;
			snprintf(d.what, sizeof(d.what), "rich rule '%s'", zone->rich_rules.v[i]);
			goto out;
		}
	}
	for (size_t i = 0; i < zone->forward_ports.n; i++) {
		if (forward_port_touches(zone->forward_ports.v[i], pname, port)) {
			d.outcome = PC_FWZONE_UNKNOWN;
			snprintf(d.what, sizeof(d.what), "forward port '%s'",
				 zone->forward_ports.v[i]);
			goto out;
		}
	}
	for (size_t i = 0; i < zone->services.n; i++) {
		if (service_covers(cfg, zone->services.v[i], pname, port)) {
			d.outcome = PC_FWZONE_ALLOW;
			snprintf(d.what, sizeof(d.what), "service %s", zone->services.v[i]);
			goto out;
		}
	}
	if (pc_fw_ports_cover(&zone->ports, pname, port, &entry)) {
		d.outcome = PC_FWZONE_ALLOW;
		if (entry->lo == entry->hi)
			snprintf(d.what, sizeof(d.what), "port %u/%s", entry->lo, entry->proto);
		else
			snprintf(d.what, sizeof(d.what), "port %u-%u/%s", entry->lo, entry->hi,
				 entry->proto);
		goto out;
	}
	if (pc_strv_contains(&zone->protocols, pname)) {
		d.outcome = PC_FWZONE_ALLOW;
		snprintf(d.what, sizeof(d.what), "protocol %s", pname);
		goto out;
	}
	if (zone->target && strcmp(zone->target, "ACCEPT") == 0) {
		d.outcome = PC_FWZONE_ALLOW;
		snprintf(d.what, sizeof(d.what), "target ACCEPT");
	} else if (zone->target && strcmp(zone->target, "DROP") == 0) {
		d.outcome = PC_FWZONE_DROP;
	}
	/* "default" and "%%REJECT%%" both reject in firewalld 1.x. */
out:
	*ret = d;
}

/* firewalld interface names may end in '+', matching every name with that prefix. */
static bool ifname_matches(const char *pattern, const char *ifname)
{
	size_t len = strlen(pattern);

	if (len > 0 && pattern[len - 1] == '+')
		return strncmp(pattern, ifname, len - 1) == 0;
	return strcmp(pattern, ifname) == 0;
}

const struct pc_fw_zone *pc_fwzone_of_interface(const struct pc_fw_config *cfg,
						const char *default_zone, const char *ifname)
{
	for (size_t i = 0; i < cfg->n_zones; i++)
		for (size_t j = 0; j < cfg->zones[i].interfaces.n; j++)
			if (ifname_matches(cfg->zones[i].interfaces.v[j], ifname))
				return &cfg->zones[i];
	return default_zone ? pc_fw_config_zone(cfg, default_zone) : NULL;
}

/* The first runtime zone with a source binding (CIDR) containing @src. ipset: and MAC
 * sources cannot be matched from an address alone and are skipped. */
static const struct pc_fw_zone *zone_of_source(const struct pc_fw_config *cfg,
					       const struct pc_addr *src)
{
	for (size_t i = 0; i < cfg->n_zones; i++)
		for (size_t j = 0; j < cfg->zones[i].sources.n; j++) {
			struct pc_prefix p;
			if (pc_prefix_from_string(cfg->zones[i].sources.v[j], &p) == 0 &&
			    pc_prefix_contains(&p, src))
				return &cfg->zones[i];
		}
	return NULL;
}

void pc_fwzone_view(const struct pc_firewalld *fw, const char *ifname, const struct pc_addr *src,
		    uint8_t proto, uint16_t port, struct pc_fw_view *ret)
{
	struct pc_fw_view v = {.decision.outcome = PC_FWZONE_UNKNOWN};
	const struct pc_fw_zone *pz;
	struct pc_fwzone_decision perm;

	v.zone = zone_of_source(&fw->runtime, src);
	v.by_source = v.zone != NULL;
	if (!v.zone)
		v.zone = pc_fwzone_of_interface(&fw->runtime, fw->default_zone, ifname);
	if (v.zone) {
		pc_fwzone_decide(&fw->runtime, v.zone, src->family, proto, port, &v.decision);
		if (v.decision.outcome == PC_FWZONE_ALLOW && fw->have_permanent) {
			pz = pc_fw_config_zone(&fw->permanent, v.zone->name);
			if (pz)
				pc_fwzone_decide(&fw->permanent, pz, src->family, proto, port,
						 &perm);
			v.runtime_only = !pz || perm.outcome != PC_FWZONE_ALLOW;
		}
	}
	*ret = v;
}
