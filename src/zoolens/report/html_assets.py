"""The style sheet and the page script of ``report.html`` (both inlined; nothing is fetched).

The script

* renders every interactive view (``div.vl-view``; its Vega-Lite spec is the JSON of the
  ``script`` element named by ``data-spec``) with vega-embed and marks it
  ``data-loaded="ok"`` once Vega drew its marks (``canvas.marks`` or ``svg.marks``), or
  ``"failed"`` (a spec that does not parse or compile, vega-embed missing);
* marks every PNG figure that loaded (``img.complete && naturalWidth > 0``);
* writes both counts into ``#render-status`` (``data-state``: ``complete`` when every
  figure and every view loaded, else ``incomplete``) so a headless browser can verify the page;
* sorts a table by a column when its header is clicked (numbers numerically);
* shows only one ``<section>`` when the page is opened with ``?section=ID`` (screenshots).

:data:`ERROR_HOOK` runs first (in ``<head>``): it counts uncaught errors, rejected promises
and ``console.error`` calls, and the status carries the count as ``data-errors``.
"""

from __future__ import annotations

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1200px;
color:#222;line-height:1.45;padding:0 1em}
h1{font-size:1.7em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;font-size:.82em;margin:.5em 0 1.2em}
td,th{border:1px solid #ddd;padding:.25em .5em;text-align:right}th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}
table.sortable th{cursor:pointer;user-select:none}table.sortable th:hover{background:#e3e3e3}
th[data-sorted=asc]::after{content:" \\25B2"}th[data-sorted=desc]::after{content:" \\25BC"}
figure{margin:1.2em 0}figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:.88em;color:#555}
.vl-view{overflow-x:auto;max-width:100%}.vl-view form,.vl-view .vega-bindings{font-size:.85em;margin:.3em 0}
.vl-view[data-loaded=failed]{color:#de2d26}
.verdict{font-weight:600;padding:.1em .4em;border-radius:3px;color:white;white-space:nowrap}
pre{background:#f7f7f7;padding:.6em;font-size:.8em;overflow-x:auto}
.note{color:#555;font-size:.9em}
details{margin:.4em 0}
"""

ERROR_HOOK = r"""
window.zoolensErrors = [];
window.addEventListener('error', function (e) { window.zoolensErrors.push(String(e.message)); });
window.addEventListener('unhandledrejection', function (e) { window.zoolensErrors.push(String(e.reason)); });
(function () {
  var original = console.error;
  console.error = function () {
    window.zoolensErrors.push(Array.prototype.join.call(arguments, ' '));
    return original.apply(console, arguments);
  };
})();
"""

SCRIPT = r"""
(function () {
  var only = new URLSearchParams(window.location.search).get('section');
  if (only) {
    document.querySelectorAll('body > section, body > header').forEach(function (s) {
      if (s.id !== only) { s.style.display = 'none'; }
    });
  }
  function fail(el, err) {
    el.setAttribute('data-loaded', 'failed');
    el.textContent = 'interactive view failed: ' + err;
    console.error('zoolens: view ' + el.id + ' failed: ' + err);
    return false;
  }
  function embed(el) {
    try {
      if (typeof window.vegaEmbed !== 'function') { throw new Error('vega-embed is missing'); }
      var spec = JSON.parse(document.getElementById(el.getAttribute('data-spec')).textContent);
      return window.vegaEmbed(el, spec, {renderer: 'canvas',
          actions: {export: true, source: false, compiled: false, editor: false}})
        .then(function () {
          if (!el.querySelector('canvas.marks, svg.marks')) { return fail(el, 'nothing drawn'); }
          el.setAttribute('data-loaded', 'ok');
          return true;
        }, function (err) { return fail(el, err); });
    } catch (err) { return Promise.resolve(fail(el, err)); }
  }
  var views = Array.prototype.slice.call(document.querySelectorAll('.vl-view'));
  var rendered = Promise.all(views.map(embed));
  window.addEventListener('load', function () {
    var imgs = document.querySelectorAll('img.figure');
    var ok = 0, bad = [];
    imgs.forEach(function (im) {
      if (im.complete && im.naturalWidth > 0) { ok++; im.setAttribute('data-loaded', 'ok'); }
      else { im.setAttribute('data-loaded', 'failed'); bad.push(im.getAttribute('alt')); }
    });
    rendered.then(function (res) {
      var vok = res.filter(Boolean).length;
      views.forEach(function (el) { if (el.getAttribute('data-loaded') !== 'ok') { bad.push(el.id); } });
      var s = document.getElementById('render-status');
      s.setAttribute('data-loaded', String(ok));
      s.setAttribute('data-total', String(imgs.length));
      s.setAttribute('data-views-loaded', String(vok));
      s.setAttribute('data-views-total', String(views.length));
      s.setAttribute('data-errors', String(window.zoolensErrors ? window.zoolensErrors.length : 0));
      var done = ok === imgs.length && vok === views.length;
      s.setAttribute('data-state', done ? 'complete' : 'incomplete');
      s.textContent = 'figures loaded: ' + ok + '/' + imgs.length + '; interactive views: ' + vok + '/' +
        views.length + (bad.length ? ' (missing: ' + bad.join(', ') + ')' : '');
    });
  });
  document.querySelectorAll('table.sortable').forEach(function (table) {
    var heads = table.querySelectorAll('tr:first-child th');
    heads.forEach(function (th, col) {
      th.title = 'sort by this column';
      th.addEventListener('click', function () {
        var desc = th.getAttribute('data-sorted') === 'asc';
        heads.forEach(function (h) { h.removeAttribute('data-sorted'); });
        th.setAttribute('data-sorted', desc ? 'desc' : 'asc');
        var rows = Array.prototype.slice.call(table.querySelectorAll('tr')).slice(1);
        function key(r) {
          var t = (r.children[col] || {}).textContent || '';
          var n = parseFloat(t);
          return isNaN(n) || !/^\s*[-+\u2212]?[\d.]/.test(t) ? [1, t.toLowerCase()] : [0, n];
        }
        rows.sort(function (a, b) {
          var ka = key(a), kb = key(b);
          var c = ka[0] - kb[0] || (ka[1] < kb[1] ? -1 : ka[1] > kb[1] ? 1 : 0);
          return desc ? -c : c;
        });
        var parent = rows.length ? rows[0].parentNode : table;
        rows.forEach(function (r) { parent.appendChild(r); });
      });
    });
  });
})();
"""

__all__ = ["CSS", "ERROR_HOOK", "SCRIPT"]
