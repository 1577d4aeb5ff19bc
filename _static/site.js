// Display math that is wider than its box scrolls inside it (see site.css); like the theme
// does for code blocks and tables, such a box is made reachable by keyboard (tabindex 0) and
// named, so it can be scrolled without a mouse (axe: scrollable-region-focusable).
(function () {
  function tabStops() {
    document.querySelectorAll(".bd-article .katex-display").forEach(function (el) {
      if (el.scrollWidth > el.clientWidth + 1) {
        el.tabIndex = 0;
        el.setAttribute("role", "region");
        el.setAttribute("aria-label", "Wide formula (scrolls sideways)");
      } else if (el.hasAttribute("tabindex")) {
        el.removeAttribute("tabindex");
        el.removeAttribute("role");
        el.removeAttribute("aria-label");
      }
    });
  }
  var timer = null;
  function later() {
    clearTimeout(timer);
    timer = setTimeout(tabStops, 150);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", tabStops);
  } else {
    tabStops();
  }
  // Widths change once the page's fonts (KaTeX's among them) have loaded: measure again then.
  window.addEventListener("load", tabStops);
  if (document.fonts && document.fonts.ready) {
    document.fonts.ready.then(tabStops);
  }
  window.addEventListener("resize", later);
})();
