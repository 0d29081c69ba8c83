/* SPDX-License-Identifier: MIT */
/* portcheckd's logging: stderr, the journal's stream under systemd, structured entries. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>

#include <systemd/sd-journal.h>

#include "daemon.h"
#include "portcheck/strsan.h"

bool log_journal;
int log_max = LOG_INFO;

__attribute__((format(printf, 2, 3))) void log_msg(int priority, const char *format, ...)
{
	char buf[1024], line[PC_STRSAN_SIZE(sizeof(buf) - 1)];
	va_list ap;

	if (priority > log_max)
		return;
	va_start(ap, format);
	vsnprintf(buf, sizeof(buf), format, ap);
	va_end(ap);
	/* One message, one line: names are sanitised where they are read, but a newline or
	 * an escape sequence from anywhere else (a client's request, a cut character) must not
	 * reach a terminal or forge a "portcheckd: ..." line either. */
	pc_strsan_buf(line, sizeof(line), buf, strlen(buf), PC_STRSAN_TEXT);
	if (log_journal)
		fprintf(stderr, "<%d>%s\n", priority, line);
	else
		fprintf(stderr, "portcheckd: %s\n", line);
}

void server_log(int priority, const char *message, void *userdata)
{
	log_msg(priority, "%s", message);
}

/* systemd sets JOURNAL_STREAM to the device and inode of the stream it connected. */
bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return st.st_dev == (dev_t)dev && st.st_ino == (ino_t)ino;
}

/*
 * One structured journal entry per listener state change. Under systemd the entry goes
 * to the journal with its fields (MESSAGE_ID, PORTCHECK_*); elsewhere (a terminal, the
 * lab) it is one line on stderr ending in the MESSAGE_ID, so tests can match it.
 */
void log_structured(int priority, const char *message, const struct pc_strv *fields,
		    const char *message_id)
{
	if (priority > log_max)
		return;
	if (log_journal) {
		struct iovec iov[32];
		char *clean[ELEMENTSOF(iov)];
		size_t n = 0;
		int r = 0;

		/* The same sanitiser as the stderr line: a field is one line of text too. */
		for (size_t i = 0; i < fields->n && n < ELEMENTSOF(iov) - 1 && r >= 0; i++) {
			r = pc_strsan(fields->v[i], strlen(fields->v[i]), PC_STRSAN_TEXT,
				      &clean[n]);
			if (r >= 0) {
				iov[n] = (struct iovec){clean[n], strlen(clean[n])};
				n++;
			}
		}
		iov[n++] = (struct iovec){(char *)"SYSLOG_IDENTIFIER=portcheckd",
					  strlen("SYSLOG_IDENTIFIER=portcheckd")};
		if (r >= 0)
			r = sd_journal_sendv(iov, (int)n);
		for (size_t i = 0; i + 1 < n; i++)
			free(clean[i]);
		if (r >= 0)
			return;
		/* journald unreachable: fall through to the stream, which it may yet read. */
	}
	log_msg(priority, "%s [MESSAGE_ID=%s]", message, message_id);
}

void log_exposure_event(const struct pc_exposure_event *ev, void *userdata)
{
	static const char *const ids[] = {
	    [PC_CHANGE_BLOCKED] = PC_MSGID_BLOCKED,
	    [PC_CHANGE_PARTIAL] = PC_MSGID_PARTIAL,
	    [PC_CHANGE_REACHABLE] = PC_MSGID_REACHABLE,
	    [PC_CHANGE_UNKNOWN] = PC_MSGID_UNKNOWN,
	};

	log_structured(ev->priority, ev->message, &ev->fields, ids[ev->change]);
}
