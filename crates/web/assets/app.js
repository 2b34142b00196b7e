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
    if (src && navigator.clipboard) { navigator.clipboard.writeText((src.innerText || src.textContent).trim()); t.textContent = "Copied"; }
  });
  // Print buttons (recovery codes to keep on paper).
  document.addEventListener("click", function (e) {
    if (e.target.closest("[data-print]")) { window.print(); }
  });
})();
// Intake: show one step of a form[data-steps] at a time.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-steps]");
    if (!form) { return; }
    var steps = Array.prototype.slice.call(form.querySelectorAll("fieldset.step"));
    var back = form.querySelector("[data-step-back]");
    var next = form.querySelector("[data-step-next]");
    var count = form.querySelector("[data-step-count]");
    var at = 0;
    function show(i) {
      at = Math.max(0, Math.min(steps.length - 1, i));
      steps.forEach(function (s, j) { s.classList.toggle("current", j === at); });
      back.hidden = at === 0;
      next.hidden = at === steps.length - 1;
      count.textContent = "Step " + (at + 1) + " of " + steps.length;
      window.scrollTo(0, 0);
    }
    var problem = document.getElementById("step-problem");
    // Questions on this step with no answer yet. Nothing is pre-chosen, so
    // a patient cannot tap through to the end without answering.
    function unanswered(step) {
      return Array.prototype.filter.call(step.querySelectorAll("[data-question]"), function (q) {
        var radios = q.querySelectorAll("input[type=radio][required]");
        return radios.length > 0 && !Array.prototype.some.call(radios, function (r) { return r.checked; });
      });
    }
    // The review: every answer that is not "No", in the patient's words.
    function review() {
      var box = form.querySelector("[data-review]");
      if (!box) { return; }
      var list = box.querySelector("ul");
      list.textContent = "";
      Array.prototype.forEach.call(form.querySelectorAll("[data-question]"), function (q) {
        var chosen = q.querySelector("input[type=radio]:checked");
        var title = q.querySelector("p");
        if (!chosen || chosen.value === "no" || !title) { return; }
        var li = document.createElement("li");
        li.textContent = title.textContent.trim() + " " + chosen.parentNode.textContent.trim();
        var places = Array.prototype.map.call(q.querySelectorAll("details.where input:checked"), function (c) {
          return c.parentNode.textContent.trim();
        });
        if (places.length > 0) { li.textContent += " (where: " + places.join(", ") + ")"; }
        var controlled = q.querySelector("input[type=radio][name$='.controlled']:checked");
        if (controlled) {
          li.textContent += " (well controlled: " + controlled.parentNode.textContent.trim() + ")";
        }
        list.appendChild(li);
      });
      Array.prototype.forEach.call(form.querySelectorAll("textarea"), function (t) {
        if (!t.value.trim()) { return; }
        var li = document.createElement("li");
        li.textContent = t.value.trim();
        list.appendChild(li);
      });
      box.hidden = false;
    }
    // A Yes opens "where?", so the patient says where without hunting for it.
    form.addEventListener("change", function (e) {
      var r = e.target;
      if (r.type !== "radio" || r.value === "no") { return; }
      var where = r.closest("[data-question]") && r.closest("[data-question]").querySelector("details.where");
      if (where && r.value !== "unsure") { where.open = true; }
    });
    back.addEventListener("click", function () { problem.hidden = true; show(at - 1); });
    next.addEventListener("click", function () {
      var missing = unanswered(steps[at]);
      Array.prototype.forEach.call(steps[at].querySelectorAll("[data-question]"), function (q) {
        q.classList.toggle("has-error", missing.indexOf(q) >= 0);
      });
      if (missing.length > 0) {
        problem.textContent = missing.length === 1
          ? "Please answer the question marked below before going on."
          : "Please answer the " + missing.length + " questions marked below before going on.";
        problem.hidden = false;
        missing[0].scrollIntoView({ block: "center" });
        missing[0].querySelector("input").focus();
        return;
      }
      problem.hidden = true;
      if (at + 1 === steps.length - 1) { review(); }
      show(at + 1);
    });
    // A page that came back with errors opens on the first step with one.
    var first = steps.findIndex(function (s) { return s.querySelector(".has-error"); });
    show(first >= 0 ? first : 0);
    if (first === steps.length - 1) { review(); }
  });
})();
// Signature pads: draw on canvas[data-signature-for], keep a PNG data URL in
// the hidden input it names (empty until something is drawn).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("canvas[data-signature-for]"), function (pad) {
      var input = document.getElementById(pad.dataset.signatureFor);
      var ctx = pad.getContext("2d");
      var drawing = false;
      ctx.lineWidth = 3; ctx.lineCap = "round"; ctx.strokeStyle = "#111";
      function at(e) {
        var r = pad.getBoundingClientRect();
        return { x: (e.clientX - r.left) * pad.width / r.width, y: (e.clientY - r.top) * pad.height / r.height };
      }
      pad.addEventListener("pointerdown", function (e) { drawing = true; var p = at(e); ctx.beginPath(); ctx.moveTo(p.x, p.y); e.preventDefault(); });
      pad.addEventListener("pointermove", function (e) { if (!drawing) { return; } var p = at(e); ctx.lineTo(p.x, p.y); ctx.stroke(); });
      function end() { if (drawing) { drawing = false; input.value = pad.toDataURL("image/png"); } }
      pad.addEventListener("pointerup", end);
      pad.addEventListener("pointerleave", end);
      // The keyboard's way to sign: Enter or Space on the pad writes the
      // name typed in its field as the signature.
      pad.addEventListener("keydown", function (e) {
        if (e.key !== "Enter" && e.key !== " ") { return; }
        e.preventDefault();
        var field = document.getElementById(pad.dataset.typedName);
        var name = field ? field.value.trim() : "";
        if (!name) { if (field) { field.focus(); } return; }
        ctx.clearRect(0, 0, pad.width, pad.height);
        ctx.fillStyle = "#111";
        ctx.font = "italic 52px Georgia, 'Times New Roman', serif";
        ctx.fillText(name, 24, 112, pad.width - 48);
        input.value = pad.toDataURL("image/png");
      });
      var clear = document.querySelector('[data-signature-clear="' + pad.id + '"]');
      if (clear) { clear.addEventListener("click", function () { ctx.clearRect(0, 0, pad.width, pad.height); input.value = ""; }); }
    });
  });
})();
// Photos: preview the chosen photo under the guide overlay; slide between
// before and after.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    // A form that came back with errors: put the cursor on the first one.
    var bad = document.querySelector(".has-error input, .has-error select, .has-error textarea");
    if (bad) { bad.focus(); bad.scrollIntoView({ block: "center" }); }
    var file = document.getElementById("photo-file");
    var guide = document.getElementById("photo-guide");
    if (file && guide) {
      file.addEventListener("change", function () {
        var f = file.files && file.files[0];
        // Too large: said now, in the server's words, not after the upload.
        var max = Number(file.getAttribute("data-max-bytes"));
        var mb = function (n) { return Math.ceil(n / 1048576); };
        file.setCustomValidity(f && max && f.size > max
          ? "The file is " + mb(f.size) + " MB; photos up to " + Math.floor(max / 1048576) + " MB are accepted."
          : "");
        if (f && max && f.size > max) { file.reportValidity(); }
        if (!f) { guide.hidden = true; return; }
        guide.querySelector(".preview").src = URL.createObjectURL(f);
        guide.hidden = false;
      });
    }
    var slider = document.getElementById("overlay-slider");
    var top = document.getElementById("overlay-top");
    if (slider && top) {
      var set = function () { top.style.clipPath = "inset(0 0 0 " + slider.value + "%)"; };
      slider.addEventListener("input", set);
      set();
    }
  });
})();
// The header's patient search: arrow keys move through the suggestions,
// Enter opens the one chosen (or searches when none is), Escape closes
// them; "/" anywhere outside a field jumps to the box.
(function () {
  "use strict";
  function options() { return Array.prototype.slice.call(document.querySelectorAll("#header-search-results li")); }
  function choose(box, i) {
    var list = options();
    list.forEach(function (li, j) {
      li.classList.toggle("active", j === i);
      if (li.getAttribute("role") === "option") { li.setAttribute("aria-selected", j === i ? "true" : "false"); }
    });
    if (i >= 0 && list[i]) {
      if (!list[i].id) { list[i].id = "suggest-more"; }
      box.setAttribute("aria-activedescendant", list[i].id);
      list[i].scrollIntoView({ block: "nearest" });
    } else {
      box.removeAttribute("aria-activedescendant");
    }
  }
  function close(box) {
    var results = document.getElementById("header-search-results");
    if (results) { results.textContent = ""; }
    box.setAttribute("aria-expanded", "false");
    box.removeAttribute("aria-activedescendant");
  }
  document.addEventListener("htmx:afterSwap", function (e) {
    if (e.target.id !== "header-search-results") { return; }
    var box = document.getElementById("header-search");
    box.setAttribute("aria-expanded", options().length > 0 ? "true" : "false");
    choose(box, -1);
  });
  document.addEventListener("keydown", function (e) {
    var box = document.getElementById("header-search");
    if (!box) { return; }
    if (e.target !== box) {
      var typing = e.target.closest("input, textarea, select, [contenteditable]");
      if (e.key === "/" && !typing && !e.ctrlKey && !e.metaKey && !e.altKey) { e.preventDefault(); box.focus(); }
      return;
    }
    var list = options();
    var at = list.findIndex(function (li) { return li.classList.contains("active"); });
    if (e.key === "ArrowDown" && list.length) { e.preventDefault(); choose(box, (at + 1) % list.length); }
    else if (e.key === "ArrowUp" && list.length) { e.preventDefault(); choose(box, at <= 0 ? list.length - 1 : at - 1); }
    else if (e.key === "Escape") { close(box); }
    else if (e.key === "Enter" && at >= 0) {
      var link = list[at].querySelector("a");
      if (link) { e.preventDefault(); window.location.href = link.href; }
    }
  });
  // Clicking elsewhere closes the suggestions.
  document.addEventListener("click", function (e) {
    var box = document.getElementById("header-search");
    if (box && !e.target.closest(".header-search")) { close(box); }
  });
})();
// On a phone the menu waits behind its button.
(function () {
  "use strict";
  document.addEventListener("click", function (e) {
    var b = e.target.closest(".menu-button");
    if (!b) { return; }
    var nav = document.getElementById(b.getAttribute("aria-controls"));
    var open = nav.classList.toggle("open");
    b.setAttribute("aria-expanded", open ? "true" : "false");
  });
})();
// A table wider than the screen scrolls inside its box: the box joins the
// tab order and is named, so it can be scrolled from the keyboard too.
(function () {
  "use strict";
  function mark() {
    Array.prototype.forEach.call(document.querySelectorAll(".table-wrap"), function (w) {
      if (w.scrollWidth > w.clientWidth + 1) {
        w.setAttribute("tabindex", "0");
        w.setAttribute("role", "region");
        var caption = w.querySelector("caption");
        var heading = w.closest("section, .card");
        heading = heading && heading.querySelector("h2, h3");
        w.setAttribute("aria-label", ((caption || heading || {}).textContent || "Table").trim() + " (scrolls sideways)");
      } else if (w.getAttribute("role") === "region") {
        w.removeAttribute("tabindex");
        w.removeAttribute("role");
        w.removeAttribute("aria-label");
      }
    });
  }
  document.addEventListener("DOMContentLoaded", mark);
  window.addEventListener("resize", mark);
  document.addEventListener("htmx:afterSettle", mark);
})();
// The numbing cream's countdown: minutes left until it has been on long
// enough, then a word that it has (without scripts the page says when).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var el = document.getElementById("numbing-countdown");
    if (!el) { return; }
    var at = el.textContent.replace(/^.* at /, "").replace(/\.$/, "");
    // Counted on the server's clock: a tablet's own may be minutes off.
    var skew = Number(el.dataset.now) - Date.now();
    function show() {
      var left = Math.ceil((Number(el.dataset.readyAt) - (Date.now() + skew)) / 60000);
      if (left > 0) {
        el.textContent = "Numbing cream: " + left + " min to go (ready at " + at + ").";
      } else {
        el.className = "notice ok countdown";
        el.textContent = "The numbing cream has been on long enough: save the checklist to check again.";
      }
    }
    show();
    window.setInterval(show, 15000);
  });
})();
// The chart's zone map: choosing a zone opens its form in place (the map's
// links are SVG, which htmx's boost leaves alone), so a tablet does not
// reload the page or jump; without scripts the link opens the page.
(function () {
  "use strict";
  document.addEventListener("click", function (e) {
    var a = e.target.closest(".zone-map a");
    var zones = document.getElementById("zones");
    if (!a || !zones || !window.htmx || e.ctrlKey || e.metaKey || e.shiftKey) { return; }
    e.preventDefault();
    var href = a.getAttribute("href") || (a.href && a.href.baseVal);
    window.htmx.ajax("GET", href, { target: "#zones", select: "#zones", swap: "outerHTML show:none" });
  });
})();
