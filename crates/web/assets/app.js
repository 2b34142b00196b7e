// Small behaviours that need no framework. Loaded from our own origin, so the
// Content-Security-Policy can forbid inline scripts.
(function () {
  "use strict";
  // htmx requests carry the CSRF token from the page's <meta> tag.
  document.addEventListener("htmx:configRequest", function (e) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) { e.detail.headers["X-CSRF-Token"] = meta.content; }
  });
  // Buttons marked data-confirm ask before submitting.
  document.addEventListener("submit", function (e) {
    var b = e.submitter;
    if (b && b.dataset.confirm && !window.confirm(b.dataset.confirm)) { e.preventDefault(); }
  });
  // Copy buttons (for a new API token, shown once).
  document.addEventListener("click", function (e) {
    var t = e.target.closest("[data-copy]");
    if (!t) { return; }
    var src = document.getElementById(t.dataset.copy);
    if (src && navigator.clipboard) { navigator.clipboard.writeText(src.textContent.trim()); t.textContent = "Copied"; }
  });
})();
