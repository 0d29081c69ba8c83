/* SPDX-License-Identifier: MIT */
/* ../base1/cockpit.js is a classic script that sets window.cockpit; this hands it to the
 * page's modules. */
export default window.cockpit;
