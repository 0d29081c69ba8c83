/* SPDX-License-Identifier: MIT */
/* Parsing a SPEC of `portcheck open` / `close`: see include/portcheck/fwspec.h. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portcheck/fwspec.h"
#include "portcheck/util.h"

/* A decimal port 1-65535 from [s, end). Returns 0, or -EINVAL with a message. */
static int parse_port_number(const char *s, size_t len, const char *item, uint16_t *ret,
			     char **ret_error)
{
	unsigned long v = 0;

	if (len == 0)
		return pc_error_set(ret_error, -EINVAL, "'%s': missing port number", item);
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return pc_error_set(ret_error, -EINVAL, "'%s': '%.*s' is not a port number",
					    item, (int)len, s);
		if (v <= 65535)
			v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return pc_error_set(ret_error, -EINVAL, "'%s': port %.*s is out of range (1-65535)",
				    item, (int)len, s);
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
			return pc_error_set(ret_error, -EINVAL,
					    "'%s': a port needs a protocol, e.g. %s/tcp", item,
					    item);
		if (!valid_service_name(item))
			return pc_error_set(
			    ret_error, -EINVAL,
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
		return pc_error_set(ret_error, -EINVAL,
				    "'%s': unknown protocol '%s' (tcp, udp, sctp or dccp)", item,
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
			return pc_error_set(ret_error, -EINVAL,
					    "'%s': range %u-%u runs backwards (low > high)", item,
					    it.port.lo, it.port.hi);
	} else {
		r = parse_port_number(item, (size_t)(slash - item), item, &it.port.lo, ret_error);
		if (r < 0)
			return r;
		it.port.hi = it.port.lo;
	}
	*ret = it;
	return 0;
}

bool pc_fw_item_equal(const struct pc_fw_item *a, const struct pc_fw_item *b)
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
		return pc_error_set(ret_error, -EINVAL,
				    "empty SPEC: give PORT/PROTO (80/tcp), a range "
				    "(8000-8010/udp) or a service name (http)");
	if (strlen(text) > 4096)
		return pc_error_set(ret_error, -EINVAL, "SPEC is too long");
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
			return pc_error_set(ret_error, -EINVAL, "'%s': empty item in the list",
					    text);
		r = parse_item(p, &it, ret_error);
		if (r < 0)
			return r;
		for (size_t i = 0; i < spec.n; i++)
			dup = dup || pc_fw_item_equal(&spec.items[i], &it);
		if (!dup) {
			if (spec.n >= PC_FW_SPEC_MAX_ITEMS)
				return pc_error_set(ret_error, -EINVAL,
						    "too many items (at most %d)",
						    PC_FW_SPEC_MAX_ITEMS);
			spec.items[spec.n++] = it;
		}
		if (!comma)
			break;
	}
	*ret = spec;
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
