/* SPDX-License-Identifier: MIT */
/*
 * portcheck-bench: what one Status collection costs on the current network namespace, step
 * by step, with the library the daemon runs. Run it inside a large host (bench/run.sh builds
 * one in a namespace of its own); it only reads.
 *
 *   sources     pc_listeners_read (and its two halves), pc_netif_read, pc_nft_read, each
 *               --reps times: median and max
 *   analysis    pc_analysis_run with firewalld absent, then the reply (pc_report_to_json,
 *               json_dumps), on subsets of 1, 2, 4, ... listeners, each in a child process
 *               (fresh set indexes, as in the daemon, where every Status reads a new
 *               snapshot; its own peak RSS), until --analysis-budget seconds are spent;
 *               the full host is measured when it fits, extrapolated from the largest
 *               subset when it does not
 *   evaluation  the cost of one pc_nft_eval_path for each --flow, in steady state (set
 *               indexes built), and the first evaluation on a fresh snapshot (which builds
 *               them)
 *
 * pc_nft_eval_sources_classes is wrapped at link time (-Wl,--wrap) to count the analysis' piece
 * evaluations and the time spent in them.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <malloc.h>
#include <nftables/libnftables.h>

#include "portcheck/addr.h"
#include "portcheck/firewalld.h"
#include "portcheck/listener.h"
#include "portcheck/netif.h"
#include "portcheck/nft.h"
#include "portcheck/nftvm.h"
#include "portcheck/report.h"
#include "portcheck/util.h"

#include "bench_util.h"

#define MAX_REPS 1000

/* The figures, printed at the end as one "RESULT key=value ..." line for bench/run.sh. */
static struct {
	double listeners_ms, netif_ms, snapshot_ms, snapshot_max_ms, listing_ms;
	double snapshot_rss_mib, snapshot_heap_mib;
	int pieces4, pieces6;
	double analysis_ms; /* the whole host: measured, or extrapolated */
	bool analysis_measured;
	double evals, reply_mib, analysis_rss_mib, per_listener_family_ms;
	size_t analysed;
	double index_ms;
	double eval_us[MAX_FLOWS];
} fig;

/* --- the wrapped engine entry point ------------------------------------------------------ */

/* The analysis evaluates each piece of the source space (routes, firewalld bindings) with
 * one pc_nft_eval_sources_classes; count them and the time in them. */
int __real_pc_nft_eval_sources_classes(const struct pc_nft_ruleset *rs, const struct pc_netif *ni,
				       const struct pc_flow *flow, const struct pc_ivlist *addrs,
				       const struct pc_ivlist *ports,
				       const struct pc_src_classes *classes,
				       struct pc_src_result **ret, size_t *n_ret);
int __wrap_pc_nft_eval_sources_classes(const struct pc_nft_ruleset *rs, const struct pc_netif *ni,
				       const struct pc_flow *flow, const struct pc_ivlist *addrs,
				       const struct pc_ivlist *ports,
				       const struct pc_src_classes *classes,
				       struct pc_src_result **ret, size_t *n_ret);

static uint64_t eval_calls;
static double eval_ms;

int __wrap_pc_nft_eval_sources_classes(const struct pc_nft_ruleset *rs, const struct pc_netif *ni,
				       const struct pc_flow *flow, const struct pc_ivlist *addrs,
				       const struct pc_ivlist *ports,
				       const struct pc_src_classes *classes,
				       struct pc_src_result **ret, size_t *n_ret)
{
	double t0 = now_ms();
	int r = __real_pc_nft_eval_sources_classes(rs, ni, flow, addrs, ports, classes, ret, n_ret);

	eval_ms += now_ms() - t0;
	eval_calls++;
	return r;
}

/* --- options ----------------------------------------------------------------------------- */

struct options {
	int reps;
	double analysis_budget_s;
	int eval_iters;
	bool eval_only;
	const char *iface;
	const char *label;
	const char *dump_reply;
	struct flow_spec flows[MAX_FLOWS];
	size_t n_flows;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: portcheck-bench [--reps N] [--analysis-budget SECONDS] [--eval-iters N]\n"
		"                       [--iface NAME] [--flow NAME=SADDR,DPORT[,udp]]...\n"
		"                       [--eval-only] [--label TEXT] [--dump-reply FILE]\n"
		"Run inside the host to measure (bench/run.sh does). It only reads.\n");
}

/* "NAME=SADDR,DPORT[,udp]" (a comma, so IPv6 sources need no brackets). */
static int parse_flow(const char *arg, struct flow_spec *ret)
{
	char buf[128], *eq, *c1, *c2, *end;
	unsigned long port;

	if (snprintf(buf, sizeof(buf), "%s", arg) >= (int)sizeof(buf))
		return -EINVAL;
	eq = strchr(buf, '=');
	if (!eq || eq == buf || eq - buf >= (ptrdiff_t)sizeof(ret->name))
		return -EINVAL;
	*eq = '\0';
	c1 = strchr(eq + 1, ',');
	if (!c1)
		return -EINVAL;
	*c1 = '\0';
	c2 = strchr(c1 + 1, ',');
	if (c2)
		*c2 = '\0';
	memcpy(ret->name, buf, (size_t)(eq - buf) + 1); /* with the NUL that replaced '=' */
	if (pc_addr_from_string(eq + 1, &ret->saddr) < 0)
		return -EINVAL;
	errno = 0;
	port = strtoul(c1 + 1, &end, 10);
	if (errno || *end || port == 0 || port > 65535)
		return -EINVAL;
	ret->dport = (uint16_t)port;
	ret->proto = IPPROTO_TCP;
	if (c2 && strcmp(c2 + 1, "udp") == 0)
		ret->proto = IPPROTO_UDP;
	else if (c2 && strcmp(c2 + 1, "tcp") != 0)
		return -EINVAL;
	return 0;
}

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
	    {"reps", required_argument, NULL, 'r'},
	    {"analysis-budget", required_argument, NULL, 'b'},
	    {"eval-iters", required_argument, NULL, 'n'},
	    {"iface", required_argument, NULL, 'i'},
	    {"flow", required_argument, NULL, 'f'},
	    {"eval-only", no_argument, NULL, 'e'},
	    {"label", required_argument, NULL, 'l'},
	    {"dump-reply", required_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	int c;

	*o = (struct options){
	    .reps = 5, .analysis_budget_s = 60, .eval_iters = 20000, .iface = "eth0", .label = ""};
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) >= 0) {
		switch (c) {
		case 'r':
			o->reps = atoi(optarg);
			if (o->reps < 1 || o->reps > MAX_REPS) {
				fprintf(stderr, "--reps: 1..%d\n", MAX_REPS);
				exit(2);
			}
			break;
		case 'b':
			o->analysis_budget_s = atof(optarg);
			if (!(o->analysis_budget_s >= 0 && o->analysis_budget_s <= 86400)) {
				fprintf(stderr, "--analysis-budget: 0..86400 seconds\n");
				exit(2);
			}
			break;
		case 'n':
			o->eval_iters = atoi(optarg);
			if (o->eval_iters < 100 || o->eval_iters > 10000000) {
				fprintf(stderr, "--eval-iters: 100..10000000\n");
				exit(2);
			}
			break;
		case 'i':
			o->iface = optarg;
			break;
		case 'f':
			if (o->n_flows >= MAX_FLOWS ||
			    parse_flow(optarg, &o->flows[o->n_flows]) < 0) {
				fprintf(stderr, "--flow: NAME=SADDR,DPORT[,udp], at most %d\n",
					MAX_FLOWS);
				exit(2);
			}
			o->n_flows++;
			break;
		case 'e':
			o->eval_only = true;
			break;
		case 'l':
			o->label = optarg;
			break;
		case 'd':
			o->dump_reply = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind < argc) {
		usage(stderr);
		exit(2);
	}
}

/* --- the sources ------------------------------------------------------------------------- */

/* The listing pc_nft_read asks libnftables for (handles, stateless, terse) when it cannot
 * render a rule's text itself, alone: for comparison (on the bench host every rule
 * renders, and pc_nft_read does not list). */
static double time_nft_listing(void)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	double t0, t;

	if (!ctx)
		return -1;
	nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_HANDLE | NFT_CTX_OUTPUT_STATELESS |
					  NFT_CTX_OUTPUT_TERSE);
	if (nft_ctx_buffer_output(ctx) < 0 || nft_ctx_buffer_error(ctx) < 0) {
		nft_ctx_free(ctx);
		return -1;
	}
	t0 = now_ms();
	if (nft_run_cmd_from_buffer(ctx, "list ruleset") != 0) {
		nft_ctx_free(ctx);
		return -1;
	}
	t = now_ms() - t0;
	nft_ctx_free(ctx);
	return t;
}

static void ruleset_counts(const struct pc_nft_ruleset *rs, size_t *chains, size_t *rules,
			   size_t *sets, size_t *elems, size_t *max_elems)
{
	*chains = *rules = *sets = *elems = *max_elems = 0;
	for (size_t i = 0; i < rs->n_tables; i++) {
		const struct pc_nft_table *t = &rs->tables[i];

		*chains += t->n_chains;
		for (size_t j = 0; j < t->n_chains; j++)
			*rules += t->chains[j].n_rules;
		*sets += t->n_sets;
		for (size_t j = 0; j < t->n_sets; j++) {
			*elems += t->sets[j].n_elems;
			if (t->sets[j].n_elems > *max_elems)
				*max_elems = t->sets[j].n_elems;
		}
	}
}

static void bench_sources(const struct options *o, struct pc_listener_set *ret_ls,
			  struct pc_netif *ret_ni, struct pc_nft_ruleset *ret_rs)
{
	double v[MAX_REPS];
	int r;

	printf("sources (%d repetitions)                       median          max  reps\n",
	       o->reps);
	for (int i = 0; i < o->reps; i++) {
		struct pc_listener_set ls = {0};
		double t0 = now_ms();

		r = pc_listeners_read(&ls);
		if (r < 0)
			die("pc_listeners_read", r);
		v[i] = now_ms() - t0;
		if (i + 1 < o->reps)
			pc_listener_set_free(&ls);
		else
			*ret_ls = ls;
	}
	print_row("listeners: pc_listeners_read", v, o->reps);
	fig.listeners_ms = stats_of(v, o->reps).median;
	for (int i = 0; i < o->reps; i++) {
		struct pc_listener_set ls = {0};
		double t0 = now_ms();

		r = pc_sockdiag_dump(&ls);
		if (r < 0)
			die("pc_sockdiag_dump", r);
		v[i] = now_ms() - t0;
		pc_listener_set_free(&ls);
	}
	print_row("  of which sock_diag (pc_sockdiag_dump)", v, o->reps);
	for (int i = 0; i < o->reps; i++) {
		struct pc_listener_set ls = {0};
		double t0;

		r = pc_sockdiag_dump(&ls);
		if (r < 0)
			die("pc_sockdiag_dump", r);
		t0 = now_ms();
		r = pc_procmap_resolve("/proc", &ls);
		if (r < 0)
			die("pc_procmap_resolve", r);
		v[i] = now_ms() - t0;
		pc_listener_set_free(&ls);
	}
	print_row("  of which owners (pc_procmap_resolve)", v, o->reps);

	for (int i = 0; i < o->reps; i++) {
		struct pc_netif ni = {0};
		double t0 = now_ms();

		r = pc_netif_read(&ni);
		if (r < 0)
			die("pc_netif_read", r);
		v[i] = now_ms() - t0;
		if (i + 1 < o->reps)
			pc_netif_free(&ni);
		else
			*ret_ni = ni;
	}
	print_row("interfaces: pc_netif_read", v, o->reps);
	fig.netif_ms = stats_of(v, o->reps).median;

	for (int i = 0; i < o->reps; i++) {
		struct pc_nft_ruleset rs = {0};
		double t0 = now_ms();

		r = pc_nft_read(&rs);
		if (r < 0)
			die("pc_nft_read", r);
		v[i] = now_ms() - t0;
		if (i + 1 < o->reps)
			pc_nft_ruleset_clear(&rs);
		else
			*ret_rs = rs;
	}
	print_row("nftables snapshot: pc_nft_read", v, o->reps);
	fig.snapshot_ms = stats_of(v, o->reps).median;
	fig.snapshot_max_ms = stats_of(v, o->reps).max;
	for (int i = 0; i < o->reps; i++) {
		v[i] = time_nft_listing();
		if (v[i] < 0)
			die("libnftables list ruleset", EIO);
	}
	print_row("  libnftables' listing, for comparison (texts)", v, o->reps);
	fig.listing_ms = stats_of(v, o->reps).median;
}

/* One snapshot in a fresh child: its peak RSS (libnftables' transient cache included when
 * it lists) and the heap the snapshot holds once read. */
static void bench_snapshot_memory(void)
{
	struct {
		long maxrss_kib;
		size_t heap;
		int ok;
	} m = {0};
	int fds[2], status;
	pid_t pid;

	if (pipe(fds) < 0)
		die("pipe", errno);
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork", errno);
	if (pid == 0) {
		struct pc_nft_ruleset rs = {0};
		struct mallinfo2 before, after;
		ssize_t n;

		close(fds[0]);
		before = mallinfo2();
		if (pc_nft_read(&rs) < 0)
			_exit(3);
		after = mallinfo2();
		m.heap = (after.uordblks + after.hblkhd) - (before.uordblks + before.hblkhd);
		m.maxrss_kib = maxrss_kib();
		m.ok = 1;
		n = write(fds[1], &m, sizeof(m));
		_exit(n == (ssize_t)sizeof(m) ? 0 : 3);
	}
	close(fds[1]);
	if (read(fds[0], &m, sizeof(m)) != (ssize_t)sizeof(m))
		m.ok = 0;
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!m.ok)
		die("pc_nft_read in a child", EIO);
	fig.snapshot_rss_mib = m.maxrss_kib / 1024.0;
	fig.snapshot_heap_mib = m.heap / 1048576.0;
	printf("  one snapshot in a fresh process: peak RSS %.1f MiB, heap held by the snapshot "
	       "%.1f MiB\n",
	       fig.snapshot_rss_mib, fig.snapshot_heap_mib);
}

/* --- pieces ------------------------------------------------------------------------------ */

static void bench_pieces(const struct pc_nft_ruleset *rs, int *ret_v4, int *ret_v6)
{
	/* The ruleset no longer splits the source space before the engine runs (its tests
	 * split sources symbolically, inside pc_nft_eval_sources): the pieces are the
	 * host's routes and firewalld's bindings, the same for every listener-family, so the
	 * extrapolation scales by listener-families alone. */
	(void)rs;
	fig.pieces4 = fig.pieces6 = 1;
	*ret_v4 = *ret_v6 = 1;
}

/* --- analysis ---------------------------------------------------------------------------- */

struct child_result {
	int ok;
	double analysis_ms, json_ms;
	double analysis_cpu_ms; /* its CPU time */
	double eval_ms;
	uint64_t evals;
	size_t paths, reply_bytes;
	long maxrss_kib;
};

/* Listener-families the analysis evaluates: one interface in the bench host, and per
 * listener the families it accepts (analysis.c, listener_families). */
struct combos {
	unsigned v4, v6;
};

static struct combos combos_of(const struct pc_listener_set *ls)
{
	struct combos c = {0};

	for (size_t i = 0; i < ls->n; i++) {
		const struct pc_listener *l = &ls->items[i];

		if (l->addr.family == AF_INET || pc_addr_is_v4mapped(&l->addr)) {
			c.v4++;
		} else if (pc_addr_is_any(&l->addr) && !l->v6only) {
			c.v4++;
			c.v6++;
		} else {
			c.v6++;
		}
	}
	return c;
}

/* The subset of @k listeners the analysis runs take: spread over the whole set. */
static void subset_fill(const struct pc_listener_set *all, size_t k, struct pc_listener *items)
{
	for (size_t i = 0; i < k; i++)
		items[i] = all->items[i * all->n / k];
}

/* Evaluations are one per source piece: the expected number for @c. */
static double expected_evals(struct combos c)
{
	return (double)c.v4 * fig.pieces4 + (double)c.v6 * fig.pieces6;
}

/* --dump-reply: each analysis child writes its reply there (the last, biggest one stays). */
static const char *dump_reply_path;

/* Analyse @ls in a child with a deadline; false when it did not finish in time. */
static bool analyse_in_child(const struct pc_analysis_input *base, const struct pc_listener_set *ls,
			     double deadline_s, struct child_result *ret)
{
	int fds[2], status;
	pid_t pid;
	ssize_t n;

	*ret = (struct child_result){0};
	if (pipe(fds) < 0)
		die("pipe", errno);
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork", errno);
	if (pid == 0) {
		struct pc_analysis_input in = *base;
		struct pc_report report = {0};
		struct child_result res = {0};
		json_t *reply;
		char *text;
		double t0, t1, c0;

		close(fds[0]);
		alarm((unsigned)(deadline_s < 1 ? 1 : deadline_s + 0.999));
		in.listeners = ls;
		eval_calls = 0;
		eval_ms = 0;
		c0 = cpu_ms();
		t0 = now_ms();
		if (pc_analysis_run(&in, &report) < 0)
			_exit(3);
		t1 = now_ms();
		res.analysis_cpu_ms = cpu_ms() - c0;
		res.analysis_ms = t1 - t0;
		res.eval_ms = eval_ms;
		res.evals = eval_calls;
		for (size_t i = 0; i < report.n_listeners; i++)
			res.paths += report.listeners[i].n_paths;
		reply = NULL;
		(void)pc_report_to_json(&report, &reply);
		text = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
		if (!text)
			_exit(3);
		res.json_ms = now_ms() - t1;
		res.reply_bytes = strlen(text);
		if (dump_reply_path) {
			FILE *f = fopen(dump_reply_path, "w");

			if (!f || fputs(text, f) < 0 || fclose(f) != 0)
				_exit(3);
		}
		res.maxrss_kib = maxrss_kib();
		res.ok = 1;
		n = write(fds[1], &res, sizeof(res));
		_exit(n == (ssize_t)sizeof(res) ? 0 : 3);
	}
	close(fds[1]);
	n = read(fds[0], ret, sizeof(*ret));
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return n == (ssize_t)sizeof(*ret) && ret->ok && WIFEXITED(status) &&
	       WEXITSTATUS(status) == 0;
}

static void print_analysis_row(size_t k, struct combos cb, const struct child_result *c)
{
	printf("  %9zu %5u+%-5u %10.1f ms %7.1f%% %11" PRIu64 " %7.2f us %9.1f ms %9.1f MiB "
	       "%8.1f MiB %7.1f\n",
	       k, cb.v4, cb.v6, c->analysis_ms,
	       c->analysis_ms > 0 ? 100 * c->eval_ms / c->analysis_ms : 0, c->evals,
	       c->evals ? 1000 * c->eval_ms / (double)c->evals : 0, c->json_ms,
	       c->reply_bytes / 1048576.0, c->maxrss_kib / 1024.0,
	       k ? (double)c->paths / (double)k : 0);
}

/* Analysis of subsets of 1, 2, 4, ... listeners (spread over the whole set, so both kinds
 * of listener are in), then of all of them if the budget allows. */
static void bench_analysis(const struct options *o, const struct pc_listener_set *all,
			   const struct pc_netif *ni, const struct pc_nft_ruleset *rs)
{
	const struct pc_firewalld fw = {.running = false};
	const struct pc_analysis_input base = {
	    .listeners = all, .netif = ni, .fw = &fw, .nft = rs, .shared_forms = true};
	struct pc_listener *items = calloc(all->n ? all->n : 1, sizeof(*items));
	double spent = 0, budget_ms = o->analysis_budget_s * 1000;
	struct child_result last = {0};
	struct combos last_cb = {0}, all_cb = combos_of(all);
	size_t last_k = 0;

	if (!items)
		die("calloc", ENOMEM);
	/* Freed memory of the repeated reads back to the system: the children start from what
	 * the daemon holds during a Status, the snapshot. */
	malloc_trim(0);
	printf("analysis (pc_analysis_run, firewalld absent; each run in a fresh child; budget "
	       "%.0f s)\n",
	       o->analysis_budget_s);
	printf("  listeners  v4+v6       analysis  in engine evaluations per eval"
	       "     reply    reply size  peak RSS paths/l\n");
	for (size_t k = 1; all->n && k <= all->n;) {
		struct pc_listener_set sub = {.items = items, .n = k};
		struct child_result c;
		double left = budget_ms - spent, reps_v[MAX_REPS], cpu_v[MAX_REPS], t;
		struct combos cb;
		int reps = 0;

		if (left <= 0)
			break;
		subset_fill(all, k, items);
		cb = combos_of(&sub);
		/* Repeat fast runs for a median; one run of a slow one is enough. */
		do {
			t = now_ms();
			/* What the snapshots and listings before freed goes back to the
			 * system: the child's peak counts what this process holds at fork. */
			malloc_trim(0);
			if (!analyse_in_child(&base, &sub, left / 1000, &c)) {
				printf(
				    "  %9zu %5u+%-5u > %.1f s: did not finish within the budget\n",
				    k, cb.v4, cb.v6, left / 1000);
				spent = budget_ms;
				goto done;
			}
			spent += now_ms() - t;
			left = budget_ms - spent;
			cpu_v[reps] = c.analysis_cpu_ms;
			reps_v[reps++] = c.analysis_ms;
		} while (reps < o->reps && c.analysis_ms < 1000 && left > 0);
		if (reps > 1) {
			c.analysis_ms = stats_of(reps_v, reps).median;
			c.analysis_cpu_ms = stats_of(cpu_v, reps).median;
		}
		print_analysis_row(k, cb, &c);
		if (reps > 1)
			printf("  %9s %11s (median of %d runs, max %.1f ms; CPU time %.1f ms)\n",
			       "", "", reps, reps_v[reps - 1], c.analysis_cpu_ms);
		last = c;
		last_k = k;
		last_cb = cb;
		if (k == all->n)
			break;
		/* Double while the next run fits in what is left; jump to the whole host when
		 * that fits. */
		double per_eval = (c.analysis_ms + c.json_ms) / (c.evals ? (double)c.evals : 1);
		struct combos next_cb = {0};

		if (k * 2 <= all->n) {
			subset_fill(all, k * 2, items);
			next_cb = combos_of(&(struct pc_listener_set){.items = items, .n = k * 2});
		}
		if (per_eval * expected_evals(all_cb) * 1.2 < budget_ms - spent)
			k = all->n;
		else if (k * 2 <= all->n &&
			 per_eval * expected_evals(next_cb) * 1.2 < budget_ms - spent)
			k *= 2;
		else
			break;
	}
done:
	if (!last_k) {
		free(items);
		return;
	}
	fig.analysed = last_k;
	if (last_k == all->n) {
		fig.analysis_measured = true;
		fig.analysis_ms = last.analysis_ms;
		fig.evals = (double)last.evals;
		fig.reply_mib = last.reply_bytes / 1048576.0;
		fig.analysis_rss_mib = last.maxrss_kib / 1024.0;
		printf(
		    "  whole host: analysis %.1f ms (CPU time %.1f ms), reply %.1f ms (%.1f MiB), "
		    "peak RSS %.1f MiB (measured)\n",
		    last.analysis_ms, last.analysis_cpu_ms, last.json_ms, fig.reply_mib,
		    fig.analysis_rss_mib);
	} else {
		/* Time and reply size go with the number of evaluations (one per source piece
		 * per listener-family), which the pieces of each family give. */
		double scale = expected_evals(all_cb) / expected_evals(last_cb);

		fig.analysis_ms = last.analysis_ms * scale;
		fig.evals = (double)last.evals * scale;
		fig.reply_mib = last.reply_bytes * scale / 1048576.0;
		fig.analysis_rss_mib = last.maxrss_kib / 1024.0;
		printf("  whole host (%zu listeners, %u+%u listener-families): analysis ~%.0f s, "
		       "~%.3g evaluations, reply ~%.0f MiB: extrapolated (x%.0f) from %zu "
		       "listeners, by evaluations\n",
		       all->n, all_cb.v4, all_cb.v6, fig.analysis_ms / 1000, fig.evals,
		       fig.reply_mib, scale, last_k);
	}
	fig.per_listener_family_ms = last.analysis_ms / (last_cb.v4 + last_cb.v6);
	free(items);
}

int main(int argc, char **argv)
{
	struct options o;
	struct pc_listener_set ls = {0};
	struct pc_netif ni = {0};
	struct pc_nft_ruleset rs = {0};
	size_t chains, rules, sets, elems, max_elems;
	int p4, p6;

	parse_options(argc, argv, &o);
	dump_reply_path = o.dump_reply;
	/* Huge pages as inherited, not pc_huge_pages_daemon(): what this process times (the
	 * snapshot, evaluations, indexes) runs in portcheckd's job child, which has them. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("== portcheck-bench%s%s ==\n", o.label[0] ? ": " : "", o.label);
	/* First: a forked child's peak counts what its parent holds at fork. */
	bench_snapshot_memory();
	bench_sources(&o, &ls, &ni, &rs);
	ruleset_counts(&rs, &chains, &rules, &sets, &elems, &max_elems);
	printf("host: %zu listeners, %zu interfaces, %zu addresses, %zu routes; ruleset: %zu "
	       "tables, %zu chains, %zu rules, %zu sets, %zu set elements (largest set %zu, as "
	       "the kernel holds them)\n",
	       ls.n, ni.n_links, ni.n_addrs, ni.n_routes, rs.n_tables, chains, rules, sets, elems,
	       max_elems);
	bench_pieces(&rs, &p4, &p6);
	/* Before any evaluation in this process: the analysis children start from a snapshot
	 * without set indexes, as the daemon's Status does. */
	if (!o.eval_only && o.analysis_budget_s > 0)
		bench_analysis(&o, &ls, &ni, &rs);
	bench_eval(o.iface, o.flows, o.n_flows, o.eval_iters, &ni, &rs, fig.eval_us, &fig.index_ms);
	printf("peak RSS of this process (ru_maxrss, children not included): %.1f MiB\n",
	       maxrss_kib() / 1024.0);

	/* One line for bench/run.sh. */
	printf("RESULT listeners=%zu rules=%zu elements=%zu listeners_ms=%.1f netif_ms=%.1f "
	       "snapshot_ms=%.0f snapshot_max_ms=%.0f listing_ms=%.0f snapshot_rss_mib=%.0f "
	       "snapshot_heap_mib=%.0f pieces4=%d pieces6=%d analysis_ms=%.0f measured=%d "
	       "analysed=%zu evals=%.3g reply_mib=%.0f analysis_rss_mib=%.0f "
	       "per_listener_family_ms=%.1f index_ms=%.1f",
	       ls.n, rules, elems, fig.listeners_ms, fig.netif_ms, fig.snapshot_ms,
	       fig.snapshot_max_ms, fig.listing_ms, fig.snapshot_rss_mib, fig.snapshot_heap_mib,
	       fig.pieces4, fig.pieces6, fig.analysis_ms, fig.analysis_measured, fig.analysed,
	       fig.evals, fig.reply_mib, fig.analysis_rss_mib, fig.per_listener_family_ms,
	       fig.index_ms);
	for (size_t f = 0; f < o.n_flows; f++)
		printf(" eval_%s_us=%.2f", o.flows[f].name, fig.eval_us[f]);
	printf("\n");
	pc_nft_ruleset_clear(&rs);
	pc_netif_free(&ni);
	pc_listener_set_free(&ls);
	return 0;
}
