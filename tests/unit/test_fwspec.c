/* SPDX-License-Identifier: MIT */
/*
 * Firewall changes, the pure half: SPEC parsing with its error messages, validation
 * against a firewalld snapshot, the plan (which zones Open and Close change), Open's
 * parameters, and the process start time polkit is given. No bus.
 */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "portcheck/fwchange.h"
#include "portcheck/open.h"
#include "portcheck/polkit.h"

static void parse_ok(const char *text, struct pc_fw_spec *spec)
{
	_cleanup_free_ char *err = NULL;

	assert_int_equal(pc_fw_spec_parse(text, spec, &err), 0);
	assert_null(err);
}

/* Parsing fails with a message containing @needle. */
static void parse_bad(const char *text, const char *needle)
{
	_cleanup_free_ char *err = NULL;
	struct pc_fw_spec spec;

	assert_int_equal(pc_fw_spec_parse(text, &spec, &err), -EINVAL);
	assert_non_null(err);
	if (!strstr(err, needle))
		fail_msg("'%s': error '%s' lacks '%s'", text, err, needle);
}

static void test_parse_items(void **state)
{
	struct pc_fw_spec s;
	_cleanup_free_ char *t = NULL;

	parse_ok("80/tcp", &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.items[0].kind, PC_FW_ITEM_PORT);
	assert_int_equal(s.items[0].port.lo, 80);
	assert_int_equal(s.items[0].port.hi, 80);
	assert_string_equal(s.items[0].port.proto, "tcp");

	parse_ok("8000-8010/udp", &s);
	assert_int_equal(s.items[0].port.lo, 8000);
	assert_int_equal(s.items[0].port.hi, 8010);
	t = pc_fw_item_to_string(&s.items[0]);
	assert_string_equal(t, "8000-8010/udp");

	parse_ok("http", &s);
	assert_int_equal(s.items[0].kind, PC_FW_ITEM_SERVICE);
	assert_string_equal(s.items[0].service, "http");

	parse_ok("80/tcp,http,443/tcp,9/sctp,7/dccp,1-65535/tcp", &s);
	assert_int_equal(s.n, 6);
	assert_int_equal(s.items[1].kind, PC_FW_ITEM_SERVICE);
	assert_int_equal(s.items[5].port.hi, 65535);

	/* Repeats are one item: changing a zone twice would report a spurious "already". */
	parse_ok("80/tcp,80/tcp,http,http", &s);
	assert_int_equal(s.n, 2);
}

static void test_parse_errors(void **state)
{
	parse_bad("", "empty SPEC");
	parse_bad("0/tcp", "port 0 is out of range");
	parse_bad("65536/tcp", "port 65536 is out of range");
	parse_bad("99999999999999999999/tcp", "out of range");
	parse_bad("90-80/tcp", "runs backwards");
	parse_bad("80/foo", "unknown protocol 'foo'");
	parse_bad("80/", "unknown protocol ''");
	parse_bad("80/tcp,", "empty item");
	parse_bad(",80/tcp", "empty item");
	parse_bad("80/tcp,,http", "empty item");
	parse_bad("80", "needs a protocol");
	parse_bad("x80/tcp", "'x80' is not a port number");
	parse_bad("/tcp", "missing port number");
	parse_bad("80-/tcp", "missing port number");
	parse_bad("http$", "neither PORT/PROTO");
	parse_bad("a b", "neither PORT/PROTO");
	parse_bad("80/tcp,8o/udp", "'8o/udp'");
}

/* A firewalld with zones public (default; service ssh) and work (service http, port
 * 8080/tcp), services ssh (22/tcp) and http (80/tcp); permanent: public has 443/tcp. */
static void fw_build(struct pc_firewalld *fw)
{
	struct pc_fw_zone *z;
	struct pc_fw_service *s;
	struct pc_fw_port *p;

	*fw = (struct pc_firewalld){.running = true, .have_permanent = true};
	fw->default_zone = strdup("public");
	z = pc_array_grow(&fw->runtime.zones, &fw->runtime.n_zones, sizeof(*z));
	z->name = strdup("public");
	assert_int_equal(pc_strv_push(&z->services, "ssh"), 0);
	z = pc_array_grow(&fw->runtime.zones, &fw->runtime.n_zones, sizeof(*z));
	z->name = strdup("work");
	assert_int_equal(pc_strv_push(&z->services, "http"), 0);
	p = pc_array_grow(&z->ports.v, &z->ports.n, sizeof(*p));
	*p = (struct pc_fw_port){.lo = 8080, .hi = 8080, .proto = "tcp"};
	s = pc_array_grow(&fw->runtime.services, &fw->runtime.n_services, sizeof(*s));
	s->name = strdup("ssh");
	p = pc_array_grow(&s->ports.v, &s->ports.n, sizeof(*p));
	*p = (struct pc_fw_port){.lo = 22, .hi = 22, .proto = "tcp"};
	s = pc_array_grow(&fw->runtime.services, &fw->runtime.n_services, sizeof(*s));
	s->name = strdup("http");
	p = pc_array_grow(&s->ports.v, &s->ports.n, sizeof(*p));
	*p = (struct pc_fw_port){.lo = 80, .hi = 80, .proto = "tcp"};
	z = pc_array_grow(&fw->permanent.zones, &fw->permanent.n_zones, sizeof(*z));
	z->name = strdup("public");
	p = pc_array_grow(&z->ports.v, &z->ports.n, sizeof(*p));
	*p = (struct pc_fw_port){.lo = 443, .hi = 443, .proto = "tcp"};
}

static void test_validate(void **state)
{
	struct pc_firewalld fw;
	struct pc_fw_spec s;
	const char *param = NULL;
	char *err = NULL;

	fw_build(&fw);
	parse_ok("80/tcp,http", &s);
	assert_int_equal(pc_fw_spec_validate(&s, NULL, &fw, &param, &err), 0);
	assert_int_equal(pc_fw_spec_validate(&s, "work", &fw, &param, &err), 0);

	assert_int_equal(pc_fw_spec_validate(&s, "dmz2", &fw, &param, &err), -ENOENT);
	assert_string_equal(param, "zone");
	assert_non_null(strstr(err, "no zone 'dmz2'"));
	free(err);

	parse_ok("80/tcp,nosuch", &s);
	assert_int_equal(pc_fw_spec_validate(&s, NULL, &fw, &param, &err), -ENOENT);
	assert_string_equal(param, "spec");
	assert_non_null(strstr(err, "no service 'nosuch'"));
	free(err);
	pc_firewalld_clear(&fw);
}

/* A report with one listener on tcp/@port whose paths land in @zones with @verdicts. */
struct fake_report {
	struct pc_report r;
	struct pc_listener_report l;
	struct pc_path paths[4];
};

static void report_build(struct fake_report *f, uint16_t port, const char *const *zones,
			 const enum pc_verdict *verdicts, size_t n)
{
	memset(f, 0, sizeof(*f));
	f->l.listener.protocol = IPPROTO_TCP;
	f->l.listener.port = port;
	for (size_t i = 0; i < n; i++) {
		f->paths[i].zone = (char *)zones[i];
		f->paths[i].fw_verdict = verdicts[i];
	}
	f->l.paths = f->paths;
	f->l.n_paths = n;
	f->r.listeners = &f->l;
	f->r.n_listeners = 1;
}

static void test_plan_open(void **state)
{
	static const char *const zones[] = {"public", "work", "public"};
	static const enum pc_verdict v[] = {PC_VERDICT_REJECT, PC_VERDICT_DROP, PC_VERDICT_REJECT};
	static const enum pc_verdict v_ok[] = {PC_VERDICT_ACCEPT};
	struct pc_firewalld fw;
	struct fake_report fr;
	struct pc_fw_plan plan;
	struct pc_fw_spec s;

	fw_build(&fw);

	/* Two zones refuse the listener: each is changed, once. */
	report_build(&fr, 80, zones, v, 3);
	parse_ok("80/tcp", &s);
	assert_int_equal(pc_fw_plan_make(true, &s, NULL, &fw, &fr.r, &plan), 0);
	assert_true(plan.zones_from_analysis);
	assert_int_equal(plan.n, 2);
	assert_string_equal(plan.v[0].zone, "public");
	assert_string_equal(plan.v[1].zone, "work");
	assert_false(plan.v[0].runtime_present);
	assert_null(plan.v[0].covered_by);
	/* work's service http already covers 80/tcp. */
	assert_string_equal(plan.v[1].covered_by, "http");
	pc_fw_plan_clear(&plan);

	/* A listener on another port: not ours; the default zone. */
	report_build(&fr, 81, zones, v, 3);
	assert_int_equal(pc_fw_plan_make(true, &s, NULL, &fw, &fr.r, &plan), 0);
	assert_false(plan.zones_from_analysis);
	assert_int_equal(plan.n, 1);
	assert_string_equal(plan.v[0].zone, "public");
	pc_fw_plan_clear(&plan);

	/* Accepted everywhere: the default zone. A service item matches by its ports. */
	report_build(&fr, 80, zones, v_ok, 1);
	parse_ok("http", &s);
	assert_int_equal(pc_fw_plan_make(true, &s, NULL, &fw, &fr.r, &plan), 0);
	assert_int_equal(plan.n, 1);
	assert_string_equal(plan.v[0].zone, "public");
	pc_fw_plan_clear(&plan);

	/* A zone given wins; the permanent snapshot tells what is there already. */
	parse_ok("443/tcp,8080/tcp", &s);
	assert_int_equal(pc_fw_plan_make(true, &s, "public", &fw, &fr.r, &plan), 0);
	assert_int_equal(plan.n, 2);
	assert_true(plan.v[0].permanent_present);
	assert_false(plan.v[0].runtime_present);
	assert_false(plan.v[1].permanent_present);
	pc_fw_plan_clear(&plan);

	/* No zone to fall back on. */
	free(fw.default_zone);
	fw.default_zone = NULL;
	report_build(&fr, 81, zones, v, 3);
	parse_ok("80/tcp", &s);
	assert_int_equal(pc_fw_plan_make(true, &s, NULL, &fw, &fr.r, &plan), -ENOENT);
	pc_firewalld_clear(&fw);
}

static void test_plan_close(void **state)
{
	struct pc_firewalld fw;
	struct pc_fw_plan plan;
	struct pc_fw_spec s;

	fw_build(&fw);
	/* Each item only where it is: 8080/tcp in work, 443/tcp permanently in public. */
	parse_ok("8080/tcp,443/tcp", &s);
	assert_int_equal(pc_fw_plan_make(false, &s, NULL, &fw, NULL, &plan), 0);
	assert_true(plan.zones_from_analysis);
	assert_int_equal(plan.n, 2);
	assert_string_equal(plan.v[0].zone, "public");
	assert_string_equal(plan.v[0].item.port.proto, "tcp");
	assert_int_equal(plan.v[0].item.port.lo, 443);
	assert_true(plan.v[0].permanent_present);
	assert_string_equal(plan.v[1].zone, "work");
	assert_int_equal(plan.v[1].item.port.lo, 8080);
	assert_true(plan.v[1].runtime_present);
	pc_fw_plan_clear(&plan);

	/* Nowhere: the default zone, reported absent. */
	parse_ok("9999/udp", &s);
	assert_int_equal(pc_fw_plan_make(false, &s, NULL, &fw, NULL, &plan), 0);
	assert_false(plan.zones_from_analysis);
	assert_int_equal(plan.n, 1);
	assert_string_equal(plan.v[0].zone, "public");
	assert_false(plan.v[0].runtime_present);
	pc_fw_plan_clear(&plan);
	pc_firewalld_clear(&fw);
}

/* Open's parameters fail with @param and a reason containing @needle. */
static void open_bad(const char *json, bool open, const char *param, const char *needle)
{
	json_t *p = json_loads(json, 0, NULL);
	struct pc_open_request req;
	const char *bad = NULL;
	char *why = NULL;

	assert_non_null(p);
	assert_int_equal(pc_open_parse(p, open, &req, &bad, &why), -EINVAL);
	assert_string_equal(bad, param);
	if (!why || !strstr(why, needle))
		fail_msg("%s: reason '%s' lacks '%s'", json, why ?: "(null)", needle);
	free(why);
	json_decref(p);
}

static void test_open_parse(void **state)
{
	json_t *p = json_loads("{\"spec\":\"80/tcp,http\",\"zone\":\"public\",\"permanent\":true,"
			       "\"dry_run\":true,\"timeout\":null}",
			       0, NULL);
	struct pc_open_request req;
	const char *bad = NULL;
	char *why = NULL;

	assert_int_equal(pc_open_parse(p, true, &req, &bad, &why), 0);
	assert_true(req.open && req.permanent && req.dry_run);
	assert_string_equal(req.zone, "public");
	assert_int_equal(req.spec.n, 2);
	assert_int_equal(req.timeout_s, 0);
	json_decref(p);

	open_bad("{}", true, "spec", "spec is required");
	open_bad("{\"spec\":80}", true, "spec", "wrong type");
	open_bad("{\"spec\":\"0/tcp\"}", true, "spec", "out of range");
	open_bad("{\"spec\":\"80/tcp\",\"timeout\":5,\"permanent\":true}", true, "timeout",
		 "cannot be combined with permanent");
	open_bad("{\"spec\":\"80/tcp\",\"timeout\":0}", true, "timeout", "timeout must be");
	open_bad("{\"spec\":\"80/tcp\",\"timeout\":5}", false, "timeout", "open only");
	open_bad("{\"spec\":\"80/tcp\",\"zone\":\"\"}", true, "zone", "not a zone name");
	open_bad("{\"spec\":\"80/tcp\",\"bogus\":1}", true, "bogus", "unknown parameter");
	open_bad("{\"spec\":\"80/tcp\",\"permanent\":\"yes\"}", true, "permanent", "wrong type");
}

static void test_start_time(void **state)
{
	uint64_t t = 0;

	/* comm with spaces and a ')' inside: count fields from the last ')'. */
	assert_int_equal(pc_polkit_parse_start_time(
			     "1234 (a b) c)) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 "
			     "0 987654 12345678 100 18446744073709551615\n",
			     &t),
			 0);
	assert_int_equal(t, 987654);
	assert_int_equal(pc_polkit_parse_start_time("1234 (x) S 1 2 3", &t), -EINVAL);
	assert_int_equal(pc_polkit_parse_start_time("garbage", &t), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_items), cmocka_unit_test(test_parse_errors),
	    cmocka_unit_test(test_validate),	cmocka_unit_test(test_plan_open),
	    cmocka_unit_test(test_plan_close),	cmocka_unit_test(test_open_parse),
	    cmocka_unit_test(test_start_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
