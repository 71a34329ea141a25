// ipywidgets' HTML manager typesets widget labels with the MathJax 2 call
// MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]); the book loads MathJax 3, which
// has no Hub. This maps that one call onto MathJax 3's typesetPromise. Labels are written
// with $...$ as in Jupyter, which the book's MathJax 3 does not treat as math (it knows
// \(...\) only), so a plain-text label has its $...$ rewritten first. Loaded deferred,
// after MathJax and before the widgets render (they wait for DOMContentLoaded).
(function () {
  var mj = window.MathJax;
  if (!mj || mj.Hub) return;
  mj.Hub = {
    Queue: function (job) {
      var element = job && job[2];
      if (element && element.children.length === 0 && element.textContent) {
        element.textContent = element.textContent.replace(/\$([^$]+)\$/g, "\\($1\\)");
      }
      var ready = (mj.startup && mj.startup.promise) || Promise.resolve();
      ready.then(function () {
        if (element && mj.typesetPromise) return mj.typesetPromise([element]);
      }).catch(function (err) { console.warn("MathJax could not typeset a widget label", err); });
    },
  };
})();
