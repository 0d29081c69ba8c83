/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "portcheck/util.h"
#include "portcheck/varlink.h"

void pc_varlink_buf_init(struct pc_varlink_buf *b, size_t max)
{
	*b = (struct pc_varlink_buf){.max = max};
}

void pc_varlink_buf_clear(struct pc_varlink_buf *b)
{
	if (!b)
		return;
	free(b->data);
	pc_varlink_buf_init(b, b->max);
}

int pc_varlink_buf_feed(struct pc_varlink_buf *b, const void *data, size_t n)
{
	if (n == 0)
		return 0;

	/* Drop what was already handed out before growing, so a long-lived connection that
	 * exchanges many small messages keeps a buffer of the size of one message. */
	if (b->start > 0) {
		memmove(b->data, b->data + b->start, b->size - b->start);
		b->size -= b->start;
		b->start = 0;
	}

	if (n > SIZE_MAX - b->size)
		return -ENOMEM;
	if (b->size + n > b->alloc) {
		size_t alloc = b->alloc ? b->alloc : 4096;
		char *p;

		while (alloc < b->size + n) {
			if (alloc > SIZE_MAX / 2)
				return -ENOMEM;
			alloc *= 2;
		}
		p = realloc(b->data, alloc);
		if (!p)
			return -ENOMEM;
		b->data = p;
		b->alloc = alloc;
	}
	memcpy(b->data + b->size, data, n);
	b->size += n;
	return 0;
}

int pc_varlink_buf_next(struct pc_varlink_buf *b, const char **ret_msg, size_t *ret_len)
{
	size_t from = b->start + b->scanned;
	const char *nul;
	size_t len;

	nul = from < b->size ? memchr(b->data + from, 0, b->size - from) : NULL;
	if (!nul) {
		/* Remember how far we looked: a message trickling in byte by byte must not
		 * be rescanned from its start on every read. */
		b->scanned = b->size - b->start;
		return b->scanned >= b->max ? -EMSGSIZE : 0;
	}

	len = (size_t)(nul - (b->data + b->start));
	if (len + 1 > b->max)
		return -EMSGSIZE;

	*ret_msg = b->data + b->start;
	*ret_len = len;
	b->start += len + 1;
	b->scanned = 0;
	return 1;
}

size_t pc_varlink_buf_pending(const struct pc_varlink_buf *b)
{
	return b->size - b->start;
}

__attribute__((format(printf, 2, 3))) static void set_reason(struct pc_varlink_parse_error *err,
							     const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(err->reason, sizeof(err->reason), fmt, ap);
	va_end(ap);
}

static int load_object(const char *msg, size_t len, json_t **ret,
		       struct pc_varlink_parse_error *err)
{
	json_error_t jerr;
	json_t *root;

	/* Duplicate keys are rejected: two "method" keys would make the call mean whatever
	 * the parser happens to pick. */
	root = json_loadb(msg, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!root) {
		if (json_error_code(&jerr) == json_error_out_of_memory)
			return -ENOMEM;
		set_reason(err, "malformed JSON at byte %d: %s", jerr.position, jerr.text);
		return -EBADMSG;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		set_reason(err, "message is not a JSON object");
		return -EBADMSG;
	}
	*ret = root;
	return 0;
}

/* Absent and null mean false: both are what a peer omitting the flag would send. */
static int get_flag(json_t *root, const char *key, bool *ret, struct pc_varlink_parse_error *err)
{
	json_t *v = json_object_get(root, key);

	if (!v || json_is_null(v)) {
		*ret = false;
		return 0;
	}
	if (!json_is_boolean(v)) {
		set_reason(err, "\"%s\" is not a boolean", key);
		return -EBADMSG;
	}
	*ret = json_is_true(v);
	return 0;
}

/* Absent and null mean {}. Returns a new reference. */
static int get_parameters(json_t *root, json_t **ret, struct pc_varlink_parse_error *err)
{
	json_t *v = json_object_get(root, "parameters");

	if (!v || json_is_null(v)) {
		v = json_object();
		if (!v)
			return -ENOMEM;
		*ret = v;
		return 0;
	}
	if (!json_is_object(v)) {
		set_reason(err, "\"parameters\" is not an object");
		return -EBADMSG;
	}
	*ret = json_incref(v);
	return 0;
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/*
 * "interface.Member": the interface a dot-separated reverse-domain name, the member
 * starting with an upper-case letter (Varlink IDL). Checked here so that everything the
 * server later echoes back in an error is a plain name.
 */
static bool method_name_is_valid(const char *s, size_t len)
{
	const char *dot = memrchr(s, '.', len);
	const char *member;
	size_t i, ilen;

	if (!dot || dot == s)
		return false;
	ilen = (size_t)(dot - s);
	member = dot + 1;
	if (!(*member >= 'A' && *member <= 'Z'))
		return false;
	for (i = 1; member[i]; i++)
		if (!is_alnum(member[i]))
			return false;

	if (!is_alnum(s[0]) || !is_alnum(s[ilen - 1]))
		return false;
	for (i = 0; i < ilen; i++) {
		if (is_alnum(s[i]) || s[i] == '-')
			continue;
		if (s[i] == '.' && s[i + 1] != '.')
			continue;
		return false;
	}
	return true;
}

int pc_varlink_request_parse(const char *msg, size_t len, struct pc_varlink_request *ret,
			     struct pc_varlink_parse_error *err)
{
	_cleanup_json_ json_t *root = NULL;
	_cleanup_json_ json_t *params = NULL;
	_cleanup_free_ char *method = NULL, *interface = NULL;
	bool oneway, more, upgrade;
	const char *m;
	size_t mlen;
	json_t *v;
	int r;

	r = load_object(msg, len, &root, err);
	if (r < 0)
		return r;

	v = json_object_get(root, "method");
	if (!v) {
		set_reason(err, "\"method\" is missing");
		return -EBADMSG;
	}
	if (!json_is_string(v)) {
		set_reason(err, "\"method\" is not a string");
		return -EBADMSG;
	}
	m = json_string_value(v);
	mlen = json_string_length(v);
	if (!method_name_is_valid(m, mlen)) {
		set_reason(err, "\"method\" is not a qualified method name (interface.Method)");
		return -EBADMSG;
	}

	r = get_parameters(root, &params, err);
	if (r < 0)
		return r;
	r = get_flag(root, "oneway", &oneway, err);
	if (r < 0)
		return r;
	r = get_flag(root, "more", &more, err);
	if (r < 0)
		return r;
	r = get_flag(root, "upgrade", &upgrade, err);
	if (r < 0)
		return r;
	if (oneway && more) {
		set_reason(err, "\"oneway\" and \"more\" exclude each other");
		return -EBADMSG;
	}

	method = strdup(m);
	interface = strndup(m, (size_t)(strrchr(m, '.') - m));
	if (!method || !interface)
		return -ENOMEM;

	*ret = (struct pc_varlink_request){
	    .method = TAKE_PTR(method),
	    .interface = TAKE_PTR(interface),
	    .parameters = TAKE_PTR(params),
	    .oneway = oneway,
	    .more = more,
	    .upgrade = upgrade,
	};
	return 0;
}

void pc_varlink_request_clear(struct pc_varlink_request *req)
{
	if (!req)
		return;
	free(req->method);
	free(req->interface);
	json_decref(req->parameters);
	*req = (struct pc_varlink_request){0};
}

int pc_varlink_reply_parse(const char *msg, size_t len, struct pc_varlink_reply *ret,
			   struct pc_varlink_parse_error *err)
{
	_cleanup_json_ json_t *root = NULL;
	_cleanup_json_ json_t *params = NULL;
	_cleanup_free_ char *error = NULL;
	bool continues;
	json_t *v;
	int r;

	r = load_object(msg, len, &root, err);
	if (r < 0)
		return r;

	v = json_object_get(root, "error");
	if (v && !json_is_null(v)) {
		if (!json_is_string(v) || json_string_length(v) == 0) {
			set_reason(err, "\"error\" is not a non-empty string");
			return -EBADMSG;
		}
		error = strdup(json_string_value(v));
		if (!error)
			return -ENOMEM;
	}
	r = get_parameters(root, &params, err);
	if (r < 0)
		return r;
	r = get_flag(root, "continues", &continues, err);
	if (r < 0)
		return r;

	*ret = (struct pc_varlink_reply){
	    .error = TAKE_PTR(error),
	    .parameters = TAKE_PTR(params),
	    .continues = continues,
	};
	return 0;
}

void pc_varlink_reply_clear(struct pc_varlink_reply *reply)
{
	if (!reply)
		return;
	free(reply->error);
	json_decref(reply->parameters);
	*reply = (struct pc_varlink_reply){0};
}

/* json_object_set_new() steals @value even when it fails, which keeps callers simple. */
static json_t *with_parameters(json_t *msg, json_t *parameters)
{
	if (!parameters)
		parameters = json_object();
	if (!msg) {
		json_decref(parameters);
		return NULL;
	}
	if (!parameters || json_object_set_new(msg, "parameters", parameters) < 0) {
		json_decref(msg);
		return NULL;
	}
	return msg;
}

json_t *pc_varlink_reply_new(json_t *parameters, bool continues)
{
	json_t *msg = with_parameters(json_object(), parameters);

	if (msg && continues && json_object_set_new(msg, "continues", json_true()) < 0) {
		json_decref(msg);
		return NULL;
	}
	return msg;
}

json_t *pc_varlink_error_new(const char *error, json_t *parameters)
{
	json_t *msg = json_object();

	/* "error" first: it is what a person reading the wire wants to see. */
	if (msg && json_object_set_new(msg, "error", json_string(error)) < 0) {
		json_decref(msg);
		msg = NULL;
	}
	return with_parameters(msg, parameters);
}

json_t *pc_varlink_error_new_string(const char *error, const char *key, const char *value)
{
	json_t *params = json_object();

	if (params && json_object_set_new(params, key, json_string(value ? value : "")) < 0) {
		json_decref(params);
		return NULL;
	}
	if (!params)
		return NULL;
	return pc_varlink_error_new(error, params);
}

json_t *pc_varlink_call_new(const char *method, json_t *parameters, bool oneway, bool more)
{
	json_t *msg = json_object();

	if (!msg || json_object_set_new(msg, "method", json_string(method)) < 0)
		goto fail;
	if (parameters && json_object_set_new(msg, "parameters", TAKE_PTR(parameters)) < 0)
		goto fail;
	if (oneway && json_object_set_new(msg, "oneway", json_true()) < 0)
		goto fail;
	if (more && json_object_set_new(msg, "more", json_true()) < 0)
		goto fail;
	return msg;
fail:
	json_decref(parameters);
	json_decref(msg);
	return NULL;
}

int pc_varlink_message_serialize(const json_t *msg, char **ret, size_t *ret_len)
{
	char *s;

	if (!json_is_object(msg))
		return -EINVAL;
	/* Strings are escaped, so the only NUL is the C terminator, which doubles as the
	 * message terminator. */
	s = json_dumps(msg, JSON_COMPACT);
	if (!s)
		return -ENOMEM;
	*ret = s;
	*ret_len = strlen(s) + 1;
	return 0;
}

/* Room for a blob of @len bytes: mapped apart from the heap when large (see varlink.h). */
static struct pc_varlink_blob *blob_alloc(size_t len)
{
	struct pc_varlink_blob *b;
	size_t size = sizeof(*b) + len, page = (size_t)sysconf(_SC_PAGESIZE);
	void *p;

	if (len < PC_VARLINK_BLOB_MAP_MIN || size < len) {
		b = malloc(size);
		if (b)
			b->mapped = 0;
		return b;
	}
	size = (size + page - 1) & ~(page - 1);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	/* Should it fail, children carry the pages as they would from the heap: correct,
	 * only larger. */
	(void)madvise(p, size, MADV_DONTFORK);
	b = p;
	b->mapped = size;
	return b;
}

int pc_varlink_blob_new(const json_t *msg, struct pc_varlink_blob **ret)
{
	_cleanup_free_ char *text = NULL;
	struct pc_varlink_blob *b;
	size_t len;
	int r;

	r = pc_varlink_message_serialize(msg, &text, &len);
	if (r < 0)
		return r;
	b = blob_alloc(len);
	if (!b)
		return -ENOMEM;
	b->refs = 1;
	b->len = len;
	memcpy(b->data, text, len);
	*ret = b;
	return 0;
}

struct pc_varlink_blob *pc_varlink_blob_ref(struct pc_varlink_blob *b)
{
	if (b)
		b->refs++;
	return b;
}

void pc_varlink_blob_unref(struct pc_varlink_blob *b)
{
	if (!b || --b->refs)
		return;
	if (b->mapped)
		munmap(b, b->mapped);
	else
		free(b);
}
