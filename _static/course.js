// Site behaviour for "Loss Functions in Deep Learning" (Jupyter Book loads every _static/*.js).
(() => {
  "use strict";

  const ready = (fn) =>
    document.readyState !== "loading" ? fn() : document.addEventListener("DOMContentLoaded", fn);

  // 1. The menu and contents buttons in the article header. pydata-sphinx-theme 0.17 opens its
  //    sidebar dialogs, and sphinx-book-theme collapses the chapter menu on a wide screen, only
  //    from the FIRST .primary-toggle / .secondary-toggle of the page: the ones in the theme's
  //    own header, which this site never shows. The visible buttons had no handler
  //    (pydata-sphinx-theme#2451, sphinx-book-theme#988): forward their clicks.
  ready(() => {
    for (const kind of ["primary", "secondary"]) {
      const [bound, ...visible] = document.querySelectorAll(`.${kind}-toggle`);
      for (const button of visible) {
        button.addEventListener("click", (event) => {
          event.preventDefault();
          event.stopPropagation();
          bound.click();
        });
      }
    }
  });

  // 2. Tables and formulas wider than their column scroll sideways in their own box; say so,
  //    so that nothing is hidden without a hint: a table gets a line of text above it, both get
  //    a shadow on the side where more is (the class "is-scrollable", _static/course.css).
  //    Re-checked once MathJax has typeset the page and when the window changes size.
  const HINT = "Scroll the table sideways to see every column";
  const scrolls = (box) => box.scrollWidth > box.clientWidth + 1;
  const markTables = () => {
    document.querySelectorAll(".bd-article table").forEach((table) => {
      let box = table.closest(".pst-scrollable-table-container, .table-scroll");
      if (!box) {
        box = document.createElement("div");
        box.className = "table-scroll";
        table.replaceWith(box);
        box.appendChild(table);
      }
      const wide = scrolls(box);
      box.classList.toggle("is-scrollable", wide);
      let hint = box.previousElementSibling;
      if (!(hint && hint.classList.contains("table-scroll-hint"))) hint = null;
      if (wide && !hint) {
        hint = document.createElement("p");
        hint.className = "table-scroll-hint";
        hint.textContent = HINT;
        box.before(hint);
      }
      if (hint) hint.hidden = !wide;
    });
  };
  const markFormulas = () => {
    document.querySelectorAll('.bd-article mjx-container[display="true"]').forEach((math) => {
      math.classList.toggle("is-scrollable", scrolls(math));
    });
  };
  const markScrollable = () => {
    markTables();
    markFormulas();
  };
  ready(markScrollable);
  window.addEventListener("load", () => {
    markScrollable();
    const startup = window.MathJax && window.MathJax.startup && window.MathJax.startup.promise;
    if (startup) startup.then(markScrollable);
  });
  let pending = null;
  window.addEventListener("resize", () => {
    clearTimeout(pending);
    pending = setTimeout(markScrollable, 150);
  });
})();
