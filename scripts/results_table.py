"""Prints the results table (markdown) from the reports written by scripts/results.sh."""
import json
import pathlib
import sys

THESIS = {"lenet300": {"ptq": 7.62, "itq": 22.08, "combined": 57.22},
          "lenet5": {"ptq": 10.87, "itq": 21.05, "combined": 50.19}}
NAMES = {"lenet300": "LeNet-300-100", "lenet5": "LeNet-5"}

out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "results")
print("| network | method | thesis ratio | our ratio | accuracy | float baseline | cost (pp) | .agq bytes |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
for net, thesis in THESIS.items():
    base_path = out / f"{net}-none.json"
    if not base_path.exists():
        continue
    base = json.loads(base_path.read_text())["accuracy"]
    for method, ratio in thesis.items():
        report = json.loads((out / f"{net}-{method}.json").read_text())
        if method == "ptq":
            line = (out / f"{net}-ptq.accuracy").read_text().strip()
            accuracy = float(line.split()[-1].rstrip("%"))
        else:
            accuracy = report["accuracy"]
        print(f"| {NAMES[net]} | {method} | {ratio:.2f}x | {report['ratio']:.2f}x | {accuracy:.2f}% "
              f"| {base:.2f}% | {accuracy - base:+.2f} | {report['bytes']} |")
