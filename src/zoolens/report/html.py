"""``zoolens report DIR...``: one self-contained, offline ``report.html`` from analysed runs.

A figure with an interactive view (``NAME.vl.json`` beside its PNG, see
:mod:`zoolens.report.interactive`) is shown as that view, rendered by vega-embed, with the
static PNG in a collapsed ``<details>``; the others as base64 PNG. Vega, Vega-Lite and
vega-embed are inlined once (:func:`zoolens.report.interactive.javascript_bundle`), so the
page opens offline. Tables are HTML (sortable by a click on a header); the run
configuration, package versions and data fingerprints come from each run's
``manifest.json``. The page script (:mod:`zoolens.report.html_assets`) writes how many
figures and views loaded into ``#render-status`` so a headless browser can verify the page.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import json
import re
from pathlib import Path
from typing import Sequence

import pandas as pd

from zoolens.analysis.findings import claim_order
from zoolens.analysis.result import load_analysis
from zoolens.errors import ZoolensError
from zoolens.report.html_assets import CSS, ERROR_HOOK, SCRIPT
from zoolens.report.interactive import javascript_bundle, schema_url
from zoolens.environment import package_versions

MAX_ROWS = 60
VERDICT_COLORS = {"reproduced": "#2ca25f", "not reproduced": "#de2d26",
                  "not testable": "#969696"}

def _esc(x) -> str:
    return html.escape(str(x))


def table_html(df: pd.DataFrame, max_rows: int = MAX_ROWS) -> str:
    """A DataFrame as an HTML table (floats to 4 significant digits), truncated to ``max_rows``."""
    more = len(df) - max_rows
    body = df.head(max_rows).to_html(index=False, border=0, na_rep="–", escape=True, classes="sortable",
                                     float_format=lambda v: f"{v:.4g}")
    if more > 0:
        body += f'<p class="note">… {more} more rows in the CSV.</p>'
    return body


def _script_json(text: str) -> str:
    """JSON safe inside a ``<script>`` element: no ``</script`` or ``<!--`` can end it early (``<\\/`` is ``</``)."""
    return text.replace("</", "<\\/").replace("<!--", "<\\u0021--")


def _script_js(text: str) -> str:
    """JavaScript safe inside a ``<script>`` element (``</script`` only occurs in its strings and regexes)."""
    return re.sub(r"</(script)", r"<\/\1", text, flags=re.IGNORECASE)


def _stamped(spec: Path) -> str:
    """A spec file's JSON with the ``$schema`` of the inlined Vega-Lite (a spec written by another version)."""
    view = json.loads(spec.read_text())
    view["$schema"] = schema_url()
    return json.dumps(view, separators=(",", ":"), allow_nan=False)


def _figure_html(folder: Path, fig: dict, key: str) -> str:
    """One figure: its interactive view (PNG in a collapsed ``<details>``) when it has one, else the PNG."""
    png = folder / fig["file"]
    if not png.is_file():
        raise ZoolensError(f"figure {png} is missing", f"re-run `zoolens analyze {folder.parent}`")
    data = base64.b64encode(png.read_bytes()).decode("ascii")
    img = f'<img class="figure" alt="{_esc(fig["title"])}" src="data:image/png;base64,{data}">'
    caption = (f'<figcaption><b>{_esc(fig["title"])}.</b> {_esc(fig["caption"])} '
               f'(files: {_esc(fig["file"])}, {_esc(fig.get("pdf", ""))}'
               + (f', {_esc(fig["interactive"])}' if fig.get("interactive") else "") + ")")
    spec = folder / fig["interactive"] if fig.get("interactive") else None
    if spec is None or not spec.is_file():  # analysed before interactive views existed: the PNG only
        return f"<figure>{img}{caption}</figcaption></figure>"
    return (f'<figure class="interactive"><div class="vl-view" id="view-{key}" data-spec="spec-{key}"></div>'
            f'<script type="application/json" id="spec-{key}">{_script_json(_stamped(spec))}</script>'
            f'{caption} Hover for values; mouse wheel zooms, drag pans, double click resets.</figcaption>'
            f'<details><summary>Static figure (as in the PNG/PDF)</summary>{img}</details></figure>')


def _fmt_value(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def _findings_html(findings: list[dict]) -> str:
    """The scorecard: one row per claim (``findings.json`` of every analysed run)."""
    if not findings:
        return '<p class="note">No claim of the papers applies to these runs.</p>'
    rows = []
    for f in sorted(findings, key=lambda f: claim_order(f["id"])):
        color = VERDICT_COLORS.get(f["verdict"], "#555")
        rows.append(f'<tr><td><code>{_esc(f["id"])}</code></td><td style="text-align:left">{_esc(f["claim"])}</td>'
                    f'<td>{_esc(_fmt_value(f.get("paper")))}</td><td>{_esc(_fmt_value(f.get("measured")))}</td>'
                    f'<td><span class="verdict" style="background:{color}">{_esc(f["verdict"])}</span></td>'
                    f'<td style="text-align:left">{_esc(f["evidence"])}'
                    + (f' <span class="note">[{_esc(f["run"])}]</span>' if f.get("run") else "") + '</td></tr>')
    return ('<table class="findings sortable"><tr><th>id</th><th>claim</th><th>paper</th><th>measured</th><th>verdict</th>'
            '<th>evidence</th></tr>' + "".join(rows) + "</table>")


def findings_frame(dirs: Sequence[str | Path]) -> pd.DataFrame:
    """The headline findings of analysed runs as a DataFrame (``id, claim, verdict, evidence, run``)."""
    rows = []
    for d in dirs:
        idx = load_analysis(d)
        rows += [{**f, "run": str(d)} for f in idx["findings"]]
    return pd.DataFrame(rows, columns=["id", "claim", "paper", "measured", "verdict", "evidence", "run"])


def _config_html(run: Path) -> str:
    parts = []
    man = run / "manifest.json"
    if man.is_file():
        m = json.loads(man.read_text())
        versions = m.get("versions", {})
        # every distribution the run used (zoolens.environment), all rows: the manifest is the only record
        head = ", ".join(f"{k} {versions[k]}" for k in ("python", "zoolens", "torch", "timm") if k in versions)
        parts.append(f"<details><summary>Package versions ({len(versions)}: {_esc(head)}, …)</summary>"
                     + table_html(pd.DataFrame({"package": list(versions),
                                                "version": [str(v) for v in versions.values()]}),
                                  max_rows=len(versions)) + "</details>")
        fps = []
        for kind, info in (m.get("runs") or {}).items():
            fp = info.get("data_fingerprints")
            if isinstance(fp, dict):
                fps += sorted(set(fp.values()))
            elif isinstance(fp, list):
                fps += fp
        if fps:
            parts.append("<h4>Data fingerprint</h4><pre>" + _esc("\n".join(sorted(set(fps)))) + "</pre>")
        parts.append("<details><summary>Run configuration (manifest.json)</summary><pre>"
                     + _esc(json.dumps({k: v for k, v in m.items() if k != "versions"}, indent=1, default=str))
                     + "</pre></details>")
    for spec in sorted(run.glob("*_spec.json")):
        parts.append(f"<h4>{_esc(spec.name)}</h4><pre>{_esc(spec.read_text())}</pre>")
    return "".join(parts)


def build_report(dirs: Sequence[str | Path], out: str | Path | None = None, *, title: str = "zoolens report",
                 preface: str | None = None) -> Path:
    """Write one self-contained ``report.html`` for analysed runs.

    Parameters
    ----------
    dirs:
        Run directories, each analysed by ``zoolens analyze`` (``DIR/analysis/index.json``).
    out:
        Output file (default: ``DIR/report.html`` for one run, else ``report.html`` in the
        runs' common parent folder).
    preface:
        Optional HTML-escaped text shown under the title (e.g. the demo's settings).

    Returns
    -------
    pathlib.Path
        The written report.
    """
    dirs = [Path(d) for d in dirs]
    if not dirs:
        raise ZoolensError("no run directory given", "pass one or more analysed run directories")
    indexes = [load_analysis(d) for d in dirs]
    if out is None:
        if len(dirs) == 1:
            out = dirs[0] / "report.html"
        else:
            import os

            out = Path(os.path.commonpath([str(d.resolve()) for d in dirs])) / "report.html"
    out = Path(out)
    findings = [{**f, "run": str(d)} if len(dirs) > 1 else f for d, idx in zip(dirs, indexes) for f in idx["findings"]]
    sections = [f"<header id='top'><h1>{_esc(title)}</h1>",
                f'<p class="note">Generated {_dt.datetime.now().isoformat(timespec="seconds")} by zoolens '
                f'{_esc(package_versions().get("zoolens", "?"))} from: {_esc(", ".join(map(str, dirs)))}</p>',
                '<p id="render-status" data-state="pending">figures loaded: (script not run)</p>'
                + (f"<p>{_esc(preface)}</p>" if preface else "") + "</header>"]
    sections.append("<section id='scorecard'><h2>Scorecard: do these runs reproduce the papers' claims?</h2>"
                    + _findings_html(findings) + '<p class="note">Verdicts follow fixed rules (see docs/analysis.md): '
                    'nothing was tuned to reach them. Click a column header to sort.</p></section>')
    for r, (d, idx) in enumerate(zip(dirs, indexes), start=1):
        folder = d / "analysis"
        body = [f"<section id='run-{r}'><h2>{_esc(idx['kind'].capitalize())} run: {_esc(d)}</h2>"]
        if idx.get("notes"):
            body.append("<ul>" + "".join(f'<li class="note">{_esc(n)}</li>' for n in idx["notes"]) + "</ul>")
        for f, fig in enumerate(idx["figures"], start=1):
            body.append(_figure_html(folder, fig, f"{r}-{f}"))
        for t in idx["tables"]:
            df = pd.read_csv(folder / t["file"])
            body.append(f"<h3>{_esc(t['title'])}</h3><p class='note'>{_esc(t['file'])}</p>" + table_html(df))
        body.append("<h3>Configuration</h3>" + _config_html(d) + "</section>")
        sections.append("".join(body))
    views = any('class="vl-view"' in s for s in sections)
    page = ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{_esc(title)}</title><style>{CSS}</style><script>{ERROR_HOOK}</script></head><body>"
            + "\n".join(sections) + (f"<script>{_script_js(javascript_bundle())}</script>" if views else "")
            + f"<script>{SCRIPT}</script></body></html>")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    return out


__all__ = ["build_report", "findings_frame", "table_html"]
