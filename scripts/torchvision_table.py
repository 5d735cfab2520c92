#!/usr/bin/env python3
"""Prints perfcast inspect's MACs and parameters against torchvision's published figures.

Usage: python3 scripts/torchvision_table.py [FIXTURE_DIR]   (default build/fixtures, made by scripts/test.sh)
"""
import json
import subprocess
import sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
fixtures = Path(sys.argv[1]) if len(sys.argv) > 1 else root / "build" / "fixtures"
manifest = json.loads((fixtures / "manifest.json").read_text())["models"]
cli = root / "build" / "perfcast"

print("| model | MACs (G) | published | diff | params (M) | published | diff | params = torch |")
print("|---|---|---|---|---|---|---|---|")
for name, entry in manifest.items():
    if entry.get("macs_published_g") is None:
        continue
    out = subprocess.run([str(cli), "inspect", str(fixtures / entry["file"]), "--json"],
                         check=True, capture_output=True, text=True).stdout
    got = json.loads(out)
    macs_g = got["macs"] / 1e9
    params_m = got["params"] / 1e6
    pub_macs = entry["macs_published_g"]
    pub_params = entry["params_published_m"]
    print(f"| {name} | {macs_g:.3f} | {pub_macs:.2f} | {100 * (macs_g / pub_macs - 1):+.2f}% "
          f"| {params_m:.3f} | {pub_params:.3f} | {100 * (params_m / pub_params - 1):+.3f}% "
          f"| {'yes' if got['params'] == entry['params_torch'] else 'NO'} |")
