// SPDX-License-Identifier: MIT
// drive.js: one user's session in Cockpit's "Listening ports" page, driven in Debian's
// chromium over the DevTools protocol (puppeteer-core; the browser is never downloaded).
// Run by tests/system/test_cockpit.sh inside the test's client network namespace.
//
// Environment:
//   PC_URL        Cockpit's address, e.g. https://198.51.100.1:9090
//   PC_USER, PC_PASSWORD   the account to log in with
//   PC_ADMIN=1    log in with administrative access (Cockpit's superuser mode)
//   PC_PHASE      "admin": find 80/tcp blocked, open it (runtime and permanent), see it
//                 open, explain a connection, read the history;
//                 "dryrun": find 80/tcp blocked, see Open's dry run, close the dialog;
//                 "refused": find 80/tcp blocked, press Open, see the refusal;
//                 "german": the page translated (po.de.js), 80/tcp open;
//                 "denied": a user outside group portcheck is told what to do;
//                 "nodaemon": the page says portcheckd is not running, and what to do
//   PC_SHOTS      directory for the screenshots; PC_SHOT_PREFIX their number prefix
//   PC_CHROMIUM   the browser (default /usr/bin/chromium); PC_PROFILE a fresh profile dir
//
// Prints "ok - ..." per step and "FAIL - ..." on the first failure; exit 0 when every
// step passed, 1 on a failure, 2 when the whole run timed out.
"use strict";
const puppeteer = require("puppeteer-core");
const path = require("path");

const env = process.env;
const URL = env.PC_URL;
const USER = env.PC_USER;
const PASSWORD = env.PC_PASSWORD;
const ADMIN = env.PC_ADMIN === "1";
const PHASE = env.PC_PHASE;
const SHOTS = env.PC_SHOTS;
const PREFIX = env.PC_SHOT_PREFIX || "00";
const STEP_MS = 45000; // one step's bound
const RUN_MS = 240000; // the whole run's bound

let browser = null;
let shotNo = 0;

const watchdog = setTimeout(async () => {
	console.log(`FAIL - the whole run took longer than ${RUN_MS / 1000} s`);
	try {
		if (browser)
			browser.process() && browser.process().kill("SIGKILL");
	} finally {
		process.exit(2);
	}
}, RUN_MS);

function ok(msg) {
	console.log(`ok - ${msg}`);
}

async function shot(page, name) {
	shotNo++;
	const file = path.join(SHOTS, `${PREFIX}-${String(shotNo).padStart(2, "0")}-${name}.png`);
	await page.screenshot({ path: file });
	console.log(`# screenshot ${file}`);
}

async function login(page) {
	await page.goto(URL + "/", { waitUntil: "domcontentloaded", timeout: STEP_MS });
	await page.waitForSelector("#login-user-input", { visible: true, timeout: STEP_MS });
	// Cockpit 287 asks for administrative access at login from what the browser
	// remembers per user (localStorage "superuser:USER", "any" or "none"), the same
	// as when the user turned it on with the "Limited access" button before.
	await page.evaluate((u, admin) => localStorage.setItem("superuser:" + u, admin ? "any" : "none"), USER, ADMIN);
	await page.type("#login-user-input", USER);
	await page.type("#login-password-input", PASSWORD);
	await Promise.all([
		page.waitForNavigation({ waitUntil: "domcontentloaded", timeout: STEP_MS }).catch(() => {}),
		page.click("#login-button"),
	]);
	await page.waitForFunction(() => document.querySelector("#login-error-message") &&
		document.querySelector("#login-error-message").textContent.trim() ||
		document.querySelector("#topnav, #main, .ct-page-fill, nav"), { timeout: STEP_MS });
	const err = await page.evaluate(() => {
		const e = document.querySelector("#login-error-message");
		return e && e.offsetParent !== null ? e.textContent.trim() : "";
	});
	if (err)
		throw new Error(`login as ${USER} failed: ${err}`);
	ok(`logged in to Cockpit as ${USER}${ADMIN ? " (administrative access asked for)" : ""}`);
}

// The page runs in the shell's iframe: find it once it has its status table (or a
// message that says why not).
async function portcheckFrame(page) {
	const deadline = Date.now() + STEP_MS;
	while (Date.now() < deadline) {
		const f = page.frames().find(fr => /\/portcheck\/index\.html/.test(fr.url()));
		if (f) {
			const ready = await f.evaluate(() => !!document.querySelector("#pc-status-table, #pc-state .pc-alert")).catch(() => false);
			if (ready)
				return f;
		}
		await new Promise(r => setTimeout(r, 250));
	}
	throw new Error("the Listening ports page did not show a status table in time");
}

async function openPage(page) {
	// Through the shell's menu, as a user would.
	await page.goto(URL + "/system", { waitUntil: "domcontentloaded", timeout: STEP_MS });
	const link = await page.waitForSelector("xpath/.//nav//a[normalize-space(.)='Listening ports']", { visible: true, timeout: STEP_MS });
	await link.click();
	const f = await portcheckFrame(page);
	ok("opened \"Listening ports\" from Cockpit's menu");
	return f;
}

// What the page shows for 80/tcp (visible text, as a user reads it).
async function row80(frame) {
	return frame.evaluate(() => {
		const rows = [...document.querySelectorAll("tr.pc-listener[data-port='80'][data-protocol='tcp']")];
		return rows.map(r => ({
			exposure: (r.querySelector(".pc-exposure") || {}).textContent || "",
			zone: (r.querySelector(".pc-zone") || {}).textContent || "",
			why: (r.querySelector(".pc-why") || {}).textContent || "",
			fix: (r.querySelector("button.pc-fix") || {}).textContent || "",
			fixTitle: r.querySelector("button.pc-fix") ? r.querySelector("button.pc-fix").title : "",
			process: r.cells[3] ? r.cells[3].textContent : "",
		}));
	});
}

async function waitRow80(frame, want, what) {
	const deadline = Date.now() + STEP_MS;
	let rows = [];
	while (Date.now() < deadline) {
		rows = await row80(frame).catch(() => []);
		if (rows.length > 0 && rows.every(want))
			return rows;
		await new Promise(r => setTimeout(r, 500));
	}
	throw new Error(`80/tcp did not become ${what} in time; the page shows ${JSON.stringify(rows)}`);
}

function isBlockedWithFix(r) {
	return r.exposure.trim() === "blocked" && r.zone.trim() === "public" && /^Open /.test(r.fix.trim()) &&
		/portcheck open .*--zone public/.test(r.fixTitle);
}

async function dialogState(frame, states) {
	await frame.waitForFunction(s => {
		const d = document.querySelector("#pc-change-result");
		return d && s.includes(d.getAttribute("data-state"));
	}, { timeout: STEP_MS }, states);
	return frame.evaluate(() => ({
		state: document.querySelector("#pc-change-result").getAttribute("data-state"),
		text: document.querySelector("#pc-change-result").innerText,
	}));
}

async function pressFix(frame) {
	const b = await frame.waitForSelector("tr.pc-listener[data-port='80'][data-protocol='tcp'] button.pc-fix", { visible: true, timeout: STEP_MS });
	// The keyboard, as a keyboard user would: focus and Enter.
	await b.focus();
	await b.press("Enter");
	await frame.waitForSelector("#pc-change-dialog[open]", { visible: true, timeout: STEP_MS });
}

async function phaseAdmin(page) {
	await login(page);
	// Cockpit's top bar says whether the session has administrative access.
	await page.waitForFunction(() => /Administrative access/.test(document.body.innerText), { timeout: STEP_MS })
		.then(() => ok("the session has administrative access"))
		.catch(async () => {
			const bar = await page.evaluate(() => (document.querySelector("header, #topnav, .pf-c-masthead") || document.body).innerText).catch(() => "");
			throw new Error("the session did not get administrative access; the top bar says: " + bar.replace(/\s+/g, " ").slice(0, 200));
		});
	const frame = await openPage(page);
	const before = await waitRow80(frame, isBlockedWithFix, "blocked with zone public and a fix");
	ok(`80/tcp is shown "blocked", zone public, fix "${before[0].fix.trim()}" (${before[0].fixTitle}); why: ${before[0].why.trim()}`);
	await shot(page, "admin-blocked");

	// Strings from the daemon are text, never markup: a process named "<i>pcx".
	await frame.waitForFunction(() => [...document.querySelectorAll("tr.pc-listener[data-port='8081'] td")]
		.some(td => td.textContent.includes("<i>pcx")), { timeout: STEP_MS })
		.catch(() => { throw new Error("the process named \"<i>pcx\" on 8081 is not shown as text"); });
	const markup = await frame.evaluate(() => document.querySelectorAll("#pc-status-table i, #pc-history i").length);
	if (markup !== 0)
		throw new Error(`a process name became markup: ${markup} <i> elements in the page`);
	ok("the process named \"<i>pcx\" is shown as text, no element made from it");

	// Details: the paths and firewalld's view.
	await frame.click("tr.pc-listener[data-port='80'][data-protocol='tcp'] button.pc-expand");
	await frame.waitForFunction(() => {
		const d = document.querySelector("tr.pc-details");
		return d && /eth0/.test(d.innerText) && /reject/.test(d.innerText) && /filter_IN_public/.test(d.innerText);
	}, { timeout: STEP_MS });
	ok("the row expands to its paths (eth0, reject, the rule in filter_IN_public) and firewalld's view");
	await shot(page, "admin-details");

	await pressFix(frame);
	await frame.click("#pc-scope-permanent");
	let st = await dialogState(frame, ["dry-run", "error"]);
	if (st.state !== "dry-run" || !/Dry run/.test(st.text) || !/would add/.test(st.text))
		throw new Error("no dry run shown: " + st.text);
	ok("the dialog shows the dry run first (\"would add\", runtime and permanent)");
	await shot(page, "admin-dry-run");
	const applied = await frame.evaluate(() => !document.querySelector("#pc-apply").disabled);
	if (!applied)
		throw new Error("the Open button stays disabled after the dry run");
	await frame.click("#pc-apply");
	st = await dialogState(frame, ["applied", "error"]);
	if (st.state !== "applied" || !/Applied and verified/.test(st.text) || !/\badded\b/.test(st.text) || !/\bopen\b/.test(st.text))
		throw new Error("the change was not applied and verified: " + st.text);
	ok("applied and verified: runtime and permanent \"added\", the listener \"open\" after the change");
	await shot(page, "admin-applied");
	await frame.click("#pc-dialog-close");

	const after = await waitRow80(frame, r => r.exposure.trim() === "open", "open");
	ok(`the row of 80/tcp says "${after[0].exposure.trim()}" now; why: ${after[0].why.trim()}`);
	await shot(page, "admin-open");

	// Close offers the reverse, dry run first; the window is closed without applying.
	const closeBtn = await frame.waitForSelector("tr.pc-listener[data-port='80'][data-protocol='tcp'] button.pc-close", { visible: true, timeout: STEP_MS });
	await closeBtn.click();
	await frame.waitForSelector("#pc-change-dialog[open]", { visible: true, timeout: STEP_MS });
	st = await dialogState(frame, ["dry-run", "error"]);
	if (st.state !== "dry-run" || !/would remove/.test(st.text))
		throw new Error("Close did not show its dry run: " + st.text);
	ok("Close http shows its dry run (\"would remove\"); closed without applying");
	await shot(page, "admin-close-dry-run");
	await frame.click("#pc-dialog-close");
	await waitRow80(frame, r => r.exposure.trim() === "open", "open (still, after a Close dry run)");

	// Explain: a source that is no address is the daemon's BadRequest, shown as such.
	await frame.type("#pc-explain-port", "80/tcp");
	await frame.type("#pc-explain-from", "not-an-address");
	await frame.click("#pc-explain-form button[type='submit']");
	await frame.waitForFunction(() => /cannot explain this/.test((document.querySelector("#pc-explain-out") || {}).innerText || ""),
		{ timeout: STEP_MS }).catch(async () => {
		const t = await frame.evaluate(() => document.querySelector("#pc-explain-out").innerText).catch(() => "");
		throw new Error("a bad source address is not shown as a bad request: " + t);
	});
	ok("Explain from \"not-an-address\": \"portcheckd cannot explain this\" with the daemon's reason");
	await frame.$eval("#pc-explain-from", e => { e.value = ""; });

	// Explain a connection from the client's address.
	await frame.type("#pc-explain-from", "198.51.100.2");
	await frame.click("#pc-explain-form button[type='submit']");
	await frame.waitForFunction(() => {
		const a = document.querySelector("#pc-explain-answer");
		return a && /accept/.test(a.innerText) && document.querySelector("table.pc-trace");
	}, { timeout: STEP_MS });
	ok("Explain 80/tcp from 198.51.100.2: verdict accept, with the rule trace");
	await frame.evaluate(() => document.querySelector("#pc-explain-out").scrollIntoView());
	await shot(page, "admin-explain");

	// History: the journal entries, newest first ("reachable again" above "became blocked").
	const deadline = Date.now() + STEP_MS;
	let hist = "";
	while (Date.now() < deadline) {
		await frame.click("#pc-history-refresh");
		await new Promise(r => setTimeout(r, 1000));
		hist = await frame.evaluate(() => (document.querySelector("#pc-history") || {}).innerText || "");
		const again = hist.indexOf("reachable again"), blocked = hist.indexOf("became blocked");
		if (again >= 0 && blocked > again)
			break;
	}
	if (!(hist.indexOf("reachable again") >= 0 && hist.indexOf("became blocked") > hist.indexOf("reachable again")))
		throw new Error("the history does not list \"reachable again\" above \"became blocked\": " + hist.slice(0, 800));
	ok("the history lists 80/tcp \"reachable again\" above \"became blocked\" (newest first)");
	await frame.evaluate(() => document.querySelector("#pc-history").scrollIntoView());
	await shot(page, "admin-history");
	// Back to the top: the picture for the README.
	await frame.evaluate(() => window.scrollTo(0, 0));
	await shot(page, "admin-final");

	// Cockpit's dark theme: the shell stores the choice, the page follows it.
	await page.evaluate(() => {
		localStorage.setItem("shell:style", "dark");
		window.dispatchEvent(new CustomEvent("cockpit-style", { detail: { style: "dark" } }));
	});
	await frame.waitForFunction(() => document.documentElement.classList.contains("pf-theme-dark") &&
		getComputedStyle(document.body).backgroundColor !== "rgb(240, 240, 240)", { timeout: STEP_MS });
	ok("the page follows Cockpit's dark theme (html.pf-theme-dark, dark background)");
	await shot(page, "admin-dark");
	await page.evaluate(() => localStorage.setItem("shell:style", "auto"));
}

// The page in German: cockpit-bridge answers po.js with the package's po.de.js when the
// browser asks for German (Cockpit's language cookie and Accept-Language).
async function phaseGerman(page) {
	await page.setExtraHTTPHeaders({ "Accept-Language": "de-DE,de;q=0.9" });
	const host = URL.replace(/^https?:\/\//, "").replace(/[:/].*$/, ""); // an IPv4 address here
	await page.setCookie({ name: "CockpitLang", value: "de", domain: host, path: "/" });
	await login(page);
	await page.goto(URL + "/portcheck", { waitUntil: "domcontentloaded", timeout: STEP_MS });
	const frame = await portcheckFrame(page);
	await frame.waitForFunction(() => {
		const h = document.querySelector("h1");
		const th = [...document.querySelectorAll("#pc-status-table th")].map(t => t.textContent);
		return h && h.textContent === "Lauschende Ports" && th.includes("Erreichbarkeit") &&
			document.querySelector("tr.pc-listener .pc-exposure-open") &&
			document.querySelector("tr.pc-listener .pc-exposure-open").textContent === "offen";
	}, { timeout: STEP_MS }).catch(async () => {
		const t = await frame.evaluate(() => document.body.innerText).catch(() => "");
		throw new Error("the page is not in German; it says: " + t.slice(0, 400));
	});
	ok("in German (po.de.js): heading \"Lauschende Ports\", column \"Erreichbarkeit\", exposure \"offen\"");
	await shot(page, "german");
}

// A user neither root nor in group portcheck: the daemon refuses Status; the page says
// what to do.
async function phaseDenied(page) {
	await login(page);
	const frame = await openPage(page);
	await frame.waitForFunction(u => {
		const s = document.querySelector("#pc-state");
		return s && /You may not read the firewall.s state/.test(s.innerText) && s.innerText.includes("usermod -aG portcheck " + u + " ");
	}, { timeout: STEP_MS }, USER).catch(async () => {
		const t = await frame.evaluate(() => document.body.innerText).catch(() => "");
		throw new Error("no \"You may not read\" message with what to do; the page says: " + t.slice(0, 600));
	});
	const rows = await frame.evaluate(() => document.querySelectorAll("tr.pc-listener").length);
	if (rows !== 0)
		throw new Error(`the page shows ${rows} listeners to a user the daemon refused`);
	ok("a user outside group portcheck is told to turn on administrative access or join the group, and sees no listeners");
	await shot(page, "denied");
}

// portcheckd's socket is stopped: the page says so, and what to do.
async function phaseNoDaemon(page) {
	await login(page);
	const frame = await openPage(page);
	await frame.waitForFunction(() => {
		const s = document.querySelector("#pc-state");
		return s && /portcheckd is not running/.test(s.innerText) && /systemctl start portcheckd\.socket/.test(s.innerText);
	}, { timeout: STEP_MS }).catch(async () => {
		const t = await frame.evaluate(() => document.body.innerText).catch(() => "");
		throw new Error("no \"portcheckd is not running\" message with the command to start it; the page says: " + t.slice(0, 600));
	});
	ok("with portcheckd.socket stopped the page says \"portcheckd is not running\" and how to start it");
	await shot(page, "no-daemon");
}

// The admin asks for the dry run and closes the dialog: the shell then checks, with a
// probe and firewall-cmd, that a dry run changed nothing (the page cannot tell).
async function phaseDryRun(page) {
	await login(page);
	const frame = await openPage(page);
	await waitRow80(frame, isBlockedWithFix, "blocked with zone public and a fix");
	await pressFix(frame);
	await frame.click("#pc-scope-permanent");
	const st = await dialogState(frame, ["dry-run", "error"]);
	if (st.state !== "dry-run" || !/would add/.test(st.text))
		throw new Error("no dry run shown: " + st.text);
	ok("the admin's dry run says \"would add\"; the dialog is closed without applying");
	await frame.click("#pc-dialog-close");
}

async function phaseRefused(page) {
	await login(page);
	const frame = await openPage(page);
	const before = await waitRow80(frame, isBlockedWithFix, "blocked with zone public and a fix");
	ok(`without administrative access the page still reads the status (group portcheck): 80/tcp "${before[0].exposure.trim()}"`);
	await pressFix(frame);
	const st = await dialogState(frame, ["dry-run", "error", "applied"]);
	if (st.state !== "error" || !/Not permitted/.test(st.text))
		throw new Error("expected the refusal, the dialog shows: " + st.text);
	const applyEnabled = await frame.evaluate(() => !document.querySelector("#pc-apply").disabled);
	if (applyEnabled)
		throw new Error("the Open button is enabled after a refusal");
	ok("pressing Open shows the refusal (\"Not permitted\") and nothing can be applied");
	await shot(page, "refused");
	await frame.click("#pc-dialog-close");
	const after = await row80(frame);
	if (!after.every(r => r.exposure.trim() === "blocked"))
		throw new Error("80/tcp changed after a refused Open: " + JSON.stringify(after));
	ok("80/tcp is still shown blocked");
}

(async () => {
	let page = null;
	try {
		browser = await puppeteer.launch({
			executablePath: env.PC_CHROMIUM || "/usr/bin/chromium",
			pipe: true, // DevTools over a pipe: no debugging port at all
			acceptInsecureCerts: true,
			defaultViewport: { width: 1400, height: 950 },
			args: [
				"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
				"--disable-background-networking", "--disable-component-update", "--disable-sync",
				"--ignore-certificate-errors", "--disable-dev-shm-usage",
				`--user-data-dir=${env.PC_PROFILE}`,
			],
			timeout: STEP_MS,
		});
		page = await browser.newPage();
		page.setDefaultTimeout(STEP_MS);
		page.on("pageerror", e => console.log(`# page error: ${e.message}`));
		page.on("console", m => { if (m.type() === "error") console.log(`# console: ${m.text()}`); });
		if (PHASE === "admin")
			await phaseAdmin(page);
		else if (PHASE === "refused")
			await phaseRefused(page);
		else if (PHASE === "dryrun")
			await phaseDryRun(page);
		else if (PHASE === "german")
			await phaseGerman(page);
		else if (PHASE === "denied")
			await phaseDenied(page);
		else if (PHASE === "nodaemon")
			await phaseNoDaemon(page);
		else
			throw new Error("PC_PHASE must be admin, dryrun, refused, german, denied or nodaemon");
		clearTimeout(watchdog);
		await browser.close();
		process.exit(0);
	} catch (e) {
		console.log(`FAIL - ${e.message}`);
		if (page)
			await shot(page, "failure").catch(() => {});
		clearTimeout(watchdog);
		if (browser)
			await Promise.race([browser.close(), new Promise(r => setTimeout(r, 5000))]).catch(() => {});
		process.exit(1);
	}
})();
