#!/usr/bin/python3
"""Markdown tables for docs/RESULTS.md from the JSON lines `vecq ... --json` prints.

Usage:
  tables.py accuracy RUN_DIR_LOGS...   each argument a file whose last line is `vecq train --json` output
  tables.py sized [--scales S] FILE... [--scales S2] FILE...   the same with the model's size (float, or its packed
                                       k-bit weights) in MiB; --scales labels the following runs whose JSON predates
                                       the "granularity"/"lambda" keys
  tables.py theory FILE                last line: `vecq theory --json` output
  tables.py dql FILE                   last line: `vecq dql --json` output
  tables.py integer FILE...            each last line `vecq eval --checkpoint F.vecq --compare --json` output: the integer
                                       path against the float simulation of the same file
Nothing is typed in: every number comes from those JSON objects.
"""
import json
import sys
from collections import defaultdict


def last_json(path):
    with open(path) as f:
        lines = [l for l in f if l.startswith("{")]
    if not lines:
        sys.exit(f"{path}: no JSON line (was it written with --json?)")
    return json.loads(lines[-1])


def accuracy(paths):
    runs = [last_json(p) for p in paths]
    base = next((r for r in runs if r["wbits"] == 32 and r["abits"] == 32), None)
    epochs = sorted({r["epochs"] for r in runs})
    after = f"after epoch {epochs[0]}" if len(epochs) == 1 else "at the end"
    print(f"| W/A | activation quantizer | test accuracy {after} | best epoch | vs float | per epoch (%) | peak memory |")
    print("|---|---|---|---|---|---|---|")
    for r in runs:
        acc = 100 * r["test_accuracy"]
        delta = "" if base is None or r is base else f"{acc - 100 * base['test_accuracy']:+.2f}"
        per = ", ".join(f"{100 * a:.2f}" for a in r["epoch_accuracies"])
        print(f"| {r['wbits']}/{r['abits']} | {act_quant(r)} | {acc:.2f}% | {100 * r['best_accuracy']:.2f}% | {delta} | {per} | {r['peak_memory_mb']:.0f} MB |")


def sized(args):
    """Accuracy rows with the model size: float32 bytes for float weights, else the packed k-bit bytes (vecq export's).
    The weight quantizer's scales and λ come from the run's "granularity" and "lambda" keys; for JSON from before
    those keys, `--scales LABEL` labels the files after it (until the next --scales)."""
    runs, labels, label = [], [], None
    i = 0
    while i < len(args):
        if args[i] == "--scales":
            label = args[i + 1]
            i += 2
            continue
        runs.append(last_json(args[i]))
        labels.append(label)
        i += 1
    base = next((r for r in runs if r["wbits"] == 32 and r["abits"] == 32), None)
    print("| W/A | size (MiB) | weight scales | test accuracy | best epoch | vs float | per epoch (%) | seconds |")
    print("|---|---|---|---|---|---|---|---|")
    for r, lab in zip(runs, labels):
        acc = 100 * r["test_accuracy"]
        delta = "" if base is None or r is base else f"{acc - 100 * base['test_accuracy']:+.2f}"
        size = (r["model_bytes_float"] if r["wbits"] == 32 else r["model_bytes_quantized"]) / 2 ** 20
        if r["wbits"] == 32:
            scales = "–"
        elif "granularity" in r:
            scales = ("per channel" if r["granularity"] == "channel" else "per tensor") + (", exact λ" if r.get("lambda") == "exact" else ", λ_k")
        else:
            scales = lab or "?"
        per = ", ".join(f"{100 * a:.2f}" for a in r["epoch_accuracies"])
        print(f"| {r['wbits']}/{r['abits']} | {size:.2f} | {scales} | {acc:.2f}% | {100 * r['best_accuracy']:.2f}% | {delta} | {per} | {r['seconds']:.0f} |")


def act_quant(run):
    """--act-quant of a run: runs from before the option existed (no "act_quant" key) used `searched`."""
    if run["abits"] >= 32:
        return "–"
    return run.get("act_quant") or "searched"


def theory(path):
    d = last_json(path)
    ul2q = all("lambda_ul2q" in r for r in d["lambdas"])   # files from before μL2Q had its own λ lack it
    print("| bits | λ_k (σ units) | E[J_o] at λ_k | normalised DQL (1 − A²/B) |" + (" μL2Q λ (min E[(t − λv)²]) |" if ul2q else ""))
    print("|---|---|---|---|" + ("---|" if ul2q else ""))
    for r in d["lambdas"]:
        extra = f" {r['lambda_ul2q']:.6f} |" if ul2q else ""
        print(f"| {r['bits']} | {r['lambda']:.6f} | {r['orientation_loss']:.4e} | {r['normalized_dql']:.4e} |{extra}")
    if d.get("layers"):
        print()
        print("| layer | bits | λ_k | λ actual | J_o at λ_k | J_o at actual λ |")
        print("|---|---|---|---|---|---|")
        for r in d["layers"]:
            if r["bits"] == 1:
                continue
            print(f"| {r['name']} | {r['bits']} | {r['lambda_theory']:.4f} | {r['lambda_actual']:.4f} | "
                  f"{r['orientation_loss_theory']:.4e} | {r['orientation_loss_actual']:.4e} |")


def dql(path):
    d = last_json(path)
    table = defaultdict(dict)
    methods = []
    for r in d["rows"]:
        table[(r["bits"], r["layer"])][r["method"]] = r["normalized_dql"]
        if r["method"] not in methods:
            methods.append(r["method"])
    losses = []
    ref = "vecq-exact" if "vecq-exact" in methods else "vecq"
    for bits in sorted({b for b, _ in table}):
        cols = [m for m in methods if any(m in table[(b, l)] for (b, l) in table if b == bits)]
        print(f"\n**{bits} bit{'s' if bits > 1 else ''}**\n")
        print("| layer | " + " | ".join(cols) + " |")
        print("|---|" + "---|" * len(cols))
        for (b, layer) in sorted(k for k in table if k[0] == bits):
            row = table[(b, layer)]
            best = min(row.values())
            cells = []
            for m in cols:
                v = row.get(m)
                cells.append("" if v is None else (f"**{v:.4e}**" if v == best else f"{v:.4e}"))
            print(f"| {layer} | " + " | ".join(cells) + " |")
            for m, v in row.items():
                if m not in ("vecq", ref) and v < row[ref]:
                    losses.append((bits, layer, m, v, row[ref]))
    print()
    # files written before `vecq dql` reported VecQ at both λ have one "vecq" column, at the mode
    # named by "lambda_mode"; newer files have "vecq" (λ_k) and "vecq-exact" (searched λ)
    if losses:
        print(f"Where another method's DQL is below VecQ's ({ref}):")
        print()
        for bits, layer, m, v, vq in losses:
            rel = (vq - v) / vq
            print(f"- {layer}, {bits} bit{'s' if bits > 1 else ''}: {m} {v:.6e} < {ref} {vq:.6e} ({100 * rel:.4f}% lower)")
    else:
        print(f"VecQ ({ref}) has the lowest DQL on every layer and bit width.")
    # μL2Q against VecQ at λ_k: the like-for-like pair (one Gaussian rule each, no search)
    if ref == "vecq-exact" and "ul2q" in methods:
        pairs = [(b, l, table[(b, l)]["ul2q"], table[(b, l)]["vecq"]) for (b, l) in sorted(table)
                 if "ul2q" in table[(b, l)] and "vecq" in table[(b, l)]]
        below = [p for p in pairs if p[2] < p[3]]
        print()
        print(f"μL2Q against VecQ at λ_k: μL2Q lower in {len(below)} of {len(pairs)} cells:")
        print()
        for bits, layer, u, v in below:
            print(f"- {layer}, {bits} bit{'s' if bits > 1 else ''}: ul2q {u:.6e} < vecq {v:.6e} ({100 * (v - u) / v:.4f}% lower)")


def integer(paths):
    print("| model | W/A | test images | integer path | float simulation | predictions that differ | weights held | float32 weights | held / float |")
    print("|---|---|---|---|---|---|---|---|---|")
    for p in paths:
        r = last_json(p)
        print(f"| {r['model']} | {r['wbits']}/{r['abits']} | {r['images']} | {100 * r['test_accuracy']:.2f}% | {100 * r['fake_quant_accuracy']:.2f}% | "
              f"{r['predictions_differing']} | {r['weight_bytes_held'] / 2**20:.2f} MiB | {r['weight_bytes_float'] / 2**20:.2f} MiB | "
              f"{r['weight_bytes_held'] / r['weight_bytes_float']:.3f} |")


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("accuracy", "sized", "theory", "dql", "integer"):
        sys.exit(__doc__)
    {"integer": lambda: integer(sys.argv[2:]), "accuracy": lambda: accuracy(sys.argv[2:]), "sized": lambda: sized(sys.argv[2:]), "theory": lambda: theory(sys.argv[2]), "dql": lambda: dql(sys.argv[2])}[sys.argv[1]]()
