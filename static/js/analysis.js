// The analysis page's charts (Chart.js, vendored). Loaded on that page only. The data comes from the
// json_script element "analysis-data"; every number is also in the page's tables, so without
// JavaScript nothing is lost. Colours are read from Bootstrap's CSS variables, and the charts are
// drawn again when the colour mode (data-bs-theme on <html>) changes.
(function () {
  "use strict";

  var source = document.getElementById("analysis-data");
  if (!source || !window.Chart) return;
  var data = JSON.parse(source.textContent);
  var charts = [];
  var reducedMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  function cssVar(element, name, fallback) {
    var value = getComputedStyle(element).getPropertyValue(name).trim();
    return value || fallback;
  }

  function palette(element) {
    return {
      text: cssVar(element, "--bs-body-color", "#212529"),
      muted: cssVar(element, "--bs-secondary-color", "#6c757d"),
      grid: cssVar(element, "--bs-border-color-translucent", "rgba(0,0,0,.175)"),
      border: cssVar(element, "--bs-border-color", "#dee2e6"),
      background: cssVar(element, "--bs-body-bg", "#fff"),
      primary: cssVar(element, "--bs-primary", "#0d6efd"),
      success: cssVar(element, "--bs-success", "#198754"),
      info: cssVar(element, "--bs-info", "#0dcaf0"),
      warning: cssVar(element, "--bs-warning", "#ffc107"),
    };
  }

  // A click on a bar opens the ticket list behind it, like the links in the tables.
  function openOnClick(urls) {
    return function (event, elements, chart) {
      if (!elements.length) return;
      var element = elements[0];
      var list = Array.isArray(urls[0]) ? urls[element.datasetIndex] : urls;
      var url = list[element.index];
      if (url) window.location.href = url;
    };
  }

  function pointerOnHover(event, elements) {
    event.native.target.style.cursor = elements.length ? "pointer" : "default";
  }

  function baseOptions(colours, horizontal) {
    var valueAxis = {
      beginAtZero: true,
      ticks: { precision: 0, color: colours.muted },
      grid: { color: colours.grid },
      border: { color: colours.border },
      title: { display: true, text: data.text.tickets, color: colours.muted },
    };
    var categoryAxis = {
      ticks: { color: colours.text, autoSkip: true, maxRotation: 0 },
      grid: { display: false },
      border: { color: colours.border },
    };
    return {
      responsive: true,
      maintainAspectRatio: false,
      animation: reducedMotion ? false : { duration: 300 },
      indexAxis: horizontal ? "y" : "x",
      onHover: pointerOnHover,
      scales: horizontal ? { x: valueAxis, y: categoryAxis } : { x: categoryAxis, y: valueAxis },
      plugins: {
        legend: { labels: { color: colours.text, boxWidth: 14 } },
        tooltip: {
          backgroundColor: colours.background,
          titleColor: colours.text,
          bodyColor: colours.text,
          borderColor: colours.border,
          borderWidth: 1,
        },
      },
    };
  }

  function weeksChart(canvas, colours) {
    var options = baseOptions(colours, false);
    options.onClick = openOnClick([data.weeks.openedUrls, data.weeks.closedUrls]);
    return new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.weeks.labels,
        datasets: [
          { label: data.text.opened, data: data.weeks.opened, backgroundColor: colours.primary, borderRadius: 3 },
          { label: data.text.closed, data: data.weeks.closed, backgroundColor: colours.success, borderRadius: 3 },
        ],
      },
      options: options,
    });
  }

  function singleSeriesChart(canvas, colours, series, colour, horizontal) {
    var options = baseOptions(colours, horizontal);
    options.plugins.legend.display = false;
    options.onClick = openOnClick(series.urls);
    return new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: series.labels,
        datasets: [{ label: data.text.tickets, data: series.values, backgroundColor: colour, borderRadius: 3 }],
      },
      options: options,
    });
  }

  function draw() {
    charts.forEach(function (chart) { chart.destroy(); });
    charts = [];
    var weeks = document.getElementById("chart-weeks");
    if (weeks) charts.push(weeksChart(weeks, palette(weeks)));
    var resolution = document.getElementById("chart-resolution");
    if (resolution) {
      var histogram = singleSeriesChart(resolution, palette(resolution), data.resolution, palette(resolution).info, false);
      // Seven short bins: show every label, slanted where the card is narrow.
      histogram.options.scales.x.ticks.autoSkip = false;
      histogram.options.scales.x.ticks.maxRotation = 50;
      histogram.update("none");
      charts.push(histogram);
    }
    var children = document.getElementById("chart-children");
    if (children) {
      // One bar per problem source: the chart grows with their number instead of squeezing them.
      children.parentElement.style.height = Math.max(160, 34 * data.children.labels.length + 48) + "px";
      charts.push(singleSeriesChart(children, palette(children), data.children, palette(children).primary, true));
    }
  }

  draw();
  new MutationObserver(draw).observe(document.documentElement, { attributes: true, attributeFilter: ["data-bs-theme"] });

  // Printing: the tables behind the charts are printed open, and the charts fit the paper.
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details.chart-numbers").forEach(function (details) { details.open = true; });
    charts.forEach(function (chart) { chart.resize(); });
  });
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.classList.remove("d-none");
    button.addEventListener("click", function () { window.print(); });
  });
})();
