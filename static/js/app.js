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
  // <form data-confirm="Delete this rule?">: destructive forms ask first; Cancel keeps everything as it is.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    var question = form && form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      ev.preventDefault();
      ev.stopImmediatePropagation();
    }
  }, true);
  // Inline handlers are refused by the Content-Security-Policy; these attributes replace them.
  //   <input type="checkbox" data-select-all="CSS selector">  ticks/unticks every box the selector finds
  //   <button data-print>                                       prints the page
  //   <button data-copy="#input-id">                           copies the input's value
  document.addEventListener("click", function (ev) {
    var el = ev.target.closest && ev.target.closest("[data-select-all], [data-print], [data-copy]");
    if (!el) return;
    if (el.hasAttribute("data-select-all")) {
      document.querySelectorAll(el.getAttribute("data-select-all")).forEach(function (box) {
        if (box !== el) box.checked = el.checked;
      });
    } else if (el.hasAttribute("data-print")) {
      window.print();
    } else {
      var source = document.querySelector(el.getAttribute("data-copy"));
      if (!source) return;
      source.select();
      if (navigator.clipboard) navigator.clipboard.writeText(source.value).catch(function () {});
      el.textContent = "Copied";
    }
  });
  document.addEventListener("DOMContentLoaded", function () { drawCharts(document); });
  document.addEventListener("htmx:afterSwap", function (ev) { drawCharts(ev.target); });
  window.QualityGov = { drawCharts: drawCharts };
})();
