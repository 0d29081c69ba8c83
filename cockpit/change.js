/* SPDX-License-Identifier: MIT */
/*
 * Open and Close: a dialog that shows the dry run first (dry_run: true changes nothing),
 * then applies the change and shows the daemon's verified result (the listeners on those
 * ports as the analysis sees them after the change). polkit decides in the daemon; a
 * refusal is shown as such.
 */
import { _, el, clear, str, alertBox, exposureBadge } from "./dom.js";
import { call } from "./varlink.js";

function fmt(f, ...a) {
	return f.replace(/\$(\d)/g, (_m, i) => str(a[Number(i)]));
}

function errorBox(e) {
	if (e.kind === "denied")
		return alertBox("danger", _("Not permitted"),
			el("p", {}, _("portcheckd refused the change: changing the firewall needs administrative access.")),
			el("p", {}, _("Turn on administrative access (the “Limited access” button at the top of Cockpit) and try again, or ask an administrator to grant you polkit's org.fedoraproject.FirewallD1.config.")));
	if (e.kind === "no-daemon")
		return alertBox("danger", _("portcheckd is not running"), el("p", {}, e.message));
	const p = e.parameters || {};
	return alertBox("danger", e.varlinkError ? fmt(_("The change failed ($0)"), e.varlinkError) : _("The change failed"),
		el("p", {}, e.message),
		typeof p.state === "string" ? el("p", {}, fmt(_("What is left changed: $0"), p.state)) : null,
		typeof p.nft_command === "string" && p.nft_command ? el("pre", {}, p.nft_command) : null);
}

function changesTable(reply) {
	const changes = Array.isArray(reply.changes) ? reply.changes : [];
	const notes = Array.isArray(reply.notes) ? reply.notes : [];
	return [
		changes.length === 0 ? el("p", {}, _("No change is needed.")) : el("table", { class: "pc-table pc-changes" },
			el("thead", {}, el("tr", {}, ["Zone", "Item", "Runtime", "Permanent"].map(h => el("th", { scope: "col" }, _(h))))),
			el("tbody", {}, changes.filter(c => c && typeof c === "object").map(c => el("tr", {},
				el("td", {}, str(c.zone)),
				el("td", {}, `${str(c.kind)} ${str(c.item)}`, typeof c.covered_by === "string" ? el("div", { class: "pc-small" }, fmt(_("already allowed by $0"), c.covered_by)) : null),
				el("td", {}, str(c.runtime)),
				el("td", {}, str(c.permanent)))))),
		notes.filter(n => typeof n === "string").map(n => el("p", { class: "pc-small" }, n)),
	];
}

function listenersAfter(reply) {
	const ls = Array.isArray(reply.listeners) ? reply.listeners.filter(l => l && typeof l === "object") : [];
	if (ls.length === 0)
		return el("p", { class: "pc-muted" }, _("No listener on these ports."));
	return el("ul", { class: "pc-after" }, ls.map(l => el("li", {},
		`${str(l.port)}/${str(l.protocol)} ${str(l.address)} ${typeof l.process === "string" ? "(" + l.process + ")" : ""} `,
		exposureBadge(l.exposure),
		typeof l.reason === "string" ? el("div", { class: "pc-small" }, l.reason) : null)));
}

/* Bumped by every request and by closing the dialog: an answer to an older request
 * (an earlier choice, or an earlier dialog closed meanwhile) is dropped. */
let generation = 0;

/*
 * runChange(kind, target, done): kind "open" or "close"; target {spec, zone}; done() is
 * called after an applied change (the page refreshes its status).
 */
/* The port this Cockpit is reached on (the shell's page; 9090 when the URL has none). */
function cockpitPort() {
	try {
		return Number(window.top.location.port) || (window.top.location.protocol === "http:" ? 80 : 443);
	} catch (_e) {
		return 9090;
	}
}

/* Whether closing @spec ("cockpit", "9090/tcp", "9000-9100/tcp") may cut this session off. */
function closesCockpit(spec) {
	if (spec === "cockpit")
		return true;
	const m = /^(\d+)(?:-(\d+))?\/tcp$/.exec(spec);
	if (!m)
		return false;
	const lo = Number(m[1]), hi = m[2] ? Number(m[2]) : lo, port = cockpitPort();
	return lo <= port && port <= hi;
}

export function runChange(kind, target, done) {
	const dialog = document.getElementById("pc-change-dialog");
	const title = document.getElementById("pc-change-title");
	const result = document.getElementById("pc-change-result");
	const apply = document.getElementById("pc-apply");
	const permanent = document.getElementById("pc-scope-permanent");
	const runtime = document.getElementById("pc-scope-runtime");
	const method = kind === "open" ? "io.portcheck.Open" : "io.portcheck.Close";

	title.textContent = kind === "open"
		? (target.zone ? fmt(_("Open $0 in zone $1"), target.spec, target.zone) : fmt(_("Open $0"), target.spec))
		: fmt(_("Close $0 in zone $1"), target.spec, target.zone);
	/* Closing Cockpit's own way in ends this session's access from the network. */
	const warning = document.getElementById("pc-change-warning");
	clear(warning);
	if (kind === "close" && closesCockpit(target.spec))
		warning.appendChild(alertBox("warning", _("This is Cockpit's own port"),
			el("p", {}, _("Closing it cuts this page off from the network: you may lose access to Cockpit."))));
	permanent.checked = true;
	runtime.checked = false;
	permanent.disabled = runtime.disabled = false;

	const params = dryRun => {
		const p = { spec: target.spec, permanent: permanent.checked, dry_run: dryRun };
		if (target.zone)
			p.zone = target.zone;
		return p;
	};
	const show = (state, ...nodes) => {
		result.setAttribute("data-state", state);
		clear(result);
		for (const n of nodes.flat(Infinity))
			if (n)
				result.appendChild(n);
	};
	const preview = () => {
		const mine = ++generation;
		apply.disabled = true;
		show("busy", el("p", {}, _("Asking portcheckd what would change (dry run)…")));
		call(method, params(true)).then(reply => {
			if (mine !== generation)
				return;
			show("dry-run", el("h4", {}, _("Dry run: nothing has been changed yet")), changesTable(reply),
				el("h4", {}, _("Now")), listenersAfter(reply));
			apply.disabled = false;
		}).catch(e => {
			if (mine === generation)
				show("error", errorBox(e));
		});
	};
	const doApply = () => {
		const mine = ++generation;
		/* The choice the dry run showed stays what is applied until the answer. */
		apply.disabled = permanent.disabled = runtime.disabled = true;
		show("busy", el("p", {}, _("Changing the firewall and verifying…")));
		call(method, params(false)).then(reply => {
			permanent.disabled = runtime.disabled = false;
			/* Applied: the status is refreshed even when the dialog was closed. */
			done();
			if (mine !== generation)
				return;
			show("applied", alertBox("success", _("Applied and verified")), changesTable(reply),
				el("h4", {}, _("After the change")), listenersAfter(reply));
		}).catch(e => {
			permanent.disabled = runtime.disabled = false;
			if (mine === generation)
				show("error", errorBox(e));
		});
	};

	permanent.onchange = preview;
	runtime.onchange = preview;
	apply.onclick = doApply;
	apply.textContent = kind === "open" ? _("Open") : _("Close");
	document.getElementById("pc-dialog-close").onclick = () => dialog.close();
	dialog.onclose = () => generation++; /* also Escape */
	if (!dialog.open)
		dialog.showModal();
	preview();
}
