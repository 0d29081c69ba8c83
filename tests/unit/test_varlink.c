/* SPDX-License-Identifier: MIT */
/* Varlink framing, request and reply parsing, message construction. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "portcheck/util.h"
#include "portcheck/varlink.h"

static void feed_str(struct pc_varlink_buf *b, const char *s, size_t n)
{
	assert_int_equal(pc_varlink_buf_feed(b, s, n), 0);
}

static void expect_msg(struct pc_varlink_buf *b, const char *want)
{
	const char *msg = NULL;
	size_t len = 0;

	assert_int_equal(pc_varlink_buf_next(b, &msg, &len), 1);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(msg, want, len);
	assert_int_equal(msg[len], '\0');
}

static void expect_none(struct pc_varlink_buf *b)
{
	const char *msg;
	size_t len;

	assert_int_equal(pc_varlink_buf_next(b, &msg, &len), 0);
}

static void test_framing_split(void **state)
{
	const char wire[] = "{\"method\":\"a.B\"}\0{\"method\":\"c.D\"}";
	struct pc_varlink_buf b;

	pc_varlink_buf_init(&b, 1024);
	/* Byte by byte: a message is yielded exactly when its NUL arrives. */
	for (size_t i = 0; i < sizeof(wire); i++) {
		feed_str(&b, wire + i, 1);
		if (i == 16)
			expect_msg(&b, "{\"method\":\"a.B\"}");
		else if (i == sizeof(wire) - 1)
			expect_msg(&b, "{\"method\":\"c.D\"}");
		else
			expect_none(&b);
	}
	expect_none(&b);
	assert_int_equal(pc_varlink_buf_pending(&b), 0);
	pc_varlink_buf_clear(&b);
}

static void test_framing_several_in_one_read(void **state)
{
	const char wire[] = "{\"a\":1}\0{\"b\":2}\0\0{\"c\":3}\0{\"d\"";
	struct pc_varlink_buf b;

	pc_varlink_buf_init(&b, 1024);
	feed_str(&b, wire, sizeof(wire) - 1);
	expect_msg(&b, "{\"a\":1}");
	expect_msg(&b, "{\"b\":2}");
	expect_msg(&b, ""); /* an empty message is framed; the parser rejects it */
	expect_msg(&b, "{\"c\":3}");
	expect_none(&b);
	assert_int_equal(pc_varlink_buf_pending(&b), 4);
	feed_str(&b, ":4}", 4); /* with the NUL */
	expect_msg(&b, "{\"d\":4}");
	assert_int_equal(pc_varlink_buf_pending(&b), 0);
	pc_varlink_buf_clear(&b);
}

static void test_framing_oversized(void **state)
{
	struct pc_varlink_buf b;
	char big[100];
	const char *msg;
	size_t len;

	memset(big, 'x', sizeof(big));

	/* Incomplete and already too long: detected before the NUL ever comes. */
	pc_varlink_buf_init(&b, 64);
	feed_str(&b, big, 63);
	expect_none(&b);
	feed_str(&b, big, 1);
	assert_int_equal(pc_varlink_buf_next(&b, &msg, &len), -EMSGSIZE);
	pc_varlink_buf_clear(&b);

	/* Complete but too long. */
	pc_varlink_buf_init(&b, 64);
	big[64] = '\0';
	feed_str(&b, big, 65);
	assert_int_equal(pc_varlink_buf_next(&b, &msg, &len), -EMSGSIZE);
	pc_varlink_buf_clear(&b);

	/* Exactly the maximum, NUL included, is fine. */
	pc_varlink_buf_init(&b, 64);
	big[63] = '\0';
	feed_str(&b, big, 64);
	assert_int_equal(pc_varlink_buf_next(&b, &msg, &len), 1);
	assert_int_equal(len, 63);
	pc_varlink_buf_clear(&b);
}

static void test_framing_missing_nul_at_eof(void **state)
{
	struct pc_varlink_buf b;

	pc_varlink_buf_init(&b, 1024);
	feed_str(&b, "{\"method\":\"a.B\"}", 16);
	expect_none(&b);
	/* At EOF the caller sees the truncated message as pending bytes. */
	assert_int_equal(pc_varlink_buf_pending(&b), 16);
	pc_varlink_buf_clear(&b);
	assert_int_equal(pc_varlink_buf_pending(&b), 0);
	pc_varlink_buf_clear(&b); /* twice is fine */
}

static void test_framing_long_stream(void **state)
{
	/* Many messages through a small-maximum buffer: consumed bytes are reclaimed. */
	struct pc_varlink_buf b;

	pc_varlink_buf_init(&b, 32);
	for (int i = 0; i < 10000; i++) {
		char m[32];
		int n = snprintf(m, sizeof(m), "{\"i\":%d}", i);

		feed_str(&b, m, (size_t)n + 1);
		expect_msg(&b, m);
	}
	assert_true(b.alloc <= 4096);
	pc_varlink_buf_clear(&b);
}

static int parse(const char *s, struct pc_varlink_request *req, struct pc_varlink_parse_error *e)
{
	return pc_varlink_request_parse(s, strlen(s), req, e);
}

static void test_request_ok(void **state)
{
	struct pc_varlink_request req;
	struct pc_varlink_parse_error e;

	assert_int_equal(parse("{\"method\":\"io.portcheck.Status\"}", &req, &e), 0);
	assert_string_equal(req.method, "io.portcheck.Status");
	assert_string_equal(req.interface, "io.portcheck");
	assert_true(json_is_object(req.parameters));
	assert_int_equal(json_object_size(req.parameters), 0);
	assert_false(req.oneway || req.more || req.upgrade);
	pc_varlink_request_clear(&req);

	assert_int_equal(parse("{\"method\":\"org.varlink.service.GetInterfaceDescription\","
			       "\"parameters\":{\"interface\":\"io.portcheck\"},\"more\":true,"
			       "\"upgrade\":false,\"x-extension\":[1,2]}",
			       &req, &e),
			 0);
	assert_string_equal(req.interface, "org.varlink.service");
	assert_string_equal(json_string_value(json_object_get(req.parameters, "interface")),
			    "io.portcheck");
	assert_true(req.more);
	assert_false(req.oneway);
	pc_varlink_request_clear(&req);

	assert_int_equal(
	    parse("{\"method\":\"a-b.c.D1\",\"parameters\":null,\"oneway\":true}", &req, &e), 0);
	assert_true(req.oneway);
	assert_string_equal(req.interface, "a-b.c");
	pc_varlink_request_clear(&req);
	pc_varlink_request_clear(&req);
}

static void expect_bad(const char *s, const char *reason_part)
{
	struct pc_varlink_request req = {0};
	struct pc_varlink_parse_error e = {""};

	assert_int_equal(parse(s, &req, &e), -EBADMSG);
	if (!strstr(e.reason, reason_part))
		fail_msg("reason \"%s\" does not mention \"%s\" (input %s)", e.reason, reason_part,
			 s);
	/* Nothing was handed out. */
	assert_null(req.method);
	assert_null(req.parameters);
}

static void test_request_malformed(void **state)
{
	expect_bad("", "malformed JSON");
	expect_bad("{\"method\":", "malformed JSON");
	expect_bad("{\"method\":\"a.B\"} trailing", "malformed JSON");
	expect_bad("{\"method\":\"a.B\",\"method\":\"c.D\"}", "malformed JSON");
	expect_bad("[\"a.B\"]", "not a JSON object");
	expect_bad("\"a.B\"", "not a JSON object");
	expect_bad("{\"method\":\"\\u0000a.B\"}", "malformed JSON");

	/* NUL inside the length passed: not JSON. */
	{
		struct pc_varlink_request req;

		assert_int_equal(
		    pc_varlink_request_parse("{\"method\":\"a.B\"}\0x", 18, &req, NULL), -EBADMSG);
	}
}

static void test_request_wrong_types(void **state)
{
	expect_bad("{}", "\"method\" is missing");
	expect_bad("{\"method\":1}", "\"method\" is not a string");
	expect_bad("{\"method\":null}", "\"method\" is not a string");
	expect_bad("{\"method\":\"Status\"}", "qualified");
	expect_bad("{\"method\":\"io.portcheck.status\"}", "qualified");
	expect_bad("{\"method\":\".Status\"}", "qualified");
	expect_bad("{\"method\":\"io..portcheck.Status\"}", "qualified");
	expect_bad("{\"method\":\"io.portcheck.\"}", "qualified");
	expect_bad("{\"method\":\"io.portcheck.Sta tus\"}", "qualified");
	expect_bad("{\"method\":\"io.port\\u001bcheck.Status\"}", "qualified");
	expect_bad("{\"method\":\"a.B\",\"parameters\":[]}", "\"parameters\" is not an object");
	expect_bad("{\"method\":\"a.B\",\"parameters\":\"x\"}", "\"parameters\" is not an object");
	expect_bad("{\"method\":\"a.B\",\"oneway\":1}", "\"oneway\" is not a boolean");
	expect_bad("{\"method\":\"a.B\",\"more\":\"yes\"}", "\"more\" is not a boolean");
	expect_bad("{\"method\":\"a.B\",\"upgrade\":{}}", "\"upgrade\" is not a boolean");
	expect_bad("{\"method\":\"a.B\",\"oneway\":true,\"more\":true}", "exclude");
}

static void test_request_unknown_method_parses(void **state)
{
	/* Whether a method exists is the server's business, not the parser's. */
	struct pc_varlink_request req;

	assert_int_equal(parse("{\"method\":\"com.example.Nothing\"}", &req, NULL), 0);
	assert_string_equal(req.interface, "com.example");
	pc_varlink_request_clear(&req);
}

static void test_reply_parse(void **state)
{
	struct pc_varlink_reply r;
	struct pc_varlink_parse_error e;
	const char *s;

	s = "{\"parameters\":{\"x\":1}}";
	assert_int_equal(pc_varlink_reply_parse(s, strlen(s), &r, &e), 0);
	assert_null(r.error);
	assert_int_equal(json_integer_value(json_object_get(r.parameters, "x")), 1);
	assert_false(r.continues);
	pc_varlink_reply_clear(&r);

	s = "{\"error\":\"org.varlink.service.MethodNotFound\",\"parameters\":{\"method\":\"a.B\"}"
	    "}";
	assert_int_equal(pc_varlink_reply_parse(s, strlen(s), &r, &e), 0);
	assert_string_equal(r.error, PC_VARLINK_ERROR_METHOD_NOT_FOUND);
	pc_varlink_reply_clear(&r);

	s = "{\"continues\":true}";
	assert_int_equal(pc_varlink_reply_parse(s, strlen(s), &r, &e), 0);
	assert_true(r.continues);
	assert_int_equal(json_object_size(r.parameters), 0);
	pc_varlink_reply_clear(&r);

	s = "{\"error\":5}";
	assert_int_equal(pc_varlink_reply_parse(s, strlen(s), &r, &e), -EBADMSG);
	s = "{\"error\":\"\"}";
	assert_int_equal(pc_varlink_reply_parse(s, strlen(s), &r, &e), -EBADMSG);
	s = "{\"parameters\":1}";
	assert_int_equal(pc_varlink_reply_parse(s, strlen(s), &r, &e), -EBADMSG);
	s = "{\"continues\":\"no\"}";
	assert_int_equal(pc_varlink_reply_parse(s, strlen(s), &r, &e), -EBADMSG);
	s = "nope";
	assert_int_equal(pc_varlink_reply_parse(s, strlen(s), &r, &e), -EBADMSG);
}

static void expect_serialized(json_t *msg, const char *want)
{
	_cleanup_free_ char *data = NULL;
	size_t len;

	assert_non_null(msg);
	assert_int_equal(pc_varlink_message_serialize(msg, &data, &len), 0);
	assert_int_equal(len, strlen(want) + 1);
	assert_memory_equal(data, want, len); /* NUL terminated on the wire */
	json_decref(msg);
}

static void test_build(void **state)
{
	char *data;
	size_t len;

	expect_serialized(pc_varlink_reply_new(NULL, false), "{\"parameters\":{}}");
	expect_serialized(pc_varlink_reply_new(json_pack("{s:i}", "a", 1), true),
			  "{\"parameters\":{\"a\":1},\"continues\":true}");
	expect_serialized(pc_varlink_error_new(PC_VARLINK_ERROR_PERMISSION_DENIED, NULL),
			  "{\"error\":\"org.varlink.service.PermissionDenied\",\"parameters\":{}}");
	expect_serialized(
	    pc_varlink_error_new_string(PC_VARLINK_ERROR_METHOD_NOT_FOUND, "method", "a.B"),
	    "{\"error\":\"org.varlink.service.MethodNotFound\",\"parameters\":{\"method\":"
	    "\"a.B\"}}");
	expect_serialized(pc_varlink_call_new("a.B", NULL, true, false),
			  "{\"method\":\"a.B\",\"oneway\":true}");
	expect_serialized(pc_varlink_call_new("a.B", json_object(), false, true),
			  "{\"method\":\"a.B\",\"parameters\":{},\"more\":true}");
	/* A NUL inside a string is escaped: it cannot end the message early. */
	expect_serialized(pc_varlink_reply_new(json_pack("{s:s%}", "s", "a\0b", (size_t)3), false),
			  "{\"parameters\":{\"s\":\"a\\u0000b\"}}");

	{
		json_t *arr = json_array();

		assert_int_equal(pc_varlink_message_serialize(arr, &data, &len), -EINVAL);
		json_decref(arr);
	}
}

static void test_roundtrip(void **state)
{
	_cleanup_free_ char *data = NULL;
	struct pc_varlink_request req;
	json_t *call;
	size_t len;

	call =
	    pc_varlink_call_new("io.portcheck.Status", json_pack("{s:s}", "k", "v"), false, false);
	assert_int_equal(pc_varlink_message_serialize(call, &data, &len), 0);
	json_decref(call);
	assert_int_equal(pc_varlink_request_parse(data, len - 1, &req, NULL), 0);
	assert_string_equal(req.method, "io.portcheck.Status");
	assert_string_equal(json_string_value(json_object_get(req.parameters, "k")), "v");
	pc_varlink_request_clear(&req);
}

/* In a fork()ed child: 1 when the page holding @p is mapped, 0 when not. */
static int child_sees(const void *p)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) /* msync() fails with ENOMEM on an address with no mapping */
		_exit(msync((void *)((uintptr_t)p & ~(page - 1)), 1, MS_ASYNC) == 0 ? 1
		      : errno == ENOMEM						    ? 0
										    : 2);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) < 2);
	return WEXITSTATUS(status);
}

/* A kept reply of many MiB must not follow the daemon into each analysis child (its
 * peak memory would count it); small ones stay on the heap. Both hold the message. */
static void test_blob_large_not_forked(void **state)
{
	size_t big = PC_VARLINK_BLOB_MAP_MIN + 12345;
	_cleanup_free_ char *s = malloc(big + 1);
	struct pc_varlink_blob *b = NULL, *small = NULL;
	json_t *m;

	assert_non_null(s);
	memset(s, 'x', big);
	s[big] = '\0';
	m = json_pack("{s:s}", "v", s);
	assert_int_equal(pc_varlink_blob_new(m, &b), 0);
	json_decref(m);
	assert_true(b->len > big);
	assert_true(b->mapped >= sizeof(*b) + b->len);
	assert_memory_equal(b->data, "{\"v\":\"xxx", 9);
	assert_int_equal(b->data[b->len - 1], '\0');
	assert_int_equal(child_sees(b->data + b->len / 2), 0);
	assert_ptr_equal(pc_varlink_blob_ref(b), b);
	pc_varlink_blob_unref(b);
	assert_int_equal(b->refs, 1);
	pc_varlink_blob_unref(b);

	m = json_pack("{s:s}", "v", "x");
	assert_int_equal(pc_varlink_blob_new(m, &small), 0);
	json_decref(m);
	assert_int_equal(small->mapped, 0);
	assert_string_equal(small->data, "{\"v\":\"x\"}");
	assert_int_equal(child_sees(small->data), 1);
	pc_varlink_blob_unref(small);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_framing_split),
	    cmocka_unit_test(test_framing_several_in_one_read),
	    cmocka_unit_test(test_framing_oversized),
	    cmocka_unit_test(test_framing_missing_nul_at_eof),
	    cmocka_unit_test(test_framing_long_stream),
	    cmocka_unit_test(test_request_ok),
	    cmocka_unit_test(test_request_malformed),
	    cmocka_unit_test(test_request_wrong_types),
	    cmocka_unit_test(test_request_unknown_method_parses),
	    cmocka_unit_test(test_reply_parse),
	    cmocka_unit_test(test_build),
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_blob_large_not_forked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
