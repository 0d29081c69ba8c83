/* SPDX-License-Identifier: MIT */
/* "Explain a connection": io.portcheck.Explain for one port/protocol, source address and
 * optional interface: the verdict, what the client sees, the rule trace. */
import { _, el, clear, str, alertBox, verdictBadge } from "./dom.js";
import { call } from "./varlink.js";
import { ruleText } from "./status.js";

function parsePortProto(text) {
	const m = /^\s*(\d{1,5})\s*(?:\/\s*(tcp|udp|sctp|dccp))?\s*$/i.exec(text);
	if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535)
		return null;
	return { port: Number(m[1]), protocol: (m[2] || "tcp").toLowerCase() };
}

function traceTable(trace) {
	const rows = Array.isArray(trace) ? trace.filter(t => t && typeof t === "object") : [];
	if (rows.length === 0)
		return el("p", { class: "pc-muted" }, _("No rule was met."));
	return el("table", { class: "pc-table pc-trace" },
		el("caption", {}, _("Rule trace")),
		el("thead", {}, el("tr", {}, ["Hook", "Table and chain", "Rule", "Action"].map(h => el("th", { scope: "col" }, _(h))))),
		el("tbody", {}, rows.map(t => el("tr", {},
			el("td", {}, str(t.hook)),
			el("td", {}, `${str(t.family)} ${str(t.table)} ${str(t.chain)}`),
			el("td", {}, el("code", {}, `${str(t.handle)}: ${str(t.text)}`)),
			el("td", {}, str(t.action), t.detail ? el("div", { class: "pc-small" }, str(t.detail)) : null)))));
}

export function setupExplain(form, out) {
	form.addEventListener("submit", ev => {
		ev.preventDefault();
		const pp = parsePortProto(form.elements["pc-explain-port"].value);
		const from = form.elements["pc-explain-from"].value.trim();
		const iface = form.elements["pc-explain-iface"].value.trim();
		clear(out);
		if (!pp) {
			out.appendChild(alertBox("warning", _("Give a port and protocol such as 80/tcp.")));
			return;
		}
		if (!from) {
			out.appendChild(alertBox("warning", _("Give the client's address, such as 203.0.113.9.")));
			return;
		}
		const params = { port: pp.port, protocol: pp.protocol, from };
		if (iface)
			params.iface = iface;
		out.appendChild(el("p", {}, _("Explaining…")));
		call("io.portcheck.Explain", params).then(r => {
			clear(out);
			out.appendChild(el("dl", { class: "pc-dl", id: "pc-explain-answer" },
				el("dt", {}, _("Verdict")), el("dd", {}, verdictBadge(r.verdict)),
				el("dt", {}, _("The client sees")), el("dd", {}, str(r.client_sees)),
				el("dt", {}, _("Path")), el("dd", {}, `${str(r.source)}:${str(r.source_port)} → ${str(r.destination)} ${str(r.port)}/${str(r.protocol)} ${_("on")} ${str(r.interface)} (${str(r.family)})`),
				el("dt", {}, _("Zone")), el("dd", {}, str(r.zone, "—")),
				el("dt", {}, _("Deciding rule")), el("dd", {}, el("code", {}, ruleText(r.rule))),
				el("dt", {}, _("Why")), el("dd", {}, str(r.reason, "—"))));
			out.appendChild(traceTable(r.trace));
		}).catch(e => {
			clear(out);
			const title = e.kind === "denied" ? _("You may not read the firewall's state")
				: e.varlinkError === "io.portcheck.BadRequest" ? _("portcheckd cannot explain this")
				: e.kind === "no-daemon" ? _("portcheckd is not running") : _("No answer");
			const p = e.parameters && typeof e.parameters.parameter === "string" ? e.parameters.parameter : null;
			out.appendChild(alertBox(e.kind === "denied" || e.varlinkError === "io.portcheck.BadRequest" ? "warning" : "danger",
				title, el("p", {}, p ? `${p}: ${e.message}` : e.message)));
		});
	});
}
