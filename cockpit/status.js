/* SPDX-License-Identifier: MIT */
/* The status table: one row per listener, as `portcheck status` shows it; a row expands
 * to its paths and firewalld's view. */
import { _, el, clear, str, exposureBadge, verdictBadge } from "./dom.js";

const expanded = new Set(); /* listener keys whose details are open, kept across refreshes */

export function listenerKey(l) {
	return `${str(l.protocol)}|${str(l.address)}|${str(l.port)}`;
}

/* A table entry by index (Status version 2: paths name their rule and sources in the
 * reply's "rules" and "sources" tables), or null for anything else. */
function entry(table, i) {
	return Array.isArray(table) && Number.isInteger(i) && i >= 0 && i < table.length &&
		table[i] && typeof table[i] === "object" ? table[i] : null;
}

/* The listeners of @status with each path's rule and words inline (as version 1 had them;
 * a version 1 path reads the same). */
export function statusListeners(status) {
	const listeners = Array.isArray(status.listeners) ? status.listeners.filter(l => l && typeof l === "object") : [];
	return listeners.map(l => !Array.isArray(l.paths) ? l : Object.assign({}, l, {
		paths: l.paths.filter(p => p && typeof p === "object").map(p => {
			const src = typeof p.source === "string" ? null : entry(status.sources, p.sources);
			const rule = p.rule && typeof p.rule === "object" ? p.rule : entry(status.rules, p.rule);
			return Object.assign({}, p, { rule, source: src ? src.words : p.source });
		}),
	}));
}

function counted(p) {
	return p && !p.spoofed && !p.ignored;
}

/* Why the listener is as it is, in one line: the refusing path's reason, else what allows it. */
function why(l) {
	const paths = Array.isArray(l.paths) ? l.paths : [];
	const refused = paths.find(p => counted(p) && p.verdict !== "accept");
	if (refused) {
		if (typeof refused.reason === "string")
			return refused.reason;
		if (refused.rule && typeof refused.rule === "object")
			return ruleText(refused.rule);
	}
	const fw = l.firewalld && typeof l.firewalld === "object" ? l.firewalld : {};
	if (typeof fw.allowed_by === "string")
		return cockpitFormat(_("allowed by $0"), fw.allowed_by) + (fw.runtime_only ? " " + _("(runtime only: lost on reload)") : "");
	const first = paths.find(counted);
	return first && typeof first.reason === "string" ? first.reason : "";
}

function cockpitFormat(fmt, ...args) {
	return fmt.replace(/\$(\d)/g, (_m, i) => str(args[Number(i)]));
}

export function ruleText(rule) {
	if (!rule || typeof rule !== "object")
		return _("no rule (routing or a chain policy)");
	return `${str(rule.family)} ${str(rule.table)} ${str(rule.chain)} handle ${str(rule.handle)}: ${str(rule.text, "policy")}`;
}

/* A path's sources in words can be a list of hundreds of CIDRs: the start, and the rest
 * behind a native disclosure (keyboard-usable). */
function sourceText(text) {
	if (text.length <= 120)
		return text;
	return el("details", { class: "pc-sources" },
		el("summary", {}, text.slice(0, 100) + "… ", el("span", { class: "pc-small" }, cockpitFormat(_("($0 characters: show all)"), text.length))),
		el("div", { class: "pc-small" }, text));
}

function forwardedText(f) {
	if (!f || typeof f !== "object")
		return "—";
	return `${str(f.address)} port ${str(f.port)}`;
}

function rejectText(r) {
	if (!r || typeof r !== "object")
		return "";
	if (r.tcp_reset)
		return _("TCP reset");
	return `ICMP ${str(r.icmp_type)}/${str(r.icmp_code)}`;
}

/* What Close would remove: the item firewalld says allows the listener. */
export function closeSpec(l) {
	const fw = l.firewalld && typeof l.firewalld === "object" ? l.firewalld : null;
	if (!fw || typeof fw.allowed_by !== "string" || typeof fw.zone !== "string")
		return null;
	const m = /^(service|port) (\S+)$/.exec(fw.allowed_by);
	return m ? { spec: m[2], zone: fw.zone } : null;
}

export function openSpec(l) {
	const f = l.fix && typeof l.fix === "object" ? l.fix : null;
	if (!f)
		return null;
	const spec = typeof f.service === "string" ? f.service : (typeof f.port === "string" ? f.port : null);
	if (!spec)
		return null;
	return { spec, zone: typeof f.zone === "string" ? f.zone : null, command: str(f.command) };
}

function actionCell(l, onAction) {
	const label = `${str(l.port)}/${str(l.protocol)}`;
	const open = openSpec(l);
	if (open) {
		return el("td", { "data-label": _("Fix") },
			el("button", {
				type: "button",
				class: "pc-button pc-button-primary pc-fix",
				"data-focus-key": "fix:" + listenerKey(l),
				title: open.command,
				"aria-label": cockpitFormat(_("Open $0: $1"), label, open.command),
				onclick: () => onAction("open", open, l),
			}, cockpitFormat(_("Open $0"), open.spec)),
			el("div", { class: "pc-muted pc-small" }, open.command));
	}
	const close = closeSpec(l);
	if (close && l.exposure === "open") {
		return el("td", { "data-label": _("Fix") },
			el("button", {
				type: "button",
				class: "pc-button pc-button-secondary pc-close",
				"data-focus-key": "close:" + listenerKey(l),
				"aria-label": cockpitFormat(_("Close $0 in zone $1"), close.spec, close.zone),
				onclick: () => onAction("close", close, l),
			}, cockpitFormat(_("Close $0"), close.spec)));
	}
	return el("td", { "data-label": _("Fix") }, el("span", { class: "pc-muted" }, "—"));
}

function pathsTable(l) {
	const paths = Array.isArray(l.paths) ? l.paths : [];
	if (paths.length === 0)
		return el("p", { class: "pc-muted" }, _("No network path reaches this socket."));
	return el("table", { class: "pc-table pc-paths" },
		el("caption", {}, _("Paths")),
		el("thead", {}, el("tr", {},
			["Interface", "Family", "Sources", "Verdict", "Deciding rule", "Forwarded to", "Zone", "Allowed by"]
				.map(h => el("th", { scope: "col" }, _(h))))),
		el("tbody", {}, paths.map(p => el("tr", { class: counted(p) ? "" : "pc-muted" },
			el("td", {}, str(p.interface)),
			el("td", {}, str(p.family)),
			el("td", {}, sourceText(str(p.source)), p.spoofed ? el("div", { class: "pc-small" }, _("(spoofed: not counted)")) : null,
				p.ignored ? el("div", { class: "pc-small" }, _("(ignored interface)")) : null),
			el("td", {}, verdictBadge(p.verdict), " ", rejectText(p.reject)),
			el("td", {}, el("code", {}, ruleText(p.rule)),
				typeof p.reason === "string" ? el("div", { class: "pc-small" }, p.reason) : null),
			el("td", {}, forwardedText(p.forwarded_to)),
			el("td", {}, str(p.zone, "—")),
			el("td", {}, str(p.allowed_by, "—"), p.runtime_only ? el("div", { class: "pc-small" }, _("runtime only")) : null)))));
}

function firewalldView(l) {
	const fw = l.firewalld && typeof l.firewalld === "object" ? l.firewalld : null;
	if (!fw)
		return el("p", { class: "pc-muted" }, _("firewalld does not manage this listener's zone."));
	return el("dl", { class: "pc-dl" },
		el("dt", {}, _("Zone")), el("dd", {}, str(fw.zone, "—")),
		el("dt", {}, _("Allowed by")), el("dd", {}, str(fw.allowed_by, _("nothing"))),
		el("dt", {}, _("Runtime only")), el("dd", {}, fw.runtime_only ? _("yes: lost on the next reload or reboot") : _("no")));
}

function listenerRows(l, onAction, rerender) {
	const key = listenerKey(l);
	const isOpen = expanded.has(key);
	const detailsId = "pc-details-" + key.replace(/[^A-Za-z0-9]/g, "_");
	const proc = l.process && typeof l.process === "object" ? l.process : null;
	const fw = l.firewalld && typeof l.firewalld === "object" ? l.firewalld : {};
	const row = el("tr", {
		class: "pc-listener",
		"data-port": str(l.port),
		"data-protocol": str(l.protocol),
		"data-address": str(l.address),
	},
	el("td", {},
		el("button", {
			type: "button",
			class: "pc-expand",
			"data-focus-key": "expand:" + key,
			"aria-expanded": isOpen ? "true" : "false",
			"aria-controls": detailsId,
			"aria-label": cockpitFormat(_("Details of $0/$1 on $2"), l.port, l.protocol, l.address),
			onclick: () => {
				if (expanded.has(key))
					expanded.delete(key);
				else
					expanded.add(key);
				rerender();
			},
		}, isOpen ? "▾" : "▸")),
	el("td", { "data-label": _("Port") }, `${str(l.port)}/${str(l.protocol)}`),
	el("td", { "data-label": _("Address") }, str(l.address)),
	el("td", { "data-label": _("Process") },
		proc ? `${str(proc.name)} (${str(proc.pid)})` : "—",
		proc && typeof proc.unit === "string" ? el("div", { class: "pc-muted pc-small" }, proc.unit) : null),
	el("td", { "data-label": _("Exposure") }, exposureBadge(l.exposure)),
	el("td", { "data-label": _("Zone and why") },
		el("span", { class: "pc-zone" }, str(fw.zone, "—")),
		el("div", { class: "pc-small pc-why" }, why(l))),
	actionCell(l, onAction));
	if (!isOpen)
		return [row];
	const details = el("tr", { class: "pc-details", id: detailsId },
		el("td", { colspan: "7" },
			pathsTable(l),
			el("h4", {}, _("firewalld")),
			firewalldView(l)));
	return [row, details];
}

/* Render the Status reply into container. onAction(kind, spec, listener) runs a fix. */
export function renderStatus(container, status, onAction) {
	const rerender = () => renderStatus(container, status, onAction);
	/* The table is rebuilt: a keyboard user keeps the focus on the same control. */
	const active = document.activeElement;
	const focusKey = active && container.contains(active) ? active.getAttribute("data-focus-key") : null;
	clear(container);
	const fwd = status.firewalld && typeof status.firewalld === "object" ? status.firewalld : {};
	const nft = status.nftables && typeof status.nftables === "object" ? status.nftables : {};
	container.appendChild(el("p", { class: "pc-summary" },
		fwd.running
			? cockpitFormat(_("firewalld $0 is running; default zone $1."), str(fwd.version, "?"), str(fwd.default_zone, "?"))
			: _("firewalld is not running."),
		" ",
		nft.read === false ? cockpitFormat(_("The nftables ruleset could not be read: $0"), str(nft.error)) : ""));
	const listeners = statusListeners(status);
	if (listeners.length === 0) {
		container.appendChild(el("p", {}, _("No listening sockets.")));
		return;
	}
	container.appendChild(el("table", { class: "pc-table", id: "pc-status-table" },
		el("caption", { class: "pc-sr-only" }, _("Listening sockets and whether the network reaches them")),
		el("thead", {}, el("tr", {},
			el("th", { scope: "col" }, el("span", { class: "pc-sr-only" }, _("Details"))),
			["Port", "Address", "Process and unit", "Exposure", "Zone and why", "Fix"].map(h => el("th", { scope: "col" }, _(h))))),
		el("tbody", {}, listeners.map(l => listenerRows(l, onAction, rerender)))));
	if (focusKey) {
		for (const b of container.querySelectorAll("[data-focus-key]"))
			if (b.getAttribute("data-focus-key") === focusKey) {
				b.focus();
				break;
			}
	}
}
