// Fixes for readers who use a screen reader or the keyboard, applied to every page as it
// changes (the widgets render after the page has loaded). tests/browser/test_a11y.py runs
// axe-core on every page and asks for no serious or critical finding; each fix below
// answers one of its findings.
(function () {
  "use strict";

  function controlsText(widget) {
    // "rows = 3, cols = 4": the settings a widget's figure was drawn for.
    var parts = [];
    widget.querySelectorAll(".widget-inline-hbox").forEach(function (box) {
      var label = box.querySelector(".widget-label");
      var name = label ? label.textContent.replace(/\$/g, "").trim() : "";
      if (!name) return;
      var value = "";
      var handle = box.querySelector("[role=slider]");
      var select = box.querySelector("select");
      var readout = box.querySelector(".widget-readout");
      if (readout && readout.textContent.trim()) value = readout.textContent.trim();
      else if (handle) value = handle.getAttribute("aria-valuetext") || handle.getAttribute("aria-valuenow") || "";
      else if (select) value = [].map.call(select.selectedOptions, function (o) { return o.textContent; }).join(", ");
      if (value) parts.push(name + " = " + value);
    });
    return parts.join(", ");
  }

  function nameLabel(label) {
    // The label names its slider through aria-labelledby (a label typeset by MathJax
    // reads as its assistive MathML, e.g. "η").
    if (!label.id) label.id = "nnfp-label-" + Math.random().toString(36).slice(2);
    return label.id;
  }

  function fix(root) {
    // Label in Name (WCAG 2.5.3): the theme's search buttons and the "Show code cell"
    // toggles carry an aria-label that hides the words on screen; their text names them.
    root.querySelectorAll(".search-button__button[aria-label], details > summary[aria-label]")
      .forEach(function (el) { if (el.textContent.trim()) el.removeAttribute("aria-label"); });
    // The colour-mode button is named by its aria-label; its icons are decoration, and
    // their titles ("Light", "Dark") would be words on screen missing from that name.
    root.querySelectorAll(".theme-switch-button svg").forEach(function (svg) {
      svg.setAttribute("aria-hidden", "true");
      svg.removeAttribute("aria-labelledby");
      svg.querySelectorAll("title").forEach(function (t) { t.remove(); });
    });
    // sphinxcontrib-bibtex: a role=list whose entries have the deprecated doc-biblioentry.
    root.querySelectorAll('[role="list"] > [role="doc-biblioentry"]').forEach(function (el) {
      el.setAttribute("role", "listitem");
    });
    // Widgets: every slider handle is named by its description label.
    root.querySelectorAll(".widget-inline-hbox").forEach(function (box) {
      var label = box.querySelector(".widget-label");
      var id = label && label.textContent.trim() ? nameLabel(label) : null;
      box.querySelectorAll("[role=slider]:not([aria-labelledby]):not([aria-label])")
        .forEach(function (handle) {
          if (id) handle.setAttribute("aria-labelledby", id);
          else handle.setAttribute("aria-label", "slider");
        });
    });
    // Widgets: the figure a widget draws gets its cell's description (book/_ext/a11y.py)
    // and the settings it was drawn for.
    // Recomputed as the page changes: the labels are typeset by MathJax after the images.
    root.querySelectorAll(".cell_output img:not([alt]), .cell_output img[data-nnfp-alt]")
      .forEach(function (img) {
        var output = img.closest(".cell_output");
        var note = output && output.querySelector(".nnfp-widget-alt");
        var widget = img.closest(".widget-subarea") || output;
        var settings = widget ? controlsText(widget) : "";
        var alt = note ? note.getAttribute("data-alt") : "Figure drawn by the widget";
        alt += settings ? " Shown for " + settings + "." : "";
        if (img.getAttribute("alt") !== alt) img.setAttribute("alt", alt);
        img.setAttribute("data-nnfp-alt", "");
      });
  }

  function start() {
    fix(document);
    new MutationObserver(function () { fix(document); })
      .observe(document.body, { childList: true, subtree: true });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
