"""Interactive views of the report: Vega-Lite specs (pure: DataFrame in, dict out) and the inlined JS.

Library choice (issue #18), measured 2026-11-26 by ``benchmarks/report_weight.py`` on
demo-sized data (criticality 50 models × 54 layers with standard errors, SAT 69 × 69 with
bootstrap intervals; values rounded to 4 significant digits for both candidates):

* **Vega-Lite** (vega 6.2 + vega-lite 6.4 + vega-embed 7.0, bundled by vl-convert-python
  1.9's ``javascript_bundle()``): 897,608 bytes of JavaScript, inlined once; specs 57,760
  (criticality) and 107,769 (SAT) bytes; in all 1,063,137 bytes.
* **Plotly** (``plotly.min.js`` of plotly 7.1.0): 4,815,814 bytes of JavaScript; the same
  heatmaps as Plotly figure JSON (``z`` + ``customdata`` for the hover) 50,721 and 102,771
  bytes; in all 4,969,306 bytes.

The JavaScript is the bulk of either page, so Vega-Lite weighs a fifth of Plotly (the
demo's report: 2.71 MB; with Plotly's JS instead it would be ≈ 6.6 MB). Its specs are
declarative JSON that tests check without a browser (tooltip fields, sort and zoom
params) and compile with the Vega-Lite the page inlines; the JS ships inside the
vl-convert wheel, so a report builds offline. Altair is not needed: specs are written as
dicts. Details: ``docs/report.md``.

Every builder returns a Vega-Lite spec (v5 and v6 alike) whose data are inlined and rounded to four
significant digits. Heatmaps use quantitative positions (cell ``i`` spans ``i ± 0.5``) so
that mouse-wheel zoom and drag-to-pan (an interval selection bound to the scales) work;
axis labels and the sort orders come from arrays held in params, and the data are one
record per row with that row's cells as parallel arrays (≈ 20 bytes a cell).
"""

from __future__ import annotations

import functools
import math
from typing import Any, Sequence

import numpy as np
import pandas as pd

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"  # an identifier only: nothing is fetched
ZOOM = {"name": "zoom", "select": {"type": "interval", "encodings": ["x", "y"]}, "bind": "scales"}
ORDERS = ("figure", "name", "mean")
ORDER_LABELS = ("as in the figure", "name", "mean value (highest first)")


def sig(x: Any, digits: int = 4) -> float | None:
    """``x`` rounded to ``digits`` significant digits; None for NaN/inf/None (JSON null, left out)."""
    if x is None:
        return None
    x = float(x)
    if not math.isfinite(x):
        return None
    return float(f"{x:.{digits}g}")


def records(df: pd.DataFrame, columns: Sequence[str]) -> list[dict[str, Any]]:
    """Rows of ``df[columns]`` as compact records: floats rounded, missing values left out."""
    out = []
    for row in df[list(columns)].itertuples(index=False):
        rec = {}
        for c, v in zip(columns, row):
            if isinstance(v, (float, np.floating)):
                v = sig(v)
            elif isinstance(v, (np.integer,)):
                v = int(v)
            elif v is not None and not isinstance(v, (int, str, bool)):
                v = str(v)
            if v is not None and not (isinstance(v, float) and math.isnan(v)):
                rec[c] = v
        out.append(rec)
    return out


def _aligned(m: pd.DataFrame | None, like: pd.DataFrame) -> np.ndarray | None:
    if m is None:
        return None
    return m.reindex(index=like.index, columns=like.columns).to_numpy(dtype=float)


def _orders(names: list[str], means: np.ndarray) -> tuple[dict[str, list[str]], dict[str, list[int]]]:
    """Labels by position and position by row for each sort order of :data:`ORDERS`."""
    n = len(names)
    key = np.where(np.isfinite(means), -means, np.inf)
    perms = {"figure": list(range(n)), "name": sorted(range(n), key=lambda i: names[i].lower()),
             "mean": sorted(range(n), key=lambda i: (key[i], i))}
    labels = {o: [names[i] for i in p] for o, p in perms.items()}
    pos = {}
    for o, p in perms.items():
        inv = [0] * n
        for at, i in enumerate(p):
            inv[i] = at
        pos[o] = inv
    return labels, pos


def heatmap_spec(matrix: pd.DataFrame, *, title: str, value: str, scheme: str = "viridis",
                 row: str = "model", col: str = "layer", groups: Sequence[str] | None = None,
                 group: str = "group", se: pd.DataFrame | None = None, se_title: str = "standard error",
                 ci: tuple[pd.DataFrame, pd.DataFrame] | None = None, mid: float | None = None,
                 reverse: bool = False, square: bool = False) -> dict[str, Any]:
    """A zoomable, sortable heatmap of ``matrix`` (rows × columns) with a tooltip per cell.

    The tooltip shows the row and column names, the value, and where given the standard
    error ``se`` or the interval ``ci = (low, high)`` (frames aligned to ``matrix``) and the
    row's ``groups`` entry. A select box sorts the rows (and the columns when ``square``) as
    in the static figure, by name, or by the row mean; the mouse wheel zooms, dragging pans
    and a double click resets the view. NaN cells are left out (the background shows).
    """
    rows, cols = [str(r) for r in matrix.index], [str(c) for c in matrix.columns]
    v = matrix.to_numpy(dtype=float)
    s, lo, hi = _aligned(se, matrix), *((_aligned(ci[0], matrix), _aligned(ci[1], matrix)) if ci else (None, None))
    extras = [(k, a) for k, a in (("s", s), ("lo", lo), ("hi", hi)) if a is not None]
    cells = []  # one record per row, its cells as parallel arrays (flattened in the spec): ~20 bytes a cell
    for i in range(v.shape[0]):
        js = np.nonzero(np.isfinite(v[i]))[0]
        if len(js):
            cells.append({"i": i, "j": js.tolist(), "v": [sig(x) for x in v[i, js]],
                          **{k: [sig(x) for x in a[i, js]] for k, a in extras}})
    with np.errstate(all="ignore"):
        means = np.array([np.nanmean(r) if np.isfinite(r).any() else np.nan for r in v])
    labels, pos = _orders(rows, means)
    nr, nc = len(rows), len(cols)
    cw = max(8.0, min(32.0, 900.0 / max(nc, 1)))
    ch = max(9.0, min(32.0, 900.0 / max(nr, 1)))
    xpos = "RP[order][datum.j]" if square else "datum.j"
    xlab = "RL[order][datum.value]" if square else "CN[datum.value]"
    tooltip = [{"field": "row", "title": row}, {"field": "col", "title": col},
               {"field": "v", "title": value, "type": "quantitative", "format": ".4g"}]
    if s is not None:
        tooltip.append({"field": "s", "title": se_title, "type": "quantitative", "format": ".3g"})
    if ci:
        tooltip.append({"field": "interval", "title": "bootstrap interval"})
    if groups is not None:
        tooltip.append({"field": "grp", "title": group})
    color: dict[str, Any] = {"field": "v", "type": "quantitative", "title": value,
                             "scale": {"scheme": scheme, **({"reverse": True} if reverse else {}),
                                       **({"domainMid": mid} if mid is not None else {})}}
    transform = [{"flatten": ["j", "v", *(k for k, _ in extras)]},
                 {"calculate": "RL.figure[datum.i]", "as": "row"},
                 {"calculate": "RL.figure[datum.j]" if square else "CN[datum.j]", "as": "col"},
                 {"calculate": "RP[order][datum.i]", "as": "y"}, {"calculate": xpos, "as": "x"},
                 {"calculate": "datum.x - 0.5", "as": "x0"}, {"calculate": "datum.x + 0.5", "as": "x1"},
                 {"calculate": "datum.y - 0.5", "as": "y0"}, {"calculate": "datum.y + 0.5", "as": "y1"}]
    if ci:
        transform.append({"calculate": "isValid(datum.lo) ? format(datum.lo, '.3g') + ' … ' + format(datum.hi, '.3g')"
                                       " : 'n/a'", "as": "interval"})
    if groups is not None:
        transform.append({"calculate": "RG[datum.i]", "as": "grp"})
    axis = {"grid": False, "labelOverlap": False, "labelFontSize": 8, "labelLimit": 220, "ticks": False}
    params: list[dict[str, Any]] = [
        {"name": "order", "value": "figure",
         "bind": {"input": "select", "options": list(ORDERS), "labels": list(ORDER_LABELS),
                  "name": f"Sort {'rows and columns' if square else 'rows'} by "}},
        {"name": "RL", "value": labels}, {"name": "RP", "value": pos}, {"name": "CN", "value": cols}]
    if groups is not None:
        params.append({"name": "RG", "value": [str(g) for g in groups]})
    return {
        "$schema": SCHEMA, "title": title, "params": params,
        "width": round(cw * nc), "height": round(ch * nr),
        "data": {"values": cells}, "transform": transform,
        "layer": [{"params": [ZOOM], "mark": {"type": "rect", "clip": True},
                   "encoding": {
                       "x": {"field": "x0", "type": "quantitative", "title": col,
                             "scale": {"domain": [-0.5, nc - 0.5], "nice": False, "zero": False},
                             "axis": {**axis, "values": list(range(nc)), "labelExpr": xlab, "labelAngle": -60}},
                       "x2": {"field": "x1"},
                       "y": {"field": "y0", "type": "quantitative", "title": row,
                             "scale": {"domain": [-0.5, nr - 0.5], "nice": False, "zero": False, "reverse": True},
                             "axis": {**axis, "values": list(range(nr)), "labelExpr": "RL[order][datum.value]"}},
                       "y2": {"field": "y1"}, "color": color, "tooltip": tooltip}}],
        "config": {"view": {"fill": "#e8e8e8"}},
    }


def scatter_spec(df: pd.DataFrame, *, x: str, y: str, title: str, x_title: str, y_title: str,
                 tooltip: Sequence[tuple[str, str]], color: str | None = None, color_title: str | None = None,
                 label: str | None = None, diagonal: bool = False) -> dict[str, Any]:
    """A zoomable scatter plot of ``df[x]`` against ``df[y]`` with a tooltip of ``(field, title)`` pairs.

    ``label``: a text label beside every point (only for up to 80 points); ``diagonal``: the line y = x.
    """
    cols = list(dict.fromkeys([x, y, *(f for f, _ in tooltip), *([color] if color else []),
                               *([label] if label else [])]))
    values = records(df, cols)
    tips = [{"field": f, "title": t, **({"type": "quantitative", "format": ".4g"}
                                        if pd.api.types.is_numeric_dtype(df[f]) else {})} for f, t in tooltip]
    scale = {"zero": False, "padding": 12}  # points on the edge stay whole
    enc: dict[str, Any] = {"x": {"field": x, "type": "quantitative", "title": x_title, "scale": scale},
                           "y": {"field": y, "type": "quantitative", "title": y_title, "scale": scale}}
    point = {"params": [ZOOM], "mark": {"type": "point", "filled": True, "size": 60, "clip": True},
             "encoding": {**enc, "tooltip": tips,
                          **({"color": {"field": color, "type": "nominal", "title": color_title or color}}
                             if color else {})}}
    layers = [point]
    if label and len(df) <= 80:
        layers.append({"mark": {"type": "text", "align": "left", "dx": 5, "dy": -4, "fontSize": 8, "clip": True},
                       "encoding": {**enc, "text": {"field": label}}})
    if diagonal and len(values):
        both = pd.concat([pd.to_numeric(df[x], errors="coerce"), pd.to_numeric(df[y], errors="coerce")])
        lo, hi = sig(both.min()), sig(both.max())
        if lo is not None and hi is not None:
            layers.append({"data": {"values": [{x: lo, y: lo}, {x: hi, y: hi}]},
                           "mark": {"type": "line", "strokeDash": [4, 3], "color": "black", "clip": True},
                           "encoding": enc})
    return {"$schema": SCHEMA, "title": title, "width": 560, "height": 420, "data": {"values": values},
            "layer": layers}


@functools.lru_cache(maxsize=1)
def javascript_bundle() -> str:
    """vega, vega-lite and vega-embed as one inlineable script (from ``vl-convert-python``)."""
    import vl_convert

    return vl_convert.javascript_bundle(SNIPPET, vl_version=vega_lite_version())


def vega_lite_version() -> str:
    """The newest Vega-Lite that ``vl-convert-python`` ships: the one the page inlines.

    The specs use nothing that differs between Vega-Lite 5 and 6; the page stamps each
    spec's ``$schema`` with this version's major (:func:`schema_url`), so vega-embed finds
    the versions consistent and logs no warning.
    """
    import vl_convert

    return max(vl_convert.get_vegalite_versions(), key=lambda v: tuple(int(p) for p in v.split(".")))


def schema_url() -> str:
    """The ``$schema`` of the Vega-Lite that :func:`javascript_bundle` holds."""
    return f"https://vega.github.io/schema/vega-lite/v{vega_lite_version().split('.')[0]}.json"


SNIPPET = "window.vegaEmbed = vegaEmbed;"

__all__ = ["heatmap_spec", "javascript_bundle", "records", "scatter_spec", "schema_url", "sig", "vega_lite_version"]
