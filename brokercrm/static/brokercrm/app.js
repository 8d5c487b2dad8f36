// Small behaviours that CSP forbids inline: report failed HTMX requests instead of failing silently.
document.addEventListener("htmx:responseError", function (event) {
  var status = event.detail.xhr ? event.detail.xhr.status : "?";
  var box = document.querySelector(".page");
  if (!box) return;
  var note = document.createElement("p");
  note.className = "error";
  note.textContent = (document.documentElement.lang === "en" ? "Request failed: " : "请求失败：") + status;
  box.prepend(note);
});

// Charts: an element with data-chart="<id of a json_script>" is drawn with ECharts.
// Money arrives as strings (exact decimals); ECharts needs numbers only to draw.
function drawCharts(root) {
  if (typeof echarts === "undefined") return;
  root.querySelectorAll("[data-chart]").forEach(function (el) {
    if (el.dataset.drawn) return;
    var source = document.getElementById(el.dataset.chart);
    if (!source) return;
    var data = JSON.parse(source.textContent);
    var labels = el.dataset.labels ? JSON.parse(el.dataset.labels) : {};
    var names = Object.keys(data.series);
    var chart = echarts.init(el);
    chart.setOption({
      tooltip: { trigger: "axis" },
      legend: { data: names.map(function (n) { return labels[n] || n; }), selected: { } },
      grid: { left: 80, right: 20, top: 40, bottom: 30 },
      xAxis: { type: "category", data: data.dates },
      yAxis: { type: "value" },
      series: names.map(function (n) {
        return { name: labels[n] || n, type: "line", showSymbol: false, data: data.series[n].map(Number) };
      })
    });
    el.dataset.drawn = "1";
    window.addEventListener("resize", function () { chart.resize(); });
  });
}
document.addEventListener("DOMContentLoaded", function () { drawCharts(document); });
document.addEventListener("htmx:afterSettle", function (event) { drawCharts(event.target); });
