/* SPDX-License-Identifier: MIT */
/*
 * Building DOM from data. Every string from the daemon or the journal is untrusted: it
 * only ever becomes a text node or an attribute value, never markup (no innerHTML).
 */
import cockpit from "./cockpit-shim.js";

export const _ = cockpit.gettext;

/* el("td", {class: "x", "data-port": 80}, "text", child, ...) */
export function el(tag, attrs, ...children) {
	const node = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === null || v === undefined || v === false)
			continue;
		if (k === "onclick")
			node.addEventListener("click", v);
		else if (k === "onsubmit")
			node.addEventListener("submit", v);
		else
			node.setAttribute(k, v === true ? "" : String(v));
	}
	append(node, children);
	return node;
}

function append(node, children) {
	for (const c of children) {
		if (c === null || c === undefined || c === false)
			continue;
		if (Array.isArray(c))
			append(node, c);
		else if (c instanceof Node)
			node.appendChild(c);
		else
			node.appendChild(document.createTextNode(String(c)));
	}
}

export function clear(node) {
	while (node.firstChild)
		node.removeChild(node.firstChild);
}

/* A string field of untrusted data, or the fallback. */
export function str(v, fallback) {
	return typeof v === "string" ? v : (typeof v === "number" ? String(v) : (fallback === undefined ? "" : fallback));
}

/* An alert box: kind is "danger", "warning", "info", "success". */
export function alertBox(kind, title, ...body) {
	return el("div", { class: `pc-alert pc-alert-${kind}`, role: kind === "danger" ? "alert" : "status" },
		el("strong", { class: "pc-alert-title" }, title),
		body.length ? el("div", { class: "pc-alert-body" }, ...body) : null);
}

/* Exposure as colour AND text (never colour alone). */
const EXPOSURE_TEXT = {
	open: () => _("open"),
	blocked: () => _("blocked"),
	partial: () => _("partial"),
	"local-only": () => _("local-only"),
	unknown: () => _("unknown"),
};

export function exposureBadge(exposure) {
	const e = str(exposure, "unknown");
	const known = Object.prototype.hasOwnProperty.call(EXPOSURE_TEXT, e);
	const text = known ? EXPOSURE_TEXT[e]() : e;
	return el("span", { class: `pc-badge pc-exposure pc-exposure-${known ? e : "unknown"}`, "data-exposure": e }, text);
}

export function verdictBadge(verdict) {
	const v = str(verdict, "unknown");
	const cls = { accept: "open", drop: "blocked", reject: "blocked" }[v] || "unknown";
	return el("span", { class: `pc-badge pc-exposure-${cls}` }, v);
}
