#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The layers of docs/architecture.md, checked on the includes: a lower layer never
# includes a higher one, the engine never includes the I/O side of the sources, and the
# client never includes the daemon's headers. No build, no root.
#
#   tests/units/test_layers.sh [SOURCE_DIR]
#
# Every header of include/portcheck/ and every file under common/, client/ and daemon/
# must have a layer below; a new one without is a failure, so the table stays complete.
set -euo pipefail
src=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
exec python3 - "$src" <<'PY'
import os, re, sys

src = sys.argv[1]
RANK = {"common": 0, "sources": 1, "sources-io": 1, "engine": 2, "report": 3, "fix": 4,
        "service": 5, "portcheckd": 6}
# include/portcheck/*.h: the layer whose code implements (or owns the types of) each.
HEADERS = {
    "addr.h": "common", "util.h": "common", "strsan.h": "common", "config.h": "common",
    "varlink.h": "common", "fwspec.h": "common", "status_view.h": "common", "strbuf.h": "common", "rcstr.h": "common",
    "listener.h": "sources", "netif.h": "sources", "nft.h": "sources",
    "firewalld.h": "sources", "fwzone.h": "sources",
    "sysbus.h": "sources-io",
    "verdict.h": "engine", "nftvm.h": "engine", "srcspace.h": "engine", "srcdim.h": "engine", "portclass.h": "engine", "report.h": "engine", "route.h": "engine",
    "status.h": "report", "freshness.h": "report", "exposure_track.h": "report",
    "fwchange.h": "fix", "open.h": "fix", "polkit.h": "fix",
    "varlink_server.h": "service", "watch.h": "service", "bg_analysis.h": "service",
    "check.h": "client", "render.h": "client", "textfile.h": "client",
    "varlink_client.h": "client",
}
# Private headers beside their code: the sources' I/O internals.
PRIVATE_IO = {"nlutil.h", "nftsnap.h", "nftsnap_policy_tables.h"}
FOLDERS = {"common": "common", "client": "client", "daemon/sources": "sources",
           "daemon/engine": "engine", "daemon/report": "report", "daemon/fix": "fix",
           "daemon/service": "service", "daemon/portcheckd": "portcheckd"}

def layer_of_file(rel):
    if rel.startswith("include/portcheck/"):
        return HEADERS.get(os.path.basename(rel))
    folder = os.path.dirname(rel)
    return FOLDERS.get(folder)

def allowed(own, inc, inc_name):
    if own == "client" or inc == "client":
        return own == "client" and inc in ("common", "client")
    if own == "engine" and (inc == "sources-io" or inc_name in PRIVATE_IO):
        return False
    return RANK[inc] <= RANK[own]

errors = []
files = []
for top in ("include/portcheck", "common", "client", "daemon"):
    for root, _, names in os.walk(os.path.join(src, top)):
        for n in sorted(names):
            if n.endswith((".c", ".h")):
                files.append(os.path.relpath(os.path.join(root, n), src))
checked = 0
for rel in sorted(files):
    own = layer_of_file(rel)
    if own is None:
        errors.append(f"{rel}: no layer (add it to tests/units/test_layers.sh and "
                      "docs/architecture.md)")
        continue
    if own == "sources" and os.path.basename(rel) == "sysbus.h":
        own = "sources-io"
    with open(os.path.join(src, rel), encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
            if not m:
                continue
            name = m.group(1)
            base = os.path.basename(name)
            if name.startswith("portcheck/"):
                inc = HEADERS.get(base)
                if inc is None:
                    errors.append(f"{rel}:{lineno}: {name} has no layer")
                    continue
            elif base in PRIVATE_IO:
                inc = "sources-io"
            else:
                # A private header beside the file (nftvm_internal.h, daemon.h, ...) or a
                # relative path: the layer of the folder it resolves to.
                path = os.path.normpath(os.path.join(os.path.dirname(rel), name))
                inc = layer_of_file(path)
                if inc is None:
                    errors.append(f"{rel}:{lineno}: {name} is outside the layers")
                    continue
            checked += 1
            if not allowed(own, inc, base):
                errors.append(f"{rel}:{lineno}: {own} includes {name} ({inc})")
for e in errors:
    print("FAIL:", e)
if errors:
    sys.exit(1)
print(f"PASS: {checked} includes in {len(files)} files keep to the layers")
PY
