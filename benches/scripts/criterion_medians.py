#!/usr/bin/env python3
"""Print the median of every criterion benchmark under TARGET/criterion, in events per second.

Usage: python3 benches/scripts/criterion_medians.py [TARGET_DIR]   (default: target)

Criterion's console line shows its mean-based slope estimate; this reads the median of the
per-sample times from each bench's new/estimates.json and divides by the bench's
Throughput::Elements, so the figures are medians in events per second.
"""
import glob
import json
import os
import sys

root = sys.argv[1] if len(sys.argv) > 1 else "target"
for est_path in sorted(
    glob.glob(os.path.join(root, "criterion", "**", "new", "estimates.json"), recursive=True)
):
    new_dir = os.path.dirname(est_path)
    with open(os.path.join(new_dir, "benchmark.json")) as f:
        bench = json.load(f)
    with open(est_path) as f:
        median = json.load(f)["median"]
    events = (bench.get("throughput") or {}).get("Elements")
    ns = median["point_estimate"]
    line = f"{bench['full_id']:<40} median {ns / 1000:12.3f} us/iter"
    if events:
        lo = median["confidence_interval"]["lower_bound"]
        hi = median["confidence_interval"]["upper_bound"]
        line += (
            f"  {events / (ns * 1e-9) / 1e6:9.3f} M events/s"
            f"  (95% CI {events / (hi * 1e-9) / 1e6:.3f}-{events / (lo * 1e-9) / 1e6:.3f})"
        )
    print(line)
