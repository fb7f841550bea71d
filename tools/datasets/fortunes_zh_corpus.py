#!/usr/bin/python3
"""Build a small class-per-folder Chinese text corpus from Debian's fortunes-zh (for the character tokenizer).

Python 3 standard library only.

    /usr/bin/python3 tools/datasets/fortunes_zh_corpus.py OUT [--source DIR] [--test-percent P]

SOURCE (default /usr/share/games/fortunes, package fortunes-zh 2.98) holds three fortune files,
UTF-8, entries separated by lines holding a single '%'. Each entry is one text, labelled by its file:
    tang300   Tang poems (唐诗三百首), 313 entries
    song100   Song poems (宋诗一百首), 94 entries
    chinese   sayings and quotations, many from Debian's documents, 5263 entries
The texts are the entries' bodies: ANSI colour codes removed, and the title line ("《…》" or
"题目:《…》"), the author line ("作者：…") and attribution lines ("-- …") dropped, since they name
the source rather than being its text; entries left empty are skipped. A text goes to the test split
when the 64-bit FNV-1a hash of its file name "<class>-<index>.txt" (index: 5 digits, the entry's
position in its file) modulo 1,000,000 is below P * 10,000 (default P = 20), as VecQ.Datasets'
TextFolderCorpus.IsTestFile.

Output (OUT must not exist or be empty):
    OUT/train/<class>/<class>-<index>.txt, OUT/test/<class>/<class>-<index>.txt, OUT/manifest.json
"""

import argparse
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wordnet_corpus import is_test  # noqa: E402  (the one train/test split rule, TextFolderCorpus.IsTestFile's)

FILES = ["chinese", "song100", "tang300"]
ANSI = re.compile(r"\x1b\[[0-9;]*m?")  # colour codes; the file also has a few broken ones ("\x1b[;\x1b[;m")
DROP = re.compile(r"^\s*(《[^》]*》.*|题目\s*[:：].*|作者\s*[:：].*|--.*|—— .*)$")


def entries(path):
    with open(path, "rb") as f:
        text = f.read().decode("utf-8")  # strict: a bad byte is an error naming the file
    parts = re.split(r"\n%\n", text.replace("\r\n", "\n"))
    if parts and parts[-1].rstrip("\n") == "%":
        parts[-1] = ""
    for i, part in enumerate(parts):
        while ANSI.search(part):
            part = ANSI.sub("", part)
        lines = [ln.rstrip() for ln in part.split("\n")]
        body = [ln for ln in lines if not DROP.match(ln)]
        body = "\n".join(body).strip("\n")
        yield i, body


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--source", default="/usr/share/games/fortunes")
    ap.add_argument("--test-percent", type=float, default=20.0)
    a = ap.parse_args()
    for f in FILES:
        if not os.path.exists(os.path.join(a.source, f)):
            raise SystemExit(f"{os.path.join(a.source, f)} not found: install Debian's package fortunes-zh (apt-get install fortunes-zh)")
    if not 0 < a.test_percent < 100:
        raise SystemExit("--test-percent must be between 0 and 100")
    if os.path.exists(a.out) and os.listdir(a.out):
        raise SystemExit(f"{a.out} exists and is not empty")
    counts = {"train": {c: 0 for c in FILES}, "test": {c: 0 for c in FILES}}
    for split in counts:
        for c in FILES:
            os.makedirs(os.path.join(a.out, split, c), exist_ok=True)
    for c in FILES:
        for i, body in entries(os.path.join(a.source, c)):
            if not body.strip():
                continue
            name = f"{c}-{i:05d}.txt"
            split = "test" if is_test(name, a.test_percent) else "train"
            with open(os.path.join(a.out, split, c, name), "w", encoding="utf-8", newline="\n") as f:
                f.write(body + "\n")
            counts[split][c] += 1
    manifest = {"source": a.source, "classes": FILES, "test_percent": a.test_percent, "counts": counts,
                "train": sum(counts["train"].values()), "test": sum(counts["test"].values())}
    with open(os.path.join(a.out, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2, ensure_ascii=False)
        f.write("\n")
    for c in FILES:
        print(f"{c:10s} train {counts['train'][c]:5d}  test {counts['test'][c]:5d}")
    print(f"{'total':10s} train {manifest['train']:5d}  test {manifest['test']:5d}")


if __name__ == "__main__":
    sys.exit(main())
