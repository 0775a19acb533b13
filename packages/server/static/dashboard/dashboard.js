// The DS dashboard's only script: draws the charts whose data the server put in each canvas's
// data-chart attribute. Every chart's numbers are also in a table beside it, so without this
// script (or Chart.js) the pages still say everything.
(function () {
  'use strict';
  if (typeof window.Chart !== 'function') return;
  var Chart = window.Chart;
  // Tableau 10: distinct hues that stay apart for most kinds of colour blindness.
  var PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
  var reduceMotion = window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches;

  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = getComputedStyle(document.body).color;
  if (reduceMotion) Chart.defaults.animation = false;

  function colour(i) {
    return PALETTE[i % PALETTE.length];
  }

  function config(spec) {
    var doughnut = spec.type === 'doughnut';
    var several = spec.datasets.length > 1;
    var datasets = spec.datasets.map(function (d, i) {
      return {
        label: d.label,
        data: d.data,
        backgroundColor: doughnut ? spec.labels.map(function (_, j) { return colour(j); }) : colour(i),
        borderColor: doughnut ? '#fff' : colour(i),
        borderWidth: doughnut ? 2 : 0,
      };
    });
    var options = {
      responsive: true,
      maintainAspectRatio: false,
      plugins: { legend: { display: doughnut || several, position: 'bottom' } },
    };
    // Chart.js defers a resize that arrives while the chart animates to its next draw; a resize in
    // the frame that finishes the animation gets no draw after it and was lost (the chart kept the
    // old width until something else redrew it). Measuring the box again when an animation ends
    // catches that; when the size is unchanged, resize() does nothing.
    if (!reduceMotion) {
      options.animation = {
        onComplete: function (context) {
          context.chart.resize();
        },
      };
    }
    if (!doughnut) {
      var valueAxis = { beginAtZero: true, stacked: !!spec.stacked, ticks: { precision: 0 } };
      var categoryAxis = { stacked: !!spec.stacked, ticks: { autoSkip: true } };
      options.indexAxis = spec.horizontal ? 'y' : 'x';
      options.scales = spec.horizontal ? { x: valueAxis, y: categoryAxis } : { x: categoryAxis, y: valueAxis };
    }
    return { type: spec.type, data: { labels: spec.labels, datasets: datasets }, options: options };
  }

  var canvases = document.querySelectorAll('canvas[data-chart]');
  for (var i = 0; i < canvases.length; i++) {
    var canvas = canvases[i];
    try {
      var spec = JSON.parse(canvas.getAttribute('data-chart'));
      // Horizontal bars get the height their categories need.
      if (spec.horizontal) canvas.parentNode.style.height = Math.max(180, spec.labels.length * 30 + 60) + 'px';
      new Chart(canvas, config(spec));
      canvas.setAttribute('data-drawn', '');
    } catch (error) {
      canvas.setAttribute('data-error', String(error));
    }
  }
})();
