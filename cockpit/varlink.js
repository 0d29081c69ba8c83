/* SPDX-License-Identifier: MIT */
/*
 * A minimal Varlink client over a Cockpit "stream" channel to portcheckd's Unix socket.
 *
 * One channel per call: portcheckd closes idle connections after 60 s and the page
 * polls every few seconds, so a long-lived connection would only add reconnect logic.
 * The channel is binary: a chunk may end in the middle of a UTF-8 sequence or of a
 * message, and may hold several messages; messages are split on the NUL byte first and
 * only whole messages are decoded.
 */
import cockpit from "./cockpit-shim.js";

export const SOCKET = "/run/portcheck/portcheck.sock";
const MAX_REPLY = 32 * 1024 * 1024; /* the daemon sends at most 16 MiB per reply */

/* An error the page can explain: kind is "no-daemon", "denied", "varlink", "transport". */
export class CallError extends Error {
	constructor(kind, message, varlinkError, parameters) {
		super(message);
		this.kind = kind;
		this.varlinkError = varlinkError || null;
		this.parameters = parameters || {};
	}
}

/* Splits a byte stream into NUL-terminated messages; keeps the unfinished tail. */
export class MessageSplitter {
	constructor() {
		this.parts = [];
		this.size = 0;
	}

	/* Feed one chunk (Uint8Array); returns the complete messages as strings. */
	push(chunk) {
		const out = [];
		const decoder = new TextDecoder("utf-8", { fatal: false });
		let start = 0;
		for (let i = 0; i < chunk.length; i++) {
			if (chunk[i] !== 0)
				continue;
			this.parts.push(chunk.subarray(start, i));
			out.push(decoder.decode(this.concat()));
			this.parts = [];
			this.size = 0;
			start = i + 1;
		}
		if (start < chunk.length) {
			this.parts.push(chunk.slice(start));
			this.size += chunk.length - start;
			if (this.size > MAX_REPLY)
				throw new CallError("transport", cockpit.gettext("The daemon's reply is too large."));
		}
		return out;
	}

	concat() {
		let n = 0;
		for (const p of this.parts)
			n += p.length;
		const all = new Uint8Array(n);
		let off = 0;
		for (const p of this.parts) {
			all.set(p, off);
			off += p.length;
		}
		return all;
	}
}

function closeError(options) {
	const problem = options.problem;
	/* No socket file (the socket unit is stopped) or nobody accepting on it. */
	if (problem === "not-found" || /refused|no such file/i.test(options.message || ""))
		return new CallError("no-daemon", cockpit.gettext("Nothing answers on its socket, ") + SOCKET + ".");
	if (problem === "access-denied" || problem === "not-authorized")
		return new CallError("denied", cockpit.gettext("You may not connect to portcheckd's socket."));
	return new CallError("transport", options.message || cockpit.message(options));
}

/*
 * call(method, parameters, {timeout}) -> Promise of the reply's parameters. Rejects with
 * a CallError; a Varlink error reply is kind "varlink" (kind "denied" for
 * PermissionDenied), with the error's name and parameters.
 */
export function call(method, parameters, options) {
	const timeoutMs = (options && options.timeout) || 60000;
	return new Promise((resolve, reject) => {
		const splitter = new MessageSplitter();
		let settled = false;
		const channel = cockpit.channel({
			payload: "stream",
			unix: SOCKET,
			superuser: "try",
			binary: true,
		});
		const finish = (fn, value) => {
			if (settled)
				return;
			settled = true;
			window.clearTimeout(timer);
			fn(value);
			channel.close();
		};
		const timer = window.setTimeout(() => {
			finish(reject, new CallError("transport", cockpit.gettext("portcheckd did not answer in time.")));
		}, timeoutMs);

		channel.addEventListener("message", (_ev, data) => {
			let messages;
			try {
				messages = splitter.push(data instanceof Uint8Array ? data : new Uint8Array(data));
			} catch (e) {
				finish(reject, e);
				return;
			}
			/* One call, one reply: the first whole message answers it. */
			if (messages.length === 0)
				return;
			let reply;
			try {
				reply = JSON.parse(messages[0]);
			} catch (e) {
				finish(reject, new CallError("transport", cockpit.gettext("portcheckd sent a reply that is not JSON.")));
				return;
			}
			if (reply === null || typeof reply !== "object") {
				finish(reject, new CallError("transport", cockpit.gettext("portcheckd sent a malformed reply.")));
			} else if (typeof reply.error === "string") {
				const kind = reply.error === "org.varlink.service.PermissionDenied" ? "denied" : "varlink";
				const p = reply.parameters && typeof reply.parameters === "object" ? reply.parameters : {};
				const text = typeof p.reason === "string" ? p.reason : reply.error;
				finish(reject, new CallError(kind, text, reply.error, p));
			} else {
				finish(resolve, reply.parameters && typeof reply.parameters === "object" ? reply.parameters : {});
			}
		});
		channel.addEventListener("close", (_ev, opts) => {
			if (!settled)
				finish(reject, opts && opts.problem ? closeError(opts)
					: new CallError("transport", cockpit.gettext("portcheckd closed the connection without an answer.")));
		});
		const message = JSON.stringify({ method, parameters: parameters || {} });
		const bytes = new TextEncoder().encode(message);
		const framed = new Uint8Array(bytes.length + 1);
		framed.set(bytes, 0); /* the last byte stays 0: the terminator */
		channel.send(framed);
	});
}
