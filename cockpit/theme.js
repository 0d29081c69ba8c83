/* SPDX-License-Identifier: MIT */
/*
 * Cockpit 287's dark theme as its own pages follow it (pkg/lib/cockpit-dark-theme.js):
 * the shell keeps the choice in localStorage "shell:style" ("auto", "light", "dark")
 * and pages mark <html> with the class pf-theme-dark. Pages of a package without the
 * bundled library do it themselves, here.
 */
function apply(style) {
	const choice = style || window.localStorage.getItem("shell:style") || "auto";
	const prefersDark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
	const dark = choice === "dark" || (choice === "auto" && prefersDark);
	document.documentElement.classList.toggle("pf-theme-dark", dark);
}

export function followTheme() {
	apply();
	/* The shell changes the setting in its own document: a storage event here. */
	window.addEventListener("storage", ev => {
		if (ev.key === "shell:style")
			apply();
	});
	window.addEventListener("cockpit-style", ev => apply(ev.detail && ev.detail.style));
	if (window.matchMedia)
		window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => apply());
}
