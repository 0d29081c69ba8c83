#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/lab/srcform.py, the decider of a path's "sources" form (issue #9) that the
# differential lab test's status cross-check relies on: every literal kind, "not",
# empty conjunctions, concatenations with concrete parts, verdict-map data, and
# which_path's one-path rule (overlapping or missing paths are errors), on hand-written
# forms and set listings in nft -j's shapes (tests/units/test_srcform.py). No root, no
# nft, no build; exit 77 (skipped) without python3.
#
#   tests/units/test_srcform.sh [SRCFORM_PY]   (another file: check that a mutant is caught)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
command -v python3 >/dev/null || { echo "SKIP: no python3" >&2; exit 77; }
exec python3 "$here/test_srcform.py" "$@"
