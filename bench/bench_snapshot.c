/* SPDX-License-Identifier: MIT */
/*
 * portcheck-bench-snapshot: what one nftables snapshot (pc_nft_read) costs on the current
 * network namespace, step by step, side by side with `nft list ruleset` and
 * `nft -t list ruleset` in the same run. Run it inside a large host (bench/snapshot.sh
 * builds one in a namespace of its own); it only reads.
 *
 * Each of --reps rounds runs, in this order (interleaved, so that a busy machine slows
 * every column alike), each in a child process of its own (its own peak RSS):
 *
 *   read      pc_nft_read, the entry point the daemon calls: wall time, peak RSS, the
 *             model's heap (mallinfo2 after minus before), its rules, expressions, elements;
 *             pc_nft_read_flags(PC_NFT_READ_NO_TEXTS), then pc_nft_texts_fill (every text)
 *             or pc_nft_texts_fill_rules (one rule's), each with its peak RSS
 *   steps     the same work one step at a time:
 *               dump meta      GETTABLE, GETCHAIN, GETSET dumps, messages kept
 *               dump elements  GETSETELEM per set, messages kept
 *               dump rules     GETRULE of the whole ruleset (one dump), messages dropped
 *               dump rules/ch  GETRULE chain by chain, messages kept
 *               parse          libnftnl alone on the kept element and rule messages
 *                              (nftnl_*_nlmsg_parse, every element visited)
 *               build          pc_nftsnap_add on every kept message and pc_nftsnap_finish:
 *                              the policy check, libnftnl's parse and the conversion into
 *                              the model (conversion = build - parse)
 *               listing        libnftables' listing for rule texts (pc_nftsnap_listing)
 *               texts          pc_nft_texts_parse + pc_nft_texts_attach of that listing
 *   nft       `nft list ruleset` and `nft -t list ruleset` (stdout to /dev/null): wall
 *             time, peak RSS
 *
 * Prints the medians (and maxima) and one "RESULT key=value ..." line for scripts.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <spawn.h>
#include <stdio.h> /* before libnftnl's headers, which use FILE */
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nftsnap.h"
#include "nftsnap_build.h"
#include "nlutil.h"
#include "portcheck/nft.h"

#define MAX_REPS 100

extern char **environ;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void die(const char *what, int r)
{
	fprintf(stderr, "portcheck-bench-snapshot: %s: %s\n", what, strerror(r < 0 ? -r : r));
	exit(1);
}

/* --- the figures of one round ------------------------------------------------------------ */

enum fig {
	F_READ_MS,
	F_READ_RSS,  /* MiB */
	F_READ_HEAP, /* MiB */
	F_READ_NT_MS,
	F_READ_NT_RSS,
	F_FILL_MS,
	F_FILL_RSS,
	F_FILL_ONE_MS,
	F_FILL_ONE_RSS,
	F_DUMP_META,
	F_DUMP_ELEMS,
	F_DUMP_RULES,
	F_DUMP_RULES_CH,
	F_PARSE_ELEMS,
	F_PARSE_RULES,
	F_BUILD,
	F_LISTING,
	F_TEXTS,
	F_STEPS_RSS,
	F_NFT_MS,
	F_NFT_RSS,
	F_NFT_T_MS,
	F_NFT_T_RSS,
	F_N_RULES,
	F_N_EXPRS,
	F_N_ELEMS,
	F_N_SETS,
	F_N_CHAINS,
	F_N_TEXTS,
	F_ELEM_BYTES, /* MiB: the element arrays and their bytes (arenas) */
	F_EXPR_BYTES, /* MiB: the expression arrays */
	F_TEXT_BYTES, /* MiB: rule texts */
	F_MAX,
};

static const char *const fig_key[F_MAX] = {
    [F_READ_MS] = "read_ms",
    [F_READ_RSS] = "read_rss_mib",
    [F_READ_HEAP] = "read_heap_mib",
    [F_READ_NT_MS] = "read_no_texts_ms",
    [F_READ_NT_RSS] = "read_no_texts_rss_mib",
    [F_FILL_MS] = "texts_fill_ms",
    [F_FILL_RSS] = "read_then_fill_rss_mib",
    [F_FILL_ONE_MS] = "texts_fill_one_rule_ms",
    [F_FILL_ONE_RSS] = "read_then_fill_one_rss_mib",
    [F_DUMP_META] = "dump_meta_ms",
    [F_DUMP_ELEMS] = "dump_elems_ms",
    [F_DUMP_RULES] = "dump_rules_ms",
    [F_DUMP_RULES_CH] = "dump_rules_by_chain_ms",
    [F_PARSE_ELEMS] = "nftnl_parse_elems_ms",
    [F_PARSE_RULES] = "nftnl_parse_rules_ms",
    [F_BUILD] = "build_ms",
    [F_LISTING] = "listing_ms",
    [F_TEXTS] = "texts_ms",
    [F_STEPS_RSS] = "steps_rss_mib",
    [F_NFT_MS] = "nft_list_ms",
    [F_NFT_RSS] = "nft_list_rss_mib",
    [F_NFT_T_MS] = "nft_t_list_ms",
    [F_NFT_T_RSS] = "nft_t_list_rss_mib",
    [F_N_RULES] = "rules",
    [F_N_EXPRS] = "exprs",
    [F_N_ELEMS] = "elements",
    [F_N_SETS] = "sets",
    [F_N_CHAINS] = "chains",
    [F_N_TEXTS] = "texts",
    [F_ELEM_BYTES] = "elem_arrays_mib",
    [F_EXPR_BYTES] = "expr_arrays_mib",
    [F_TEXT_BYTES] = "text_mib",
};

static double mib(double bytes)
{
	return bytes / (1024.0 * 1024.0);
}

static double maxrss_mib(int who)
{
	struct rusage ru;

	if (getrusage(who, &ru) < 0)
		return -1;
	return ru.ru_maxrss / 1024.0;
}

/* Run @fn in a child; its figures come back through a pipe. */
static void in_child(void (*fn)(double *fig), double *fig)
{
	int p[2];
	pid_t pid;
	int status;

	if (pipe(p) < 0)
		die("pipe", errno);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		die("fork", errno);
	if (pid == 0) {
		double f[F_MAX];

		for (int i = 0; i < F_MAX; i++)
			f[i] = -1;
		close(p[0]);
		fn(f);
		if (write(p[1], f, sizeof(f)) != sizeof(f))
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	{
		double f[F_MAX];
		ssize_t n = read(p[0], f, sizeof(f));

		close(p[0]);
		if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0 || n != sizeof(f))
			die("a measuring child failed", EIO);
		for (int i = 0; i < F_MAX; i++)
			if (f[i] >= 0)
				fig[i] = f[i];
	}
}

/* --- read: the entry point ---------------------------------------------------------------- */

static void model_bytes(const struct pc_nft_ruleset *rs, double *fig)
{
	size_t rules = 0, exprs = 0, elems = 0, sets = 0, chains = 0, texts = 0, text_bytes = 0;
	size_t elem_bytes = 0; /* the elements' bytes in their sets' arenas */

	for (size_t i = 0; i < rs->n_tables; i++) {
		const struct pc_nft_table *t = &rs->tables[i];

		chains += t->n_chains;
		sets += t->n_sets;
		for (size_t j = 0; j < t->n_chains; j++)
			for (size_t k = 0; k < t->chains[j].n_rules; k++) {
				const struct pc_nft_rule *r = &t->chains[j].rules[k];

				rules++;
				exprs += r->n_exprs;
				if (r->text) {
					texts++;
					text_bytes += strlen(r->text) + 1;
				}
			}
		for (size_t j = 0; j < t->n_sets; j++) {
			elems += t->sets[j].n_elems;
			for (size_t k = 0; k < t->sets[j].n_elems; k++) {
				const struct pc_nft_set_elem *e = &t->sets[j].elems[k];

				elem_bytes += e->key_len + e->key_end_len + e->data_len;
			}
		}
	}
	fig[F_N_RULES] = rules;
	fig[F_N_EXPRS] = exprs;
	fig[F_N_ELEMS] = elems;
	fig[F_N_SETS] = sets;
	fig[F_N_CHAINS] = chains;
	fig[F_N_TEXTS] = texts;
	fig[F_ELEM_BYTES] =
	    mib((double)elems * sizeof(struct pc_nft_set_elem) + (double)elem_bytes);
	fig[F_EXPR_BYTES] = mib((double)exprs * sizeof(struct pc_nft_expr));
	fig[F_TEXT_BYTES] = mib(text_bytes);
}

static void run_read(double *fig)
{
	struct pc_nft_ruleset rs = {};
	/* In use: the heap's chunks and the mmap()ed ones (large arrays). */
	struct mallinfo2 m0 = mallinfo2();
	size_t heap0 = m0.uordblks + m0.hblkhd;
	double t0 = now_ms();
	int r = pc_nft_read(&rs);

	if (r < 0)
		die("pc_nft_read", r);
	fig[F_READ_MS] = now_ms() - t0;
	{
		struct mallinfo2 m1 = mallinfo2();

		fig[F_READ_HEAP] = mib((double)(m1.uordblks + m1.hblkhd - heap0));
	}
	fig[F_READ_RSS] = maxrss_mib(RUSAGE_SELF);
	model_bytes(&rs, fig);
	pc_nft_ruleset_clear(&rs);
}

#ifdef PC_NFT_READ_NO_TEXTS
/* pc_nft_read_flags(PC_NFT_READ_NO_TEXTS), then pc_nft_texts_fill. */
static void run_read_no_texts(double *fig)
{
	struct pc_nft_ruleset rs = {};
	double t0 = now_ms();
	int r = pc_nft_read_flags(&rs, PC_NFT_READ_NO_TEXTS);

	if (r < 0)
		die("pc_nft_read_flags", r);
	fig[F_READ_NT_MS] = now_ms() - t0;
	fig[F_READ_NT_RSS] = maxrss_mib(RUSAGE_SELF);
	t0 = now_ms();
	r = pc_nft_texts_fill(&rs);
	if (r < 0)
		die("pc_nft_texts_fill", r);
	fig[F_FILL_MS] = now_ms() - t0;
	fig[F_FILL_RSS] = maxrss_mib(RUSAGE_SELF);
	pc_nft_ruleset_clear(&rs);
}

/* pc_nft_read_flags(PC_NFT_READ_NO_TEXTS), then pc_nft_texts_fill_rules for one rule: the
 * middle rule of the last chain, as a report that names one rule would ask. */
static void run_read_fill_one(double *fig)
{
	struct pc_nft_ruleset rs = {};
	const struct pc_nft_rule *want = NULL;
	double t0;
	int r = pc_nft_read_flags(&rs, PC_NFT_READ_NO_TEXTS);

	if (r < 0)
		die("pc_nft_read_flags", r);
	for (size_t i = 0; i < rs.n_tables; i++)
		for (size_t j = 0; j < rs.tables[i].n_chains; j++)
			if (rs.tables[i].chains[j].n_rules)
				want = &rs.tables[i]
					    .chains[j]
					    .rules[rs.tables[i].chains[j].n_rules / 2];
	t0 = now_ms();
	r = pc_nft_texts_fill_rules(&rs, &want, 1);
	if (r < 0)
		die("pc_nft_texts_fill_rules", r);
	if (want && !want->text)
		die("pc_nft_texts_fill_rules: no text", EIO);
	fig[F_FILL_ONE_MS] = now_ms() - t0;
	fig[F_FILL_ONE_RSS] = maxrss_mib(RUSAGE_SELF);
	pc_nft_ruleset_clear(&rs);
}
#endif

/* --- steps: the same work one step at a time ----------------------------------------------- */

/* Dump messages kept back to back. */
struct msgs {
	char *buf;
	size_t len, cap, n;
	bool keep;
};

static int keep_cb(const struct nlmsghdr *nlh, void *userdata)
{
	struct msgs *m = userdata;
	size_t sz = NLMSG_ALIGN(nlh->nlmsg_len);

	m->n++;
	if (!m->keep)
		return 0;
	if (m->len + sz > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 1 << 20;
		char *p;

		while (cap < m->len + sz)
			cap *= 2;
		p = realloc(m->buf, cap);
		if (!p)
			return -ENOMEM;
		m->buf = p;
		m->cap = cap;
	}
	memcpy(m->buf + m->len, nlh, nlh->nlmsg_len);
	m->len += sz;
	return 0;
}

#define MSGS_FOREACH(m, nlh)                                                                       \
	for (const struct nlmsghdr *nlh = (const void *)(m)->buf;                                  \
	     (const char *)nlh < (m)->buf + (m)->len;                                              \
	     nlh = (const void *)((const char *)nlh + NLMSG_ALIGN(nlh->nlmsg_len)))

static int raw_dump(struct msgs *m, uint16_t msg, uint32_t family, const char *table,
		    const char *chain, const char *set)
{
	char buf[1024] __attribute__((aligned(4))) = {};
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, msg, family, NLM_F_DUMP, 0);

	if (set) {
		struct nftnl_set *s = nftnl_set_alloc();

		if (!s)
			return -ENOMEM;
		nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
		nftnl_set_set_str(s, NFTNL_SET_NAME, set);
		nftnl_set_elems_nlmsg_build_payload(nlh, s);
		nftnl_set_free(s);
	} else if (chain) {
		struct nftnl_rule *rl = nftnl_rule_alloc();

		if (!rl)
			return -ENOMEM;
		nftnl_rule_set_str(rl, NFTNL_RULE_TABLE, table);
		nftnl_rule_set_str(rl, NFTNL_RULE_CHAIN, chain);
		nftnl_rule_nlmsg_build_payload(nlh, rl);
		nftnl_rule_free(rl);
	}
	return pc_nl_dump(NETLINK_NETFILTER, nlh, keep_cb, m);
}

static int dump_set_elems(uint32_t family, const char *table, const char *set, void *userdata)
{
	return raw_dump(userdata, NFT_MSG_GETSETELEM, family, table, NULL, set);
}

static int count_elem(struct nftnl_set_elem *e, void *userdata)
{
	uint32_t len;

	(void)nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
	(*(size_t *)userdata)++;
	return 0;
}

static void run_steps(double *fig)
{
	struct msgs meta = {.keep = true}, elems = {.keep = true}, rules = {.keep = false},
		    rules_ch = {.keep = true};
	struct pc_nftsnap *b = pc_nftsnap_new();
	struct pc_nft_ruleset rs = {};
	struct pc_nft_texts texts = {};
	char *listing = NULL;
	size_t n_elems = 0;
	double t0;
	int r;

	if (!b)
		die("pc_nftsnap_new", ENOMEM);
	t0 = now_ms();
	r = raw_dump(&meta, NFT_MSG_GETTABLE, NFPROTO_UNSPEC, NULL, NULL, NULL);
	if (r >= 0)
		r = raw_dump(&meta, NFT_MSG_GETCHAIN, NFPROTO_UNSPEC, NULL, NULL, NULL);
	if (r >= 0)
		r = raw_dump(&meta, NFT_MSG_GETSET, NFPROTO_UNSPEC, NULL, NULL, NULL);
	if (r < 0)
		die("dump tables, chains, sets", r);
	fig[F_DUMP_META] = now_ms() - t0;

	/* The builder knows the tables, chains and sets: what to dump next. */
	MSGS_FOREACH(&meta, nlh)
	{
		r = pc_nftsnap_add(b, nlh);
		if (r < 0)
			die("pc_nftsnap_add (tables, chains, sets)", r);
	}

	t0 = now_ms();
	r = pc_nftsnap_foreach_set(b, dump_set_elems, &elems);
	if (r < 0)
		die("dump set elements", r);
	fig[F_DUMP_ELEMS] = now_ms() - t0;

	t0 = now_ms();
	r = raw_dump(&rules, NFT_MSG_GETRULE, NFPROTO_UNSPEC, NULL, NULL, NULL);
	if (r < 0)
		die("dump rules", r);
	fig[F_DUMP_RULES] = now_ms() - t0;

	t0 = now_ms();
	for (size_t i = 0; i < b->rs.n_tables; i++) {
		const struct pc_nft_table *t = &b->rs.tables[i];

		for (size_t j = 0; j < t->n_chains; j++) {
			r = raw_dump(&rules_ch, NFT_MSG_GETRULE, t->family, t->kname,
				     t->chains[j].kname, NULL);
			if (r < 0)
				die("dump rules chain by chain", r);
		}
	}
	fig[F_DUMP_RULES_CH] = now_ms() - t0;
	if (rules_ch.n != rules.n)
		fprintf(stderr, "warning: %zu rules chain by chain, %zu in one dump\n", rules_ch.n,
			rules.n);

	/* libnftnl alone. */
	t0 = now_ms();
	MSGS_FOREACH(&elems, nlh)
	{
		struct nftnl_set *s = nftnl_set_alloc();

		if (!s || nftnl_set_elems_nlmsg_parse(nlh, s) < 0)
			die("nftnl_set_elems_nlmsg_parse", EBADMSG);
		nftnl_set_elem_foreach(s, count_elem, &n_elems);
		nftnl_set_free(s);
	}
	fig[F_PARSE_ELEMS] = now_ms() - t0;
	t0 = now_ms();
	MSGS_FOREACH(&rules_ch, nlh)
	{
		struct nftnl_rule *rl = nftnl_rule_alloc();

		if (!rl || nftnl_rule_nlmsg_parse(nlh, rl) < 0)
			die("nftnl_rule_nlmsg_parse", EBADMSG);
		nftnl_rule_free(rl);
	}
	fig[F_PARSE_RULES] = now_ms() - t0;

	/* The snapshot's builder: policy check, libnftnl, conversion. */
	t0 = now_ms();
	MSGS_FOREACH(&elems, nlh)
	{
		r = pc_nftsnap_add(b, nlh);
		if (r < 0)
			die("pc_nftsnap_add (elements)", r);
	}
	MSGS_FOREACH(&rules_ch, nlh)
	{
		r = pc_nftsnap_add(b, nlh);
		if (r < 0)
			die("pc_nftsnap_add (rules)", r);
	}
	pc_nftsnap_finish(b, &rs);
	fig[F_BUILD] = now_ms() - t0;
	free(elems.buf);
	free(rules_ch.buf);
	free(meta.buf);

	t0 = now_ms();
	r = pc_nftsnap_listing(&listing);
	if (r < 0 || !listing)
		die("pc_nftsnap_listing", r < 0 ? r : EIO);
	fig[F_LISTING] = now_ms() - t0;

	t0 = now_ms();
	r = pc_nft_texts_parse(listing, &texts);
	if (r >= 0)
		r = pc_nft_texts_attach(&rs, &texts);
	if (r < 0)
		die("texts", r);
	fig[F_TEXTS] = now_ms() - t0;
	fig[F_STEPS_RSS] = maxrss_mib(RUSAGE_SELF);

	pc_nft_texts_clear(&texts);
	free(listing);
	pc_nft_ruleset_clear(&rs);
	pc_nftsnap_free(b);
}

/* --- nft itself ---------------------------------------------------------------------------- */

/* Wall ms and peak RSS (MiB) of @argv, stdout and stderr to /dev/null. */
static void run_cmd(char *const argv[], double *ms, double *rss)
{
	posix_spawn_file_actions_t fa;
	struct rusage ru;
	int status;
	pid_t pid;
	double t0;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	t0 = now_ms();
	if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) != 0)
		die(argv[0], errno);
	if (wait4(pid, &status, 0, &ru) < 0)
		die("wait4", errno);
	*ms = now_ms() - t0;
	*rss = ru.ru_maxrss / 1024.0;
	posix_spawn_file_actions_destroy(&fa);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die(argv[0], EIO);
}

/* --- statistics ---------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median_of(double *v, int n, double *max)
{
	double s[MAX_REPS];

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	*max = s[n - 1];
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"reps", required_argument, NULL, 'r'},
	    {"nft", required_argument, NULL, 'n'},
	    {"no-steps", no_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	static double runs[F_MAX][MAX_REPS];
	const char *nft = "nft";
	bool steps = true;
	int reps = 5, c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			reps = atoi(optarg);
			break;
		case 'n':
			nft = optarg;
			break;
		case 's':
			steps = false;
			break;
		default:
			fprintf(stderr, "usage: portcheck-bench-snapshot [--reps N] [--nft PATH] "
					"[--no-steps]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (reps < 1 || reps > MAX_REPS) {
		fprintf(stderr, "--reps: 1..%d\n", MAX_REPS);
		return 2;
	}

	for (int i = 0; i < reps; i++) {
		double f[F_MAX];
		char *list[] = {(char *)nft, "list", "ruleset", NULL};
		char *list_t[] = {(char *)nft, "-t", "list", "ruleset", NULL};

		for (int k = 0; k < F_MAX; k++)
			f[k] = -1;
		in_child(run_read, f);
#ifdef PC_NFT_READ_NO_TEXTS
		in_child(run_read_no_texts, f);
		in_child(run_read_fill_one, f);
#endif
		if (steps)
			in_child(run_steps, f);
		run_cmd(list, &f[F_NFT_MS], &f[F_NFT_RSS]);
		run_cmd(list_t, &f[F_NFT_T_MS], &f[F_NFT_T_RSS]);
		for (int k = 0; k < F_MAX; k++)
			runs[k][i] = f[k];
		fflush(stdout);
		fprintf(stderr,
			"round %d: pc_nft_read %.0f ms, nft list ruleset %.0f ms, nft -t %.0f ms\n",
			i + 1, f[F_READ_MS], f[F_NFT_MS], f[F_NFT_T_MS]);
	}

	printf("%-26s %12s %12s\n", "figure (ms, MiB, counts)", "median", "max");
	for (int k = 0; k < F_MAX; k++) {
		double max, med;

		if (runs[k][0] < 0)
			continue;
		med = median_of(runs[k], reps, &max);
		printf("%-26s %12.1f %12.1f\n", fig_key[k], med, max);
	}
	printf("RESULT reps=%d", reps);
	for (int k = 0; k < F_MAX; k++) {
		double max;

		if (runs[k][0] >= 0)
			printf(" %s=%.1f", fig_key[k], median_of(runs[k], reps, &max));
	}
	printf(" sizeof_elem=%zu sizeof_expr=%zu\n", sizeof(struct pc_nft_set_elem),
	       sizeof(struct pc_nft_expr));
	return 0;
}
