// Parcours console: the little script the pages need beyond htmx. It draws
// the charts (uPlot) from the data attributes the server wrote, and sends
// the CSRF token with htmx requests. No inline script anywhere (the
// Content-Security-Policy forbids it).
(function () {
  "use strict";
  function csrf() { var m = document.querySelector('meta[name="csrf-token"]'); return m ? m.content : ""; }
  document.addEventListener("htmx:configRequest", function (e) { e.detail.headers["X-CSRF-Token"] = csrf(); });

  // A chart element: data-chart='{"labels":[...],"series":[{"name":..,"values":[..]}, ...]}'.
  function draw(el) {
    if (el.dataset.drawn || !window.uPlot) return;
    var d = JSON.parse(el.dataset.chart);
    if (!d.labels || !d.labels.length) return;
    el.dataset.drawn = "1";
    var xs = d.labels.map(function (_, i) { return i; });
    var colors = ["#0b5cad", "#9aa7b5", "#1d6b36", "#a4161a"];
    var series = [{ label: "" }].concat(d.series.map(function (s, i) {
      return { label: s.name, stroke: colors[i % colors.length], width: 2, dash: i === 1 ? [5, 4] : undefined };
    }));
    var data = [xs].concat(d.series.map(function (s) { return s.values; }));
    var w = el.clientWidth || 300;
    new uPlot({
      width: w, height: 140, series: series, legend: { show: false },
      cursor: { show: true }, scales: { x: { time: false } },
      axes: [{ space: 70, values: function (u, vals) { return vals.map(function (v) { return Number.isInteger(v) ? (d.labels[v] || "") : ""; }); }, size: 30 },
             { size: 56 }]
    }, data, el);
  }
  function drawAll(root) { (root || document).querySelectorAll("[data-chart]").forEach(draw); }
  document.addEventListener("DOMContentLoaded", function () { drawAll(); });
  document.addEventListener("htmx:afterSwap", function (e) { drawAll(e.target); });
  window.addEventListener("load", function () { drawAll(); });
})();
