// SPDX-License-Identifier: MIT
// The Cockpit page's Varlink framing (cockpit/varlink.js MessageSplitter), under node: a
// reply cut at every byte (inside a UTF-8 sequence too), several messages in one chunk,
// a tail kept for the next chunk, and the size bound.
import { fileURLToPath } from "node:url";
import path from "node:path";

globalThis.window = { cockpit: { gettext: s => s } };
const here = path.dirname(fileURLToPath(import.meta.url));
const { MessageSplitter } = await import(path.join(here, "../../cockpit/varlink.js"));

const enc = new TextEncoder();
const bytes = s => enc.encode(s);
let failures = 0;
const fail = msg => { console.log("FAIL - " + msg); failures++; };

const want = ['{"a":"é→😀"}', '{"b":2}', '{"c":3}'];
const all = new Uint8Array([...bytes(want[0]), 0, ...bytes(want[1]), 0, ...bytes('{"c":')]);
for (let cut = 0; cut <= all.length; cut++) {
	const sp = new MessageSplitter();
	const got = [...sp.push(all.slice(0, cut)), ...sp.push(all.slice(cut)), ...sp.push(new Uint8Array([...bytes("3}"), 0]))];
	if (JSON.stringify(got) !== JSON.stringify(want))
		fail(`cut at byte ${cut}: ${JSON.stringify(got)}`);
}
console.log(`ok - ${all.length + 1} ways to cut two and a half messages give the same three messages`);

{
	const sp = new MessageSplitter();
	const got = [];
	for (const b of [...bytes(want[0]), 0])
		got.push(...sp.push(new Uint8Array([b])));
	if (JSON.stringify(got) !== JSON.stringify([want[0]]))
		fail("byte by byte: " + JSON.stringify(got));
	else
		console.log("ok - a message fed byte by byte");
}

{
	const sp = new MessageSplitter();
	let threw = false;
	try {
		const chunk = new Uint8Array(1024 * 1024).fill(0x20);
		for (let i = 0; i < 40; i++)
			sp.push(chunk);
	} catch (e) {
		threw = e.kind === "transport";
	}
	if (!threw)
		fail("an endless message without NUL was not refused");
	else
		console.log("ok - a message over the bound is refused");
}
process.exit(failures ? 1 : 0);
