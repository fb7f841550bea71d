#!/usr/bin/python3
"""Rewrites the accuracy table of docs/RESULTS.md from docs/results/train-wKaJ.json (the runs present)."""
import os
import re
import subprocess

order = ["w32a32", "w2a32", "w4a32", "w8a32", "w2a8", "w4a8", "w8a8", "w1a32"]
root = os.path.join(os.path.dirname(__file__), "..", "..")
files = [os.path.join(root, "docs/results", f"train-{n}.json") for n in order]
present = [f for f in files if os.path.exists(f)]
missing = [n for n, f in zip(order, files) if not os.path.exists(f)]
table = subprocess.run(["/usr/bin/python3", os.path.join(root, "tools/results/tables.py"), "accuracy", *present],
                       capture_output=True, text=True, check=True).stdout.strip()
if missing:
    table += "\n\n(Not measured yet: " + ", ".join(n.replace("w", "W").replace("a", "/A") for n in missing) + ".)"
path = os.path.join(root, "docs/RESULTS.md")
text = open(path).read()
begin, end = "<!-- accuracy table: tools/results/update_accuracy.py -->", "<!-- end accuracy table -->"
if begin not in text:
    sys_exit = "docs/RESULTS.md has no accuracy-table markers"
    raise SystemExit(sys_exit)
text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: begin + "\n" + table + "\n" + end, text, flags=re.S)
open(path, "w").write(text)
print(table)
