"""Page weight of the report's interactive views: Vega-Lite (vl-convert's bundle) vs Plotly.

    python benchmarks/report_weight.py [--plotly-path DIR]

Builds demo-sized data (criticality 50 models × 54 layers with standard errors; SAT
69 × 69 with bootstrap intervals), then for each candidate the bytes of its inlined
JavaScript and of the two heatmaps' specs (values rounded to 4 significant digits in
both). Vega-Lite specs come from ``zoolens.report.interactive``; Plotly figures from
``plotly.graph_objects`` (``z`` + ``customdata`` for the hover text, as one would write
them). Plotly is not a zoolens dependency: point ``--plotly-path`` at an unpacked plotly
wheel (``pip download --no-deps plotly``) or install it in the environment.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import pandas as pd


def demo_data(seed: int = 0):
    rng = np.random.default_rng(seed)
    models = [f"model_{i:02d}_{'resnet50' if i % 2 else 'vit_small'}" for i in range(50)]
    layers = [f"[{i // 4}.{i % 4}] conv{i % 3 + 1}" for i in range(54)]
    crit = pd.DataFrame(rng.random((50, 54)), index=models, columns=layers)
    sem = pd.DataFrame(rng.random((50, 54)) * 0.02, index=models, columns=layers)
    names = [f"sat_model_{i:02d}" for i in range(69)]
    a = rng.normal(3.5, 0.5, (69, 69))
    sat = pd.DataFrame((a + a.T) / 2, index=names, columns=names)
    ci = pd.DataFrame([{"model_a": x, "model_b": y, "ci_low": sat.loc[x, y] - 0.1, "ci_high": sat.loc[x, y] + 0.1}
                       for i, x in enumerate(names) for y in names[i:]])
    per = pd.DataFrame({"model": models, "category": ["baseline"] * 50})
    return crit, sem, per, sat, ci, rng.integers(0, 10, 69)


def vega_lite(crit, sem, per, sat, ci, labels) -> dict[str, int]:
    from zoolens.report.interactive import javascript_bundle
    from zoolens.report.interactive_views import criticality_heatmap, sat_heatmap

    dump = lambda s: len(json.dumps(s, separators=(",", ":")).encode())  # noqa: E731
    return {"js": len(javascript_bundle().encode()), "criticality": dump(criticality_heatmap(crit, per, sem)),
            "sat": dump(sat_heatmap(sat, labels, ci))}


def plotly_sizes(crit, sem, sat, ci) -> dict[str, int]:
    import plotly
    import plotly.graph_objects as go
    from pathlib import Path

    r4 = lambda m: [[float(f"{v:.4g}") for v in row] for row in np.asarray(m, dtype=float)]  # noqa: E731
    lo = sat.copy() * np.nan
    hi = lo.copy()
    for r in ci.itertuples():
        lo.loc[r.model_a, r.model_b] = lo.loc[r.model_b, r.model_a] = r.ci_low
        hi.loc[r.model_a, r.model_b] = hi.loc[r.model_b, r.model_a] = r.ci_high
    fc = go.Figure(go.Heatmap(z=r4(crit), x=list(crit.columns), y=list(crit.index), customdata=r4(sem),
                              colorscale="Magma", hovertemplate="model %{y}<br>layer %{x}<br>criticality %{z}"
                                                                "<br>SE %{customdata}<extra></extra>"))
    fs = go.Figure(go.Heatmap(z=r4(sat), x=list(sat.columns), y=list(sat.index),
                              customdata=np.dstack([r4(lo), r4(hi)]).tolist(),
                              hovertemplate="%{y} × %{x}<br>SAT %{z}<br>interval %{customdata[0]} … "
                                            "%{customdata[1]}<extra></extra>"))
    js = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    return {"js": js.stat().st_size, "criticality": len(fc.to_json().encode()), "sat": len(fs.to_json().encode())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plotly-path", help="folder holding an unpacked plotly wheel")
    args = ap.parse_args()
    if args.plotly_path:
        sys.path.insert(0, args.plotly_path)
    crit, sem, per, sat, ci, labels = demo_data()
    rows = {"Vega-Lite (vl-convert bundle)": vega_lite(crit, sem, per, sat, ci, labels)}
    try:
        rows["Plotly (plotly.min.js)"] = plotly_sizes(crit, sem, sat, ci)
    except ImportError as e:
        print(f"plotly skipped: {e}")
    print("| candidate | JS bytes | criticality 50×54 spec | SAT 69×69 spec | JS + both specs |")
    print("|---|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['js']:,} | {r['criticality']:,} | {r['sat']:,} | {sum(r.values()):,} |")


if __name__ == "__main__":
    main()
