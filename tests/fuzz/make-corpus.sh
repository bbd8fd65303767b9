#!/usr/bin/env bash
# Regenerates the small valid seed files of the fuzz corpora (tests/fuzz/corpus/<parser>/; committed).
# Needs Debian's /usr/bin/python3 (struct/json only). Usage: tests/fuzz/make-corpus.sh [OUTDIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
/usr/bin/python3 tests/fuzz/make_corpus.py "${1:-tests/fuzz/corpus}"
