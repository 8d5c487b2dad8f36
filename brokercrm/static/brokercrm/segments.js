// The segment builder's tag picker: typing filters the tags (Chinese or English name, or code)
// and selects the first match. Its events stay here: they are not a change of the segment, so the
// builder's live count (HTMX, on input within #builder) does not run for them.
(function () {
  function norm(s) { return (s || "").toLowerCase(); }
  function filter(input) {
    var select = document.querySelector('select[name="' + input.dataset.filter + '"]');
    if (!select) return;
    var q = norm(input.value.trim());
    var first = null;
    select.querySelectorAll("option").forEach(function (o) {
      var hit = !q || norm(o.textContent).indexOf(q) >= 0 || norm(o.value).indexOf(q) >= 0;
      o.hidden = !hit;
      if (hit && !first) first = o;
    });
    select.querySelectorAll("optgroup").forEach(function (g) {
      g.hidden = !g.querySelector("option:not([hidden])");
    });
    if (first) select.value = first.value;
  }
  function bind(root) {
    root.querySelectorAll("[data-picker]").forEach(function (el) {
      if (el.dataset.bound) return;
      el.dataset.bound = "1";
      el.addEventListener("keydown", function (event) {
        if (event.key === "Enter") event.preventDefault();  // not "save the segment"
      });
      ["input", "change"].forEach(function (name) {
        el.addEventListener(name, function (event) {
          event.stopPropagation();
          if (el.classList.contains("tag-filter")) filter(el);
        });
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { bind(document); });
  document.addEventListener("htmx:afterSettle", function (event) { bind(event.target); });
})();
