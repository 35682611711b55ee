#!/usr/bin/env python3
"""The importance table of docs/RESULTS.md from `agq sweep` results (importance-NET.json).

For each network and CSR ratio target, the best accuracy each importance reaches at that
ratio or above (the ratio of that row in brackets), and whether the thesis's importance
(accumulated |grad|) wins, ties or loses against the best of the others (only where every
importance reaches the ratio). A difference
within the tie margin (0.5 points on 10,000 test images, 1.5 on 1,000: about two standard
errors of a difference) is a tie.
Usage: scripts/importance_table.py [docs/results]
"""
import json
import sys
from pathlib import Path

ORDER = ["lenet300", "lenet5", "alexnet", "vgg16"]
IMPORTANCES = ["grad", "grad-magnitude", "magnitude", "random", "taylor"]
TARGETS = [5, 10, 20, 40, 80]


def best(rows, importance, target):
    """(accuracy, ratio) of the most accurate row of `importance` at ratio_csr >= target."""
    ok = [r for r in rows if r["importance"] == importance and r["ratio_csr"] >= target and r["accuracy_percent"] is not None]
    if not ok:
        return None
    r = max(ok, key=lambda r: (r["accuracy_percent"], r["ratio_csr"]))
    return r["accuracy_percent"], r["ratio_csr"]


def main():
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/results")
    files = {p.stem.removeprefix("importance-"): p for p in folder.glob("importance-*.json")}
    nets = [n for n in ORDER if n in files] + sorted(n for n in files if n not in ORDER)
    print("| network | CSR ratio at least | " + " | ".join(IMPORTANCES) + " | accumulated gradient |")
    print("|---|---:|" + "---:|" * len(IMPORTANCES) + "---|")
    for net in nets:
        data = json.loads(files[net].read_text())
        rows = data["rows"]
        margin = 0.5 if (data.get("images") or 0) >= 10000 else 1.5
        present = {r["importance"] for r in rows}
        for target in TARGETS:
            cells = {imp: best(rows, imp, target) for imp in IMPORTANCES}
            if all(c is None for c in cells.values()):
                continue
            text = []
            for imp in IMPORTANCES:
                c = cells[imp]
                if imp not in present:
                    text.append("n/a")
                elif c is None:
                    text.append("—")
                else:
                    text.append(f"{c[0]:.2f}% ({c[1]:.1f}x)")
            grad = cells["grad"]
            others = [(cells[i][0], i) for i in IMPORTANCES[1:] if cells[i] is not None]
            short = [i for i in IMPORTANCES if i in present and cells[i] is None]
            if grad is None or not others:
                verdict = "—"
            elif short:
                verdict = "— (" + ", ".join(short) + " never this small)"
            else:
                top, who = max(others)
                d = grad[0] - top
                verdict = "ties" if abs(d) <= margin else ("wins" if d > 0 else "loses")
                verdict += f" ({d:+.2f} vs {who})"
            float_acc = data.get("float_accuracy_percent")
            label = f"{net} (float {float_acc:.2f}%)" if float_acc is not None else net
            print(f"| {label} | {target}x | " + " | ".join(text) + f" | {verdict} |")


if __name__ == "__main__":
    main()
