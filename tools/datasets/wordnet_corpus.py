#!/usr/bin/python3
"""Build a class-per-folder English text corpus from WordNet's noun glosses (Debian package wordnet-base).

Python 3 standard library only.

    /usr/bin/python3 tools/datasets/wordnet_corpus.py OUT [--source DIR] [--classes N] [--test-percent P]

Every noun synset of SOURCE/data.noun (default /usr/share/wordnet, WordNet 3.0) is one text: its
gloss (the definition and the quoted examples after the '|'), labelled by the synset's
lexicographer file (the lex_filenum field: 06 = noun.artifact, 18 = noun.person, ...; the names
are lexnames(5WN)'s). The N largest noun classes are kept (default 10; ties by name), giving
63,245 texts with WordNet 3.0 (50,465 train, 12,780 test). The split is fixed and deterministic: a synset goes to the test
split when the 64-bit FNV-1a hash of "<offset>.txt" (its 8-digit byte offset in data.noun plus
".txt", UTF-8) modulo 1,000,000 is below P * 10,000 (default P = 20), the same rule as
VecQ.Datasets' TextFolderCorpus.IsTestFile, so the split depends on nothing but the synset.

Output (OUT must not exist or be empty):
    OUT/train/<class>/<offset>.txt    one gloss per file, UTF-8 (ASCII here), ending in a newline
    OUT/test/<class>/<offset>.txt
    OUT/manifest.json                 source, WordNet version line, classes, counts per split and class
Read it with `vecq train --dataset textfolder --data OUT` (TextDatasetCatalog.Load("textfolder", ...)).
"""

import argparse
import json
import os
import sys

# lexnames(5WN): lexicographer file numbers and names (WordNet 3.0).
LEXNAMES = [
    "adj.all", "adj.pert", "adv.all", "noun.Tops", "noun.act", "noun.animal", "noun.artifact",
    "noun.attribute", "noun.body", "noun.cognition", "noun.communication", "noun.event",
    "noun.feeling", "noun.food", "noun.group", "noun.location", "noun.motive", "noun.object",
    "noun.person", "noun.phenomenon", "noun.plant", "noun.possession", "noun.process",
    "noun.quantity", "noun.relation", "noun.shape", "noun.state", "noun.substance", "noun.time",
    "verb.body", "verb.change", "verb.cognition", "verb.communication", "verb.competition",
    "verb.consumption", "verb.contact", "verb.creation", "verb.emotion", "verb.motion",
    "verb.perception", "verb.possession", "verb.social", "verb.stative", "verb.weather", "adj.ppl",
]


def fnv1a64(data):
    h = 14695981039346656037
    for b in data:
        h ^= b
        h = (h * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def is_test(name, percent):
    """TextFolderCorpus.IsTestFile(name, percent / 100)."""
    return fnv1a64(name.encode("utf-8")) % 1000000 < round(percent * 10000)


def read_synsets(path):
    """[(offset, lexname, gloss)] of data.noun; every line checked against its own offset."""
    out = []
    version = None
    with open(path, "rb") as f:
        data = f.read()
    pos = 0
    for raw in data.split(b"\n"):
        start = pos
        pos += len(raw) + 1
        if not raw:
            continue
        line = raw.decode("ascii")
        if line.startswith("  "):  # the license header
            words = line.split()
            if version is None and "WordNet" in words and words.index("WordNet") + 1 < len(words):
                version = "WordNet " + words[words.index("WordNet") + 1]  # "WordNet 3.0 Copyright 2006 ..."
            continue
        fields = line.split(" ")
        offset = fields[0]
        if len(offset) != 8 or not offset.isdigit() or int(offset) != start:
            raise SystemExit(f"{path}: line at byte {start} has offset field {offset!r}; not a WordNet data file")
        lex = int(fields[1])
        if fields[2] != "n" or not 3 <= lex <= 28:
            raise SystemExit(f"{path}: synset {offset} has type {fields[2]!r} and lex_filenum {lex}; expected a noun (03..28)")
        if " | " not in line:
            raise SystemExit(f"{path}: synset {offset} has no gloss")
        gloss = line.split(" | ", 1)[1].strip()
        if not gloss:
            raise SystemExit(f"{path}: synset {offset} has an empty gloss")
        out.append((offset, LEXNAMES[lex], gloss))
    return out, version


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--source", default="/usr/share/wordnet")
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--test-percent", type=float, default=20.0)
    a = ap.parse_args()
    path = os.path.join(a.source, "data.noun")
    if not os.path.exists(path):
        raise SystemExit(f"{path} not found: install Debian's package wordnet-base (apt-get install wordnet-base)")
    if not 0 < a.test_percent < 100:
        raise SystemExit("--test-percent must be between 0 and 100")
    if a.classes < 2:
        raise SystemExit("--classes must be at least 2")
    if os.path.exists(a.out) and os.listdir(a.out):
        raise SystemExit(f"{a.out} exists and is not empty")

    synsets, version = read_synsets(path)
    sizes = {}
    for _, lex, _ in synsets:
        sizes[lex] = sizes.get(lex, 0) + 1
    kept = sorted(sizes, key=lambda c: (-sizes[c], c))[: a.classes]
    keep = set(kept)
    counts = {"train": {c: 0 for c in sorted(kept)}, "test": {c: 0 for c in sorted(kept)}}
    for split in counts:
        for c in kept:
            os.makedirs(os.path.join(a.out, split, c), exist_ok=True)
    for offset, lex, gloss in synsets:
        if lex not in keep:
            continue
        name = offset + ".txt"
        split = "test" if is_test(name, a.test_percent) else "train"
        with open(os.path.join(a.out, split, lex, name), "w", encoding="utf-8", newline="\n") as f:
            f.write(gloss + "\n")
        counts[split][lex] += 1
    manifest = {
        "source": path,
        "wordnet": version,
        "classes": sorted(kept),
        "test_percent": a.test_percent,
        "counts": counts,
        "train": sum(counts["train"].values()),
        "test": sum(counts["test"].values()),
    }
    with open(os.path.join(a.out, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2, ensure_ascii=False)
        f.write("\n")
    for c in sorted(kept):
        print(f"{c:24s} train {counts['train'][c]:6d}  test {counts['test'][c]:6d}")
    print(f"{'total':24s} train {manifest['train']:6d}  test {manifest['test']:6d}  ({manifest['train'] + manifest['test']} texts, {len(kept)} classes)")


if __name__ == "__main__":
    sys.exit(main())
