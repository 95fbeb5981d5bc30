// Keyboard shortcuts for the review UI. Everything also works without JavaScript.
// j/k move between rows (queue) or pages (case), Enter/o open, x select for bulk,
// c confirm, d dismiss (focuses the reason), n note, a approve forwarding, u back to the queue.
(function () {
  "use strict";
  var rows = Array.prototype.slice.call(document.querySelectorAll("[data-row]"));
  var cur = -1;
  function select(n) {
    if (!rows.length) return;
    cur = Math.max(0, Math.min(rows.length - 1, n));
    rows.forEach(function (r, k) {
      r.classList.toggle("sel", k === cur);
      r.setAttribute("aria-selected", k === cur ? "true" : "false");
    });
    rows[cur].scrollIntoView({ block: "nearest" });
  }
  function submit(id) {
    var f = document.getElementById(id);
    if (!f) return false;
    if (f.requestSubmit) f.requestSubmit(); else f.submit();
    return true;
  }
  function focus(id) {
    var el = document.getElementById(id);
    if (el) el.focus();
    return !!el;
  }
  if (rows.length && document.querySelector("[data-row] a[data-open]")) select(0);
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var t = e.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT")) {
      if (e.key === "Escape") t.blur();
      return;
    }
    var k = e.key, handled = true;
    if (k === "j") select(cur + 1);
    else if (k === "k") select(cur - 1);
    else if ((k === "Enter" || k === "o") && cur >= 0) {
      var a = rows[cur].querySelector("a[data-open]");
      if (a) window.location.href = a.getAttribute("href"); else handled = false;
    } else if (k === "x" && cur >= 0) {
      var cb = rows[cur].querySelector("input[type=checkbox]");
      if (cb) cb.checked = !cb.checked;
    } else if (k === "c") handled = submit("form-confirm");
    else if (k === "a") handled = submit("form-approve");
    else if (k === "d") handled = focus("dismiss-reason");
    else if (k === "n") handled = focus("note-text");
    else if (k === "u") window.location.href = "/queue";
    else handled = false;
    if (handled) e.preventDefault();
  });
})();
