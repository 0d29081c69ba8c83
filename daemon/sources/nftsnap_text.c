/* SPDX-License-Identifier: MIT */
/*
 * Rule texts from nft's own listing (`nft -a list ruleset`): what users read in their
 * firewall and search for. The listing is nested blocks, one statement per line; a rule
 * is a line of a chain block that ends in "# handle N", or several lines when it holds a
 * block of its own (`jump { ... }`, a binding chain).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/netfilter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nftsnap.h"
#include "portcheck/strsan.h"
#include "portcheck/util.h"

static const struct {
	const char *name;
	uint32_t family;
} families[] = {
    {"ip", NFPROTO_IPV4}, {"ip6", NFPROTO_IPV6},      {"inet", NFPROTO_INET},
    {"arp", NFPROTO_ARP}, {"bridge", NFPROTO_BRIDGE}, {"netdev", NFPROTO_NETDEV},
};

struct line {
	char *code;	     /* the statement, trimmed, comment removed */
	const char *comment; /* after '#', or NULL */
	int braces;	     /* '{' minus '}' outside quotes */
};

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Split @s (modified) into statement and comment; quotes protect '#' and braces. */
static void split_line(char *s, struct line *ret)
{
	bool quoted = false;
	char *p;

	ret->comment = NULL;
	ret->braces = 0;
	for (p = s; *p; p++) {
		if (quoted) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '"')
				quoted = false;
			continue;
		}
		if (*p == '"') {
			quoted = true;
		} else if (*p == '{') {
			ret->braces++;
		} else if (*p == '}') {
			ret->braces--;
		} else if (*p == '#') {
			*p = '\0';
			ret->comment = p + 1;
			break;
		}
	}
	ret->code = trim(s);
}

/* "handle N" in a comment. */
static bool comment_handle(const char *comment, uint64_t *ret)
{
	char tail;

	if (!comment)
		return false;
	while (isspace((unsigned char)*comment))
		comment++;
	return sscanf(comment, "handle %" SCNu64 " %c", ret, &tail) == 1;
}

/*
 * The name after a keyword: a word, or a quoted string. Returns a pointer past it and the
 * copy in *ret (NULL when there is none), sanitised like the snapshot's names so that the
 * texts are found by them.
 */
static const char *take_name(const char *s, char **ret)
{
	const char *end;

	*ret = NULL;
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '"') {
		end = strchr(s + 1, '"');
		if (!end)
			return s;
		(void)pc_strsan(s + 1, end - s - 1, PC_STRSAN_RAW, ret);
		return end + 1;
	}
	for (end = s; *end && !isspace((unsigned char)*end) && *end != '{'; end++)
		;
	if (end > s)
		(void)pc_strsan(s, end - s, PC_STRSAN_RAW, ret);
	return end;
}

static bool take_family(const char *word, size_t len, uint32_t *ret)
{
	for (size_t i = 0; i < ELEMENTSOF(families); i++)
		if (strlen(families[i].name) == len && strncmp(families[i].name, word, len) == 0) {
			*ret = families[i].family;
			return true;
		}
	return false;
}

static bool starts_with_word(const char *s, const char *word)
{
	size_t n = strlen(word);

	return strncmp(s, word, n) == 0 && isspace((unsigned char)s[n]);
}

static bool ends_with_brace(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && s[n - 1] == '{';
}

/* Append @piece to the multi-line rule in @buf: blocks open and close with a space, the
 * statements inside are separated by "; " as they would be typed on one line. */
static int append_piece(char **buf, const char *piece)
{
	size_t len = *buf ? strlen(*buf) : 0;
	const char *sep = "";
	char *p;

	if (len > 0) {
		char last = (*buf)[len - 1];

		sep = last == '{' || last == ',' || piece[0] == '}' ? " " : "; ";
	}
	p = realloc(*buf, len + strlen(sep) + strlen(piece) + 1);
	if (!p)
		return -ENOMEM;
	sprintf(p + len, "%s%s", sep, piece);
	*buf = p;
	return 0;
}

static int text_cmp(const void *a, const void *b)
{
	const struct pc_nft_text *x = a, *y = b;
	int c;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	c = strcmp(x->table, y->table);
	if (c)
		return c;
	c = strcmp(x->chain, y->chain);
	if (c)
		return c;
	if (x->handle != y->handle)
		return x->handle < y->handle ? -1 : 1;
	return 0;
}

struct parser {
	struct pc_nft_texts out;
	int depth; /* block nesting */
	uint32_t family;
	char *table, *chain; /* the current table and chain, NULL outside */
	char *pending;	     /* a multi-line rule being joined */
	int pending_depth;
};

/* Add @text (taken), the rule's text as nft printed it: sanitised here, once, as it enters. */
static int add_text(struct parser *p, uint64_t handle, char *text)
{
	struct pc_nft_text *t;
	int r;

	if (!p->table || !p->chain) {
		free(text);
		return 0;
	}
	r = pc_strsan_replace(&text, PC_STRSAN_RAW);
	if (r < 0) {
		free(text);
		return r;
	}
	t = pc_array_grow(&p->out.v, &p->out.n, sizeof(*t));
	if (!t) {
		free(text);
		return -ENOMEM;
	}
	t->family = p->family;
	t->handle = handle;
	t->text = text;
	t->table = strdup(p->table);
	t->chain = strdup(p->chain);
	if (!t->table || !t->chain)
		return -ENOMEM;
	return 0;
}

static int parse_line(struct parser *p, char *raw)
{
	struct line l;
	uint64_t handle;
	int r;

	split_line(raw, &l);

	if (p->pending) {
		r = append_piece(&p->pending, l.code);
		if (r < 0)
			return r;
		p->pending_depth += l.braces;
		if (p->pending_depth > 0)
			return 0;
		if (comment_handle(l.comment, &handle))
			return add_text(p, handle, TAKE_PTR(p->pending));
		free(TAKE_PTR(p->pending));
		return 0;
	}

	if (p->depth == 0 && starts_with_word(l.code, "table") && ends_with_brace(l.code)) {
		const char *s = l.code + strlen("table");
		const char *w;

		while (isspace((unsigned char)*s))
			s++;
		for (w = s; *s && !isspace((unsigned char)*s); s++)
			;
		free(TAKE_PTR(p->table));
		/* An unknown family or a name that cannot be copied: its rules get no text. */
		if (take_family(w, s - w, &p->family))
			take_name(s, &p->table);
		p->depth = 1;
		return 0;
	}
	if (p->depth == 1 && starts_with_word(l.code, "chain") && ends_with_brace(l.code)) {
		free(TAKE_PTR(p->chain));
		take_name(l.code + strlen("chain"), &p->chain);
		p->depth = 2;
		return 0;
	}
	if (p->depth == 2 && p->chain) {
		if (l.braces < 0) {
			free(TAKE_PTR(p->chain));
			p->depth = 1;
			return 0;
		}
		if (l.braces > 0) {
			p->pending = strdup(l.code);
			p->pending_depth = l.braces;
			return p->pending ? 0 : -ENOMEM;
		}
		/* Declarations ("type ... hook ...", a chain comment) have no handle. */
		if (l.code[0] && comment_handle(l.comment, &handle)) {
			char *text = strdup(l.code);

			if (!text)
				return -ENOMEM;
			return add_text(p, handle, text);
		}
		return 0;
	}

	p->depth += l.braces;
	if (p->depth <= 0) {
		p->depth = 0;
		free(TAKE_PTR(p->table));
	}
	return 0;
}

int pc_nft_texts_parse(const char *listing, struct pc_nft_texts *ret)
{
	_cleanup_free_ char *copy = strdup(listing ? listing : "");
	struct parser p = {};
	char *save = NULL;
	int r = 0;

	if (!copy)
		return -ENOMEM;
	for (char *line = strtok_r(copy, "\n", &save); line && r >= 0;
	     line = strtok_r(NULL, "\n", &save))
		r = parse_line(&p, line);
	free(p.table);
	free(p.chain);
	free(p.pending);
	if (r < 0) {
		pc_nft_texts_clear(&p.out);
		return r;
	}
	if (p.out.n > 1)
		qsort(p.out.v, p.out.n, sizeof(*p.out.v), text_cmp);
	*ret = p.out;
	return 0;
}

const char *pc_nft_texts_find(const struct pc_nft_texts *t, uint32_t family, const char *table,
			      const char *chain, uint64_t handle)
{
	struct pc_nft_text key = {
	    .family = family,
	    .table = (char *)table,
	    .chain = (char *)chain,
	    .handle = handle,
	};
	const struct pc_nft_text *hit;

	if (!t->n || !table || !chain)
		return NULL;
	hit = bsearch(&key, t->v, t->n, sizeof(*t->v), text_cmp);
	return hit ? hit->text : NULL;
}

int pc_nft_texts_attach(struct pc_nft_ruleset *rs, const struct pc_nft_texts *t)
{
	for (size_t i = 0; i < rs->n_tables; i++) {
		struct pc_nft_table *tb = &rs->tables[i];

		for (size_t j = 0; j < tb->n_chains; j++) {
			struct pc_nft_chain *c = &tb->chains[j];

			for (size_t k = 0; k < c->n_rules; k++) {
				const char *s;

				/* Rendered already (nftrender.c): the same text. */
				if (c->rules[k].text)
					continue;
				s = pc_nft_texts_find(t, tb->family, tb->name, c->name,
						      c->rules[k].handle);
				c->rules[k].text = s ? strdup(s) : NULL;
				if (s && !c->rules[k].text)
					return -ENOMEM;
			}
		}
	}
	return 0;
}

void pc_nft_texts_clear(struct pc_nft_texts *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].table);
		free(t->v[i].chain);
		free(t->v[i].text);
	}
	free(t->v);
	*t = (struct pc_nft_texts){};
}
