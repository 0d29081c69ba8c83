/* SPDX-License-Identifier: MIT */
/* The history pane: portcheckd's journal entries by their MESSAGE_IDs
 * (docs/system-service.md), newest first. */
import cockpit from "./cockpit-shim.js";
import { _, el, clear, str, alertBox, exposureBadge } from "./dom.js";

export const MESSAGE_IDS = {
	"4317287bbb3645e2b3654e9a218952ea": () => _("became blocked"),
	c272c3acf40847c5b230317b1474c2ac: () => _("became partly blocked"),
	c678b7e3ca9d4173bdec8161ba977cb6: () => _("reachable again"),
	"9d0f018b51f7499baef3524a04074c02": () => _("verdict unknown"),
	"96410ddda46044c4874e476c05520118": () => _("firewalld went away or came back"),
};

function when(usec) {
	const n = Number(usec);
	return Number.isFinite(n) ? new Date(n / 1000).toLocaleString() : "";
}

export function loadHistory(container) {
	/* --all: journalctl -o json writes a field over 4096 bytes (a long rule text) as null
	 * without it. */
	const argv = ["journalctl", "--output=json", "--all", "--lines=100", "--reverse", "--no-pager"];
	for (const id of Object.keys(MESSAGE_IDS))
		argv.push("MESSAGE_ID=" + id);
	/* Any process may log these MESSAGE_IDs; _SYSTEMD_UNIT is journald's own (trusted)
	 * field: only the daemon's entries (ANDed with the MESSAGE_IDs, which are ORed). */
	argv.push("_SYSTEMD_UNIT=portcheckd.service");
	/* Reading the system journal needs admin access or group adm/systemd-journal. */
	return cockpit.spawn(argv, { superuser: "try", err: "message" }).then(out => {
		const entries = [];
		for (const line of out.split("\n")) {
			if (!line.trim())
				continue;
			try {
				const e = JSON.parse(line);
				if (e && typeof e === "object")
					entries.push(e);
			} catch (_e) { /* a line journalctl cut short: skip it */ }
		}
		clear(container);
		if (entries.length === 0) {
			container.appendChild(el("p", { class: "pc-muted" }, _("No entries from portcheckd in the journal (or you may not read it).")));
			return;
		}
		container.appendChild(el("table", { class: "pc-table", id: "pc-history-table" },
			el("thead", {}, el("tr", {}, ["Time", "Event", "Listener", "Exposure", "Deciding rule and fix"].map(h => el("th", { scope: "col" }, _(h))))),
			el("tbody", {}, entries.map(e => {
				const id = str(e.MESSAGE_ID);
				const kind = Object.prototype.hasOwnProperty.call(MESSAGE_IDS, id) ? MESSAGE_IDS[id]() : id;
				const port = str(e.PORTCHECK_PORT);
				return el("tr", {},
					el("td", {}, when(e.__REALTIME_TIMESTAMP)),
					el("td", {}, kind),
					el("td", {}, port ? `${port}/${str(e.PORTCHECK_PROTO)} ${str(e.PORTCHECK_ADDRESS)} ${str(e.PORTCHECK_PROCESS)}` : str(e.MESSAGE)),
					el("td", {}, e.PORTCHECK_EXPOSURE ? exposureBadge(e.PORTCHECK_EXPOSURE) : "—"),
					el("td", {}, el("code", {}, str(e.PORTCHECK_RULE)), e.PORTCHECK_FIX ? el("div", { class: "pc-small" }, str(e.PORTCHECK_FIX)) : null));
			}))));
	}).catch(err => {
		clear(container);
		container.appendChild(alertBox("warning", _("The journal could not be read"),
			el("p", {}, str(err && err.message, String(err))),
			el("p", {}, _("Reading the system journal needs administrative access, or membership in the group “adm” or “systemd-journal”."))));
	});
}
