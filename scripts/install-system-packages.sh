#!/usr/bin/env bash
# Install the Debian packages that paper 001's LM text corpus reads (`load_text_splits(source="debian")`), those
# that building KenLM's lmplz needs (hybrid decoding's word LM) and the synthesis engines beyond eSpeak NG (flite,
# festival and its voices: `--engines`), then build lmplz (scripts/build-kenlm.sh).
# The lists come from crossdistill.data.asr.text_sources.PACKAGES, crossdistill.data.asr.word_lm.
# KENLM_BUILD_PACKAGES and crossdistill.data.engines.DEBIAN_PACKAGES (one definition each), read with the
# project's Python (first argument, default .venv/bin/python). Idempotent: installed packages are left alone.
# Where apt-get is missing, or we are neither root nor allowed passwordless sudo, or apt-get fails (no
# mirror reachable), it prints one line naming what is skipped and what needs it, and exits 0: everything
# else, tests included, works without these packages (the tests use the text sample shipped in the package).
set -u
PYTHON_BIN="${1:-.venv/bin/python}"
if ! PACKAGES=$("$PYTHON_BIN" -c 'from crossdistill.data.asr.text_sources import PACKAGES
from crossdistill.data.asr.word_lm import KENLM_BUILD_PACKAGES
from crossdistill.data.engines import DEBIAN_PACKAGES
print(*PACKAGES, *KENLM_BUILD_PACKAGES, *DEBIAN_PACKAGES)'); then
    echo "install-system-packages: cannot read the package list with $PYTHON_BIN (install the project first)" >&2
    exit 1
fi
NEEDS="the LM text corpus (load_text_splits(source=\"debian\"), docs/asr-text.md), building lmplz (docs/asr.md) and \
the flite and festival engines (--engines, docs/data.md)"
BUILD_KENLM="$(dirname "$0")/build-kenlm.sh"
missing=()
for package in $PACKAGES; do
    dpkg-query -W -f '${db:Status-Abbrev}' "$package" 2>/dev/null | grep -q '^ii' || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-system-packages: all Debian packages are installed"
    "$BUILD_KENLM" "$PYTHON_BIN"
    exit 0
fi
skip() {
    echo "install-system-packages: skipped ${missing[*]} ($1); $NEEDS needs them"
    exit 0
}
command -v apt-get >/dev/null 2>&1 || skip "no apt-get"
if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
else
    skip "not root and no passwordless sudo; run this script as root"
fi
install() {
    DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" \
        >/tmp/crossdistill-apt.log 2>&1
}
# A fresh machine may have no package lists yet: update once and retry.
install || { "${SUDO[@]}" apt-get update -qq >/tmp/crossdistill-apt.log 2>&1 && install; } \
    || skip "apt-get failed, see /tmp/crossdistill-apt.log"
echo "install-system-packages: installed ${missing[*]}"
"$BUILD_KENLM" "$PYTHON_BIN"
