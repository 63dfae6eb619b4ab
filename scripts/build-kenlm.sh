#!/usr/bin/env bash
# Build KenLM's lmplz and build_binary (the trigram word LM of paper 001's hybrid decoding) from the kenlm source
# release on PyPI (crossdistill.data.asr.word_lm.KENLM_SOURCE: it ships lmplz's sources and a CMakeLists.txt) and
# install them beside the project's Python (first argument, default .venv/bin/python), where
# crossdistill.data.asr.word_lm.find_kenlm_tool looks. Needs cmake, g++ and the Boost dev packages
# (word_lm.KENLM_BUILD_PACKAGES; scripts/install-system-packages.sh installs them and then runs this script).
# Idempotent. Prints one line and exits 0 when it cannot build (a tool or the download missing): everything else,
# tests included, works without lmplz (those tests skip, saying why).
set -u
PYTHON_BIN="${1:-.venv/bin/python}"
BIN_DIR="$(dirname "$PYTHON_BIN")"
if [ -x "$BIN_DIR/lmplz" ] && [ -x "$BIN_DIR/build_binary" ]; then
    echo "build-kenlm: lmplz and build_binary are installed in $BIN_DIR"
    exit 0
fi
NEEDS="hybrid decoding's word LM (crossdistill asr decode; docs/asr.md)"
skip() {
    echo "build-kenlm: skipped building lmplz ($1); $NEEDS needs it"
    exit 0
}
for tool in cmake make g++; do
    command -v "$tool" >/dev/null 2>&1 || skip "no $tool"
done
[ -f /usr/include/boost/program_options.hpp ] || skip "no Boost headers: install libboost-program-options-dev"
SOURCE=$("$PYTHON_BIN" -c 'from crossdistill.data.asr.word_lm import KENLM_SOURCE; print(KENLM_SOURCE)') \
    || skip "cannot read the kenlm version with $PYTHON_BIN (install the project first)"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
LOG=/tmp/crossdistill-kenlm-build.log
"$PYTHON_BIN" -m pip download --quiet --no-deps --no-binary kenlm "$SOURCE" -d "$WORK" >"$LOG" 2>&1 \
    || skip "cannot download the $SOURCE source release, see $LOG"
tar -xzf "$WORK"/kenlm-*.tar.gz -C "$WORK" || skip "cannot unpack the $SOURCE source release"
mkdir -p "$WORK/build"
(cd "$WORK/build" && cmake "$WORK"/kenlm-*/ -DCMAKE_BUILD_TYPE=Release -DCOMPILE_TESTS=OFF >>"$LOG" 2>&1 \
    && make -j "$(nproc)" lmplz build_binary >>"$LOG" 2>&1) || skip "the build failed, see $LOG"
install -m 755 "$WORK/build/bin/lmplz" "$WORK/build/bin/build_binary" "$BIN_DIR/" || skip "cannot write to $BIN_DIR"
echo "build-kenlm: built lmplz and build_binary from $SOURCE into $BIN_DIR"
