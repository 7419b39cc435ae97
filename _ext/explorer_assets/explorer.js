/* The course's interactive explorers (lossutils.explore), drawn with the site's own plotly.js.
 *
 * Each explorer arrives as a static figure (what print, the PDF edition and a browser without
 * JavaScript show) followed by its Plotly figure as JSON, every frame computed when the book
 * was built. This script draws the Plotly figure after the static one and marks the explorer
 * live, which hides the static figure on screen (explorer.css) but not in print. The sliders
 * are Plotly's own; this script adds the keyboard: with the figure focused, the left and right
 * arrow keys move the first slider, up and down the second.
 */
(function () {
  "use strict";

  // Below this width (a phone), the panels are stacked (the figure's "narrow" layout).
  var NARROW = 560;

  function goTo(plot, spec, k, index) {
    var slider = spec.layout.sliders[k];
    if (!slider || index < 0 || index >= slider.steps.length) return;
    var args = slider.steps[index].args;
    var layout = Object.assign({}, args[1]);
    layout["sliders[" + k + "].active"] = index;
    window.Plotly.update(plot, args[0], layout, args[2]);
  }

  function onKey(plot, spec, event) {
    var keys = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowDown: [1, -1], ArrowUp: [1, 1] };
    var move = keys[event.key];
    if (!move || !spec.layout.sliders[move[0]]) return;
    event.preventDefault();
    var current = plot._fullLayout.sliders[move[0]].active;
    goTo(plot, spec, move[0], current + move[1]);
  }

  function draw(box) {
    var source = box.querySelector("script.loss-explorer-figure");
    var image = box.querySelector("img.loss-explorer-static");
    if (!source || box.querySelector(".loss-explorer-plot")) return;
    var spec = JSON.parse(source.textContent);
    var plot = document.createElement("div");
    plot.className = "loss-explorer-plot";
    plot.tabIndex = 0;
    plot.setAttribute("role", "group");
    plot.setAttribute(
      "aria-label",
      (image ? image.alt + " " : "") + "Interactive: drag a slider, or use the arrow keys."
    );
    box.appendChild(plot);
    // Live first: Plotly measures the width it draws in, and a hidden element has none.
    box.classList.add("is-live");
    var drawn = window.Plotly.newPlot(plot, spec.data, spec.layout, spec.config);
    if (spec.narrow && box.clientWidth < NARROW) {
      drawn = drawn.then(function () { return window.Plotly.relayout(plot, spec.narrow); });
    }
    drawn.catch(function (error) {
      box.classList.remove("is-live"); // the static figure again
      console.error("explorer " + box.id + ": " + error);
    });
    plot.addEventListener("keydown", function (event) { onKey(plot, spec, event); });
  }

  function start() {
    if (typeof window.Plotly === "undefined") return; // the static figures stay
    document.querySelectorAll(".loss-explorer").forEach(draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
