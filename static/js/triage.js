// Defect pages: keyboard triage on the board, bulk-bar fields, htmx error fragments, upload progress.
(function () {
  "use strict";

  // Refusals (400/403/409) come back as fragments carrying the message: swap them in like successes.
  document.addEventListener("htmx:beforeSwap", function (ev) {
    var code = ev.detail.xhr.status;
    if (code === 400 || code === 403 || code === 409 || code === 413) {
      ev.detail.shouldSwap = true;
      ev.detail.isError = false;
    }
  });

  function rows() { return Array.prototype.slice.call(document.querySelectorAll("#defect-table tbody tr[data-key]")); }
  var cursor = -1;

  function setCursor(index) {
    var all = rows();
    if (!all.length) return;
    cursor = Math.max(0, Math.min(index, all.length - 1));
    all.forEach(function (tr, i) { tr.classList.toggle("cursor", i === cursor); });
    all[cursor].scrollIntoView({ block: "nearest" });
  }

  function updateSelection() {
    var boxes = document.querySelectorAll("#defect-table tbody input[name=ids]");
    var n = 0;
    boxes.forEach(function (box) {
      box.closest("tr").classList.toggle("selected", box.checked);
      if (box.checked) n += 1;
    });
    var counter = document.getElementById("selected-count");
    if (counter) counter.textContent = String(n);
    showBulkFields();
  }

  // The bulk bar: every field starts at "no change"; Apply is enabled once rows and a change are chosen, and
  // the line next to it says what will be set.
  var BULK_FIELDS = ["bulk-assignee", "bulk-severity", "bulk-priority", "bulk-to", "bulk-release", "bulk-original"];

  function chosenChanges() {
    var said = [];
    BULK_FIELDS.forEach(function (id) {
      var el = document.getElementById(id);
      if (!el || !el.value) return;
      var text = el.tagName === "SELECT" ? el.options[el.selectedIndex].text : el.value;
      said.push((el.getAttribute("aria-label") || id) + ": " + text);
    });
    var resolution = document.getElementById("bulk-resolution");
    if (resolution && resolution.value) said.push("resolution: " + resolution.options[resolution.selectedIndex].text);
    return said;
  }

  function showBulkFields() {
    var apply = document.getElementById("bulk-apply");
    if (!apply) return;
    var n = document.querySelectorAll("#defect-table tbody input[name=ids]:checked").length;
    var said = chosenChanges();
    apply.disabled = !(n && said.length);
    var preview = document.getElementById("bulk-preview");
    if (preview) {
      preview.textContent = !n ? "Select rows (x or the boxes)." : !said.length ? "Choose a change to apply."
        : "Apply to " + n + ": " + said.join(", ") + ".";
    }
  }

  function clearBulkFields() {
    BULK_FIELDS.concat(["bulk-resolution", "bulk-comment"]).forEach(function (id) {
      var el = document.getElementById(id);
      if (el) el.value = "";
    });
    showBulkFields();
  }

  function chooseField(focusId) {
    var target = document.getElementById(focusId);
    if (target) target.focus();
  }

  function applyBulk() {
    var apply = document.getElementById("bulk-apply");
    if (apply && !apply.disabled) apply.click();
  }

  document.addEventListener("change", function (ev) {
    if (ev.target.id === "select-all") {
      document.querySelectorAll("#defect-table tbody input[name=ids]").forEach(function (box) { box.checked = ev.target.checked; });
      updateSelection();
    } else if (ev.target.name === "ids") {
      updateSelection();
    }
    if (ev.target.closest && ev.target.closest("#bulk-bar")) showBulkFields();
  });
  document.addEventListener("input", function (ev) {
    if (ev.target.closest && ev.target.closest("#bulk-bar")) showBulkFields();
  });

  document.addEventListener("keydown", function (ev) {
    var el = ev.target;
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey) && document.getElementById("bulk-bar")) {
      ev.preventDefault();
      applyBulk();
      return;
    }
    var help = document.getElementById("kbd-help");
    if (ev.key === "Escape" && help && !help.hidden) { toggleHelp(); return; }
    var typing = el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable);
    if (ev.key === "Escape" && typing) { el.blur(); return; }
    if (typing || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (!document.getElementById("defect-table")) {
      if (ev.key === "?") toggleHelp();
      return;
    }
    var all = rows();
    switch (ev.key) {
      case "j": setCursor(cursor + 1); break;
      case "k": setCursor(cursor - 1); break;
      case "x":
        if (cursor >= 0 && all[cursor]) {
          var box = all[cursor].querySelector("input[name=ids]");
          box.checked = !box.checked;
          updateSelection();
        }
        break;
      case "o":
      case "Enter":
        if (cursor >= 0 && all[cursor]) all[cursor].querySelector("a.defect-link").click();
        break;
      case "a": chooseField("bulk-assignee"); break;
      case "s": chooseField("bulk-severity"); break;
      case "p": chooseField("bulk-priority"); break;
      case "m": chooseField("bulk-to"); break;
      case "r":
        if (!document.getElementById("bulk-to")) return;
        document.getElementById("bulk-to").value = "resolved";
        document.getElementById("bulk-resolution").value = "fixed";
        showBulkFields();
        chooseField("bulk-resolution");
        break;
      case "d": chooseField("bulk-original"); break;
      case "/": document.getElementById("f-q").focus(); break;
      case "?": toggleHelp(); break;
      default: return;
    }
    ev.preventDefault();
  });

  var helpOpener = null;
  function toggleHelp() {
    var help = document.getElementById("kbd-help");
    if (!help) return;
    help.hidden = !help.hidden;
    if (!help.hidden) {
      helpOpener = document.activeElement;
      var close = document.getElementById("kbd-help-close");
      if (close) close.focus();
    } else if (helpOpener && helpOpener.focus) {
      helpOpener.focus();
    }
  }
  document.addEventListener("click", function (ev) {
    if (!ev.target.closest) return;
    if (ev.target.closest("[data-help-toggle]")) toggleHelp();
    else if (ev.target.id === "kbd-help") toggleHelp();  // a click on the backdrop closes the help
    else if (ev.target.id === "bulk-clear") clearBulkFields();
  });

  // After Apply the rows come back with the selection still ticked; a successful Apply resets the bar's
  // fields to "no change" so a second press cannot repeat it by accident.
  document.addEventListener("htmx:afterSwap", function (ev) {
    if (ev.target.id === "board-results" || ev.target.closest && ev.target.closest("#bulk-form")) {
      cursor = -1;
      updateSelection();
      if (document.getElementById("bulk-report")) clearBulkFields();
      showBulkFields();
    }
  });

  // Phones: the filters start folded (unless some are set) so the rows are on the first screen.
  function foldFilters() {
    var panel = document.getElementById("filter-panel");
    if (panel && window.matchMedia("(max-width: 700px)").matches && !window.location.search) panel.open = false;
  }

  // Upload progress for the Jira import form.
  document.addEventListener("htmx:xhr:progress", function (ev) {
    var bar = document.getElementById("import-progress");
    if (!bar || !ev.detail.lengthComputable) return;
    bar.hidden = false;
    bar.value = Math.round((ev.detail.loaded / ev.detail.total) * 100);
    var label = document.getElementById("import-progress-label");
    if (label) label.textContent = bar.value < 100 ? "Uploading… " + bar.value + "%" : "Uploaded, importing…";
  });
  document.addEventListener("htmx:afterRequest", function () {
    var label = document.getElementById("import-progress-label");
    var bar = document.getElementById("import-progress");
    if (label && bar && !bar.hidden) { label.textContent = "Done."; }
  });

  document.addEventListener("DOMContentLoaded", function () { foldFilters(); updateSelection(); showBulkFields(); });
})();
