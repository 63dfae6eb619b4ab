"""Measure the Debian LM text corpus: per source read + normalize time, documents, words; per part sizes.

Reads every source afresh (no cache) with one process, then splits as ``load_text_splits("debian", seed)``
does. Prints JSON. Run: .venv/bin/python scripts/measure_text.py [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import time

from crossdistill.data.asr.text import DEFAULT_FRACTIONS, SPLITS, normalize_documents, split_documents
from crossdistill.data.asr.text_sources import SOURCES, check_installed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    versions = check_installed()
    sources, documents = [], []
    for source in SOURCES:
        start = time.perf_counter()
        raw = source.read()
        read_s = time.perf_counter() - start
        normalized = normalize_documents(raw)
        normalize_s = time.perf_counter() - start - read_s
        documents.extend(normalized)
        sentences = [s for d in normalized for s in d.sentences]
        sources.append(
            {
                "name": source.name,
                "packages": {p: versions[p] for p in source.packages},
                "read_s": round(read_s, 2),
                "normalize_s": round(normalize_s, 2),
                "documents": len(normalized),
                "sentences": len(sentences),
                "words": sum(len(s.split()) for s in sentences),
            }
        )
    parts, groups = split_documents(documents, args.seed, DEFAULT_FRACTIONS["debian"])
    summary = {
        "sources": sources,
        "total_words": sum(s["words"] for s in sources),
        "total_s": round(sum(s["read_s"] + s["normalize_s"] for s in sources), 1),
        "parts": {
            p: {"sentences": len(parts[p]), "words": sum(len(s.split()) for s in parts[p]), "groups": len(groups[p])}
            for p in SPLITS
        },
        "lm_train_vocabulary": len({w for s in parts["lm_train"] for w in s.split()}),
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
