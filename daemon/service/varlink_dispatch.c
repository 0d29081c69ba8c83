/* SPDX-License-Identifier: MIT */
/*
 * Varlink dispatch: a parsed request to its reply. The method is looked up in the
 * embedding program's table (or is org.varlink.service's, built in), the program's
 * authorize callback decides, and errors are Varlink error replies. See
 * varlink_server_internal.h for how the server is split.
 */
#include <errno.h>
#include <string.h>
#include <syslog.h>

#include "portcheck/util.h"
#include "varlink_server_internal.h"

#define ORG_VARLINK_SERVICE "org.varlink.service"

const char pc_varlink_idl_org_varlink_service[] =
    "# The Varlink Service Interface is provided by every varlink service. It\n"
    "# describes the service and the interfaces it implements.\n"
    "interface org.varlink.service\n"
    "\n"
    "# Get a list of all the interfaces a service provides and information\n"
    "# about the implementation.\n"
    "method GetInfo() -> (\n"
    "  vendor: string,\n"
    "  product: string,\n"
    "  version: string,\n"
    "  url: string,\n"
    "  interfaces: []string\n"
    ")\n"
    "\n"
    "# Get the description of an interface that is implemented by this service.\n"
    "method GetInterfaceDescription(interface: string) -> (description: string)\n"
    "\n"
    "# The requested interface was not found.\n"
    "error InterfaceNotFound (interface: string)\n"
    "\n"
    "# The requested method was not found\n"
    "error MethodNotFound (method: string)\n"
    "\n"
    "# The interface defines the requested method, but the service does not\n"
    "# implement it.\n"
    "error MethodNotImplemented (method: string)\n"
    "\n"
    "# One of the passed parameters is invalid.\n"
    "error InvalidParameter (parameter: string)\n"
    "\n"
    "# Client is denied access\n"
    "error PermissionDenied ()\n"
    "\n"
    "# Method is expected to be called with 'more' set to true, but wasn't\n"
    "error ExpectedMore ()\n";

static json_t *invalid_parameter(const char *name)
{
	return pc_varlink_error_new_string(PC_VARLINK_ERROR_INVALID_PARAMETER, "parameter", name);
}

static const struct pc_varlink_interface *find_interface(const struct pc_server *s,
							 const char *name)
{
	for (size_t i = 0; i < s->cfg.n_interfaces; i++)
		if (strcmp(s->cfg.interfaces[i].name, name) == 0)
			return &s->cfg.interfaces[i];
	return NULL;
}

static json_t *get_info(const struct pc_server *s, json_t *params)
{
	const char *key;
	json_t *v, *ifaces, *reply;

	json_object_foreach(params, key, v) return invalid_parameter(key);

	ifaces = json_array();
	if (!ifaces || json_array_append_new(ifaces, json_string(ORG_VARLINK_SERVICE)) < 0)
		goto fail;
	for (size_t i = 0; i < s->cfg.n_interfaces; i++)
		if (json_array_append_new(ifaces, json_string(s->cfg.interfaces[i].name)) < 0)
			goto fail;
	reply = json_pack("{s:s, s:s, s:s, s:s, s:o}", "vendor", s->cfg.vendor ?: "", "product",
			  s->cfg.product ?: "", "version", s->cfg.version ?: "", "url",
			  s->cfg.url ?: "", "interfaces", ifaces);
	/* json_pack() consumed ifaces, on failure too. */
	return reply ? pc_varlink_reply_new(reply, false) : NULL;
fail:
	json_decref(ifaces);
	return NULL;
}

static json_t *get_interface_description(const struct pc_server *s, json_t *params)
{
	const struct pc_varlink_interface *iface;
	const char *key, *name, *description;
	json_t *v;

	json_object_foreach(params, key,
			    v) if (strcmp(key, "interface") != 0) return invalid_parameter(key);
	v = json_object_get(params, "interface");
	if (!json_is_string(v))
		return invalid_parameter("interface");
	name = json_string_value(v);

	if (strcmp(name, ORG_VARLINK_SERVICE) == 0) {
		description = pc_varlink_idl_org_varlink_service;
	} else {
		iface = find_interface(s, name);
		if (!iface)
			return pc_varlink_error_new_string(PC_VARLINK_ERROR_INTERFACE_NOT_FOUND,
							   "interface", name);
		description = iface->description;
	}
	return pc_varlink_reply_new(json_pack("{s:s}", "description", description), false);
}

/*
 * Find @req's method: *ret_method, or NULL for org.varlink.service's own. Returns true,
 * or false with the error reply (NULL: out of memory) in *ret_error.
 */
static bool find_method(const struct pc_server *s, const struct pc_varlink_request *req,
			const struct pc_varlink_method **ret_method, json_t **ret_error)
{
	const struct pc_varlink_method *method = NULL;

	*ret_method = NULL;
	if (strcmp(req->interface, ORG_VARLINK_SERVICE) == 0) {
		if (strcmp(req->method, ORG_VARLINK_SERVICE ".GetInfo") == 0 ||
		    strcmp(req->method, ORG_VARLINK_SERVICE ".GetInterfaceDescription") == 0)
			return true;
	} else {
		if (!find_interface(s, req->interface)) {
			*ret_error = pc_varlink_error_new_string(
			    PC_VARLINK_ERROR_INTERFACE_NOT_FOUND, "interface", req->interface);
			return false;
		}
		for (size_t i = 0; i < s->cfg.n_methods; i++)
			if (strcmp(s->cfg.methods[i].name, req->method) == 0)
				method = &s->cfg.methods[i];
		if (method) {
			*ret_method = method;
			return true;
		}
	}
	*ret_error =
	    pc_varlink_error_new_string(PC_VARLINK_ERROR_METHOD_NOT_FOUND, "method", req->method);
	return false;
}

/* org.varlink.service's own methods. */
static json_t *call_builtin(const struct pc_server *s, const struct pc_varlink_request *req)
{
	if (strcmp(req->method, ORG_VARLINK_SERVICE ".GetInfo") == 0)
		return get_info(s, req->parameters);
	return get_interface_description(s, req->parameters);
}

/* Run the embedding program's handler. Returns 0 with the reply, 1 when it deferred
 * the reply, or -errno. */
static int call_method(struct conn *c, const struct pc_varlink_method *method,
		       const struct pc_varlink_request *req, json_t **ret_reply)
{
	struct pc_varlink_call call = {.request = req, .peer = &c->peer, .conn = c};
	json_t *reply = NULL;
	int r;

	r = method->fn(&call, c->server->cfg.userdata, &reply);
	if (r < 0)
		return r;
	/* Deferred: pc_server_reply_deferred() answers later, or already did from inside
	 * the handler (then the reply is queued). */
	if (!reply && (c->deferred || c->replied_in_dispatch)) {
		c->replied_in_dispatch = false;
		return 1;
	}
	if (!reply)
		return -EINVAL;
	*ret_reply = reply;
	return 0;
}

/*
 * Produce the reply to @req in *ret_reply. Returns 0, 1 when the handler deferred it, or
 * -errno when no reply could be built (out of memory, a handler failure).
 */
int conn_dispatch(struct conn *c, const struct pc_varlink_request *req, json_t **ret_reply)
{
	struct pc_server *s = c->server;
	const struct pc_varlink_method *method;
	json_t *reply = NULL;
	int r;

	if (!find_method(s, req, &method, &reply))
		goto done;

	if (s->cfg.authorize && !s->cfg.authorize(&c->peer, req->method, s->cfg.userdata)) {
		/* Debug only: the embedding program logs refusals, rate-limited; a client
		 * repeating a refused call must not flood the journal. */
		conn_log(c, LOG_DEBUG, "%s: permission denied", req->method);
		reply = pc_varlink_error_new(PC_VARLINK_ERROR_PERMISSION_DENIED, NULL);
		goto done;
	}

	/* No method streams replies or upgrades the connection (yet). */
	if (req->more || req->upgrade) {
		reply = pc_varlink_error_new_string(PC_VARLINK_ERROR_METHOD_NOT_IMPLEMENTED,
						    "method", req->method);
		goto done;
	}

	if (!method) {
		reply = call_builtin(s, req);
	} else {
		r = call_method(c, method, req, &reply);
		if (r != 0)
			return r;
	}
done:
	if (!reply)
		return -ENOMEM;
	*ret_reply = reply;
	return 0;
}
