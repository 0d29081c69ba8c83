/* SPDX-License-Identifier: MIT */
/*
 * "Listening ports": the page's wiring. Polls io.portcheck.Status every few seconds
 * (portcheckd answers from its kept analysis while nothing changed, so polling is cheap)
 * and re-renders only when the answer differs from the last one.
 */
import cockpit from "./cockpit-shim.js";
import { _, el, clear, alertBox } from "./dom.js";
import { call } from "./varlink.js";
import { renderStatus } from "./status.js";
import { runChange } from "./change.js";
import { setupExplain } from "./explain.js";
import { loadHistory } from "./history.js";
import { followTheme } from "./theme.js";

const REFRESH_MS = 5000;
/* A host with thousands of listeners answers in MiBs: polled as often, that is MB/s
 * through cockpit-ws. Every 256 KiB of the last answer adds 5 s, up to a minute. */
const REFRESH_MAX_MS = 60000;
let lastSize = 0;

function refreshDelay() {
	return Math.min(REFRESH_MAX_MS, REFRESH_MS * Math.max(1, Math.ceil(lastSize / 262144)));
}

let lastAnswer = null; /* the last Status reply, serialised, to skip identical renders */
let timer = null;
let userName = "USER"; /* for the usermod hint; the real name once cockpit.user() answers */

function problem(e) {
	if (e.kind === "no-daemon")
		return alertBox("warning", _("portcheckd is not running"),
			el("p", {}, e.message),
			el("p", {}, _("Start it with "), el("code", {}, "systemctl start portcheckd.socket"),
				_(" (as root; the package enables it)."), " ", _("This page retries every few seconds.")));
	if (e.kind === "denied")
		return alertBox("warning", _("You may not read the firewall's state"),
			el("p", {}, _("portcheckd answers root and members of the group “portcheck”.")),
			el("p", {}, _("Turn on administrative access (the “Limited access” button at the top of Cockpit), or ask an administrator to run "),
				el("code", {}, "usermod -aG portcheck " + userName),
				_(" and log in again.")));
	return alertBox("danger", _("portcheckd did not answer"), el("p", {}, e.message));
}

/* One Status call at a time: a refresh asked for meanwhile runs right after it. */
let inFlight = false;
let again = null; /* null, or whether the refresh asked for meanwhile wants fresh */

function refresh(fresh) {
	if (inFlight) {
		again = again || fresh;
		return;
	}
	const status = document.getElementById("pc-status");
	const state = document.getElementById("pc-state");
	inFlight = true;
	window.clearTimeout(timer);
	call("io.portcheck.Status", fresh ? { fresh: true } : {}).then(reply => {
		const text = JSON.stringify(reply);
		lastSize = text.length;
		clear(state);
		if (text !== lastAnswer) {
			lastAnswer = text;
			renderStatus(status, reply, (kind, target) => runChange(kind, target, () => {
				refresh(true);
				loadHistory(document.getElementById("pc-history"));
			}));
			loadHistory(document.getElementById("pc-history"));
		}
		status.setAttribute("data-updated", String(Date.now()));
	}).catch(e => {
		clear(state);
		state.appendChild(problem(e));
		/* Without a daemon or without the right the old table must go; after a passing
		 * error (Busy, a timeout) it stays, under the message. */
		if (e.kind === "no-daemon" || e.kind === "denied") {
			lastAnswer = null;
			clear(status);
		}
	}).finally(() => {
		inFlight = false;
		if (again !== null) {
			const f = again;
			again = null;
			refresh(f);
		} else if (!cockpit.hidden) {
			/* Hidden pages (another Cockpit page in front) do not poll. */
			timer = window.setTimeout(() => refresh(false), refreshDelay());
		}
	});
}

function init() {
	followTheme();
	cockpit.translate();
	document.getElementById("pc-refresh").addEventListener("click", () => refresh(true));
	document.getElementById("pc-history-refresh").addEventListener("click",
		() => loadHistory(document.getElementById("pc-history")));
	setupExplain(document.getElementById("pc-explain-form"), document.getElementById("pc-explain-out"));
	cockpit.addEventListener("visibilitychange", () => {
		if (!cockpit.hidden)
			refresh(false);
		else
			window.clearTimeout(timer);
	});
	loadHistory(document.getElementById("pc-history"));
	/* The user's name first (it goes into the hint when the daemon refuses). */
	cockpit.user().then(u => {
		if (u && typeof u.name === "string")
			userName = u.name;
	}).then(() => refresh(false), () => refresh(false));
}

init();
