// SPDX-License-Identifier: MIT
// The Cockpit page reads Status version 2 (cockpit/status.js statusListeners): each path's
// rule and words come from the reply's tables; odd indexes read as nothing, never as
// another entry; a version 1 path reads as it is.
import { fileURLToPath } from "node:url";
import path from "node:path";

globalThis.window = { cockpit: { gettext: s => s } };
const here = path.dirname(fileURLToPath(import.meta.url));
const { statusListeners } = await import(path.join(here, "../../cockpit/status.js"));

let failures = 0;
const check = (what, got, want) => {
	if (JSON.stringify(got) !== JSON.stringify(want)) {
		console.log(`FAIL - ${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
		failures++;
	} else {
		console.log(`ok - ${what}`);
	}
};

const rule = { family: "inet", table: "t", chain: "in", handle: 7, text: "drop" };
const status = {
	version: 2, rules: [rule], sources: [{ words: "any" }, { words: "198.51.100.0/24" }],
	listeners: [{ port: 22, paths: [
		{ sources: 1, verdict: "drop", rule: 0 },
		{ sources: 0, verdict: "accept" },
		{ sources: 5, verdict: "drop", rule: 3 },
		{ sources: "0", verdict: "drop", rule: -1 },
		{ source: "any", verdict: "drop", rule },
		null,
	] }, 7],
};
const ls = statusListeners(status);
const p = ls[0].paths;
check("listeners that are objects", ls.length, 1);
check("a path's words from the sources table", p[0].source, "198.51.100.0/24");
check("a path's rule from the rules table", p[0].rule, rule);
check("no rule: null", p[1].rule, null);
check("an index past the tables: nothing", [p[2].source, p[2].rule], [undefined, null]);
check("not an integer index: nothing", [p[3].source, p[3].rule], [undefined, null]);
check("a version 1 path reads as it is", [p[4].source, p[4].rule], ["any", rule]);
check("paths that are objects", p.length, 5);
check("the reply is untouched", status.listeners[0].paths[0].rule, 0);
process.exit(failures ? 1 : 0);
