/* SPDX-License-Identifier: MIT */
/* portcheck --help (cli.h). */
#include <stdio.h>

#include "portcheck/varlink.h"

#include "cli.h"

static void usage_options(FILE *f);

void pc_cli_usage(FILE *f)
{
	fputs(
	    "usage: portcheck [--socket PATH] [--json] COMMAND\n"
	    "       portcheck status [--fresh] [--json]\n"
	    "       portcheck explain PORT/PROTO --from ADDR [--sport PORT] [--iface IF] [--to "
	    "ADDR]\n"
	    "                         [--json]\n"
	    "       portcheck open SPEC [--zone Z] [--permanent] [--timeout DURATION] [--dry-run]\n"
	    "                      [--json]\n"
	    "       portcheck close SPEC [--zone Z] [--permanent] [--dry-run] [--json]\n"
	    "       portcheck check [--quiet] [--textfile PATH] [--nagios] [--json]\n"
	    "                       [--config FILE]\n"
	    "\n"
	    "Show which listening ports a new connection from the network would reach\n"
	    "through the firewall, and how to fix the ones it would not.\n"
	    "\n"
	    "commands:\n"
	    "  status        every listening socket, its exposure, the deciding rule and the fix\n"
	    "  explain       one new connection's path through the ruleset, rule by rule, and\n"
	    "                what the client sees; --iface defaults to the interface the route\n"
	    "                to --from leaves by, --to to that interface's address\n"
	    "  open          allow SPEC through firewalld, then show each listener on those\n"
	    "                ports as the firewall now treats it; SPEC is 80/tcp, 8000-8010/udp\n"
	    "                (tcp, udp, sctp, dccp), a firewalld service (http), or a\n"
	    "                comma-separated list of those. Without --zone: every zone that\n"
	    "                refuses a listener on those ports, else the default zone\n"
	    "  close         the reverse of open; without --zone: the zones that have SPEC,\n"
	    "                else the default zone\n"
	    "\n"
	    "                open and close need root, or polkit authorization for\n"
	    "                org.fedoraproject.FirewallD1.config; every change is logged\n"
	    "  check         for timers and monitoring: one line per finding (a listener\n"
	    "                blocked, partly blocked or unknown, that [Findings] in\n"
	    "                portcheck.conf does not ignore) with its fix; metrics for\n"
	    "                node_exporter's textfile collector; a Nagios plugin line\n"
	    "\n",
	    f);
	usage_options(f);
}

/* The options and exit statuses of usage(). */
static void usage_options(FILE *f)
{
	fputs("options:\n"
	      "  --socket PATH  portcheckd's socket (default: $PORTCHECK_SOCKET, "
	      "else " PC_SOCKET_PATH_DEFAULT ")\n"
	      "  --json         print the reply as JSON (schema version 1); check: the status\n"
	      "                 reply with each listener marked \"ignored\" or not\n"
	      "  --help         show this help\n"
	      "  --version      show the version\n"
	      "\n"
	      "  --fresh        status: a new analysis, not the daemon's kept answer (which it\n"
	      "                 keeps only while nothing it depends on has changed)\n"
	      "\n"
	      "  --from ADDR    explain: the client's address\n"
	      "  --sport PORT   explain: the client's source port (default: 40000, and say\n"
	      "                 when another port would get another verdict)\n"
	      "  --iface IF     explain: the interface the connection arrives on\n"
	      "  --to ADDR      explain: the address the client connects to\n"
	      "\n"
	      "  --zone Z       open, close: the firewalld zone to change\n"
	      "  --permanent    open, close: change the runtime and the permanent configuration\n"
	      "                 (effective now and after a reload or reboot, no reload needed);\n"
	      "                 without it the change is runtime only and lost on the next\n"
	      "                 firewall-cmd --reload\n"
	      "  --timeout DURATION\n"
	      "                 open: firewalld removes the runtime change again after DURATION\n"
	      "                 (5s, 10m, 1h, 1d, or plain seconds); not with --permanent\n"
	      "  --dry-run      open, close: show exactly what would change; change nothing\n"
	      "\n"
	      "  --quiet        check: print no findings, only set the exit status\n"
	      "  --textfile PATH\n"
	      "                 check: write Prometheus metrics to PATH (atomically, mode 0644),\n"
	      "                 also when portcheckd does not answer; default: TextfilePath= in\n"
	      "                 [Check] of portcheck.conf (not with --nagios)\n"
	      "  --nagios       check: print one Nagios plugin line with perfdata; exit 0 OK,\n"
	      "                 1 WARNING (partly blocked or unknown), 2 CRITICAL (blocked),\n"
	      "                 3 UNKNOWN (no answer, bad configuration, metrics not written)\n"
	      "  --config FILE  check: read only FILE, not /etc/portcheck/portcheck.conf and its\n"
	      "                 drop-ins ($PORTCHECK_CONFIG_ROOT prefixes those paths)\n"
	      "\n"
	      "exit status: 0 nothing is blocked (explain: the connection is accepted; open:\n"
	      "done and every listener on SPEC is open; close: done and none is still open),\n"
	      "1 a listener is blocked, partly blocked or unknown (explain: it is not accepted;\n"
	      "open: done, but a listener is still blocked; close: done, but a listener is still\n"
	      "open; check: a finding not ignored), 2 usage error or invalid SPEC, zone or\n"
	      "service (check: or a bad configuration file), 3 no answer from portcheckd, or a\n"
	      "change refused (permission, firewalld unavailable or in panic mode or lockdown,\n"
	      "no firewalld) or failed (check: or the metrics could not be written).\n",
	      f);
}
