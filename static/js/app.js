// Small progressive enhancements shared by every page. Pages work without it.
(function () {
  "use strict";
  // Plotly figures are embedded as JSON in <script type="application/json" data-plotly-target="ID">.
  function drawCharts(root) {
    if (!window.Plotly) return;
    root.querySelectorAll("script[data-plotly-target]").forEach(function (node) {
      var target = document.getElementById(node.dataset.plotlyTarget);
      if (!target || target.dataset.drawn) return;
      var fig = JSON.parse(node.textContent);
      window.Plotly.newPlot(target, fig.data, fig.layout, { responsive: true, displaylogo: false });
      target.dataset.drawn = "1";
      // A bar or point carrying customdata {url: ...} opens the list behind it.
      target.on("plotly_click", function (ev) {
        var p = ev.points && ev.points[0];
        var url = p && p.customdata && (p.customdata.url || (Array.isArray(p.customdata) && p.customdata[0]));
        if (typeof url === "string" && url.charAt(0) === "/") window.location.href = url;
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { drawCharts(document); });
  document.addEventListener("htmx:afterSwap", function (ev) { drawCharts(ev.target); });
  window.QualityGov = { drawCharts: drawCharts };
})();
