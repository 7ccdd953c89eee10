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
  }

  function showBulkFields() {
    var select = document.getElementById("bulk-action");
    if (!select) return;
    document.querySelectorAll("#bulk-bar [data-for]").forEach(function (span) {
      var on = span.dataset.for === select.value;
      span.hidden = !on;
      span.querySelectorAll("input, select").forEach(function (el) { el.disabled = !on; });
    });
  }

  function chooseAction(action, focusId) {
    var select = document.getElementById("bulk-action");
    if (!select) return;
    select.value = action;
    showBulkFields();
    var target = focusId && document.getElementById(focusId);
    (target || select).focus();
  }

  document.addEventListener("change", function (ev) {
    if (ev.target.id === "select-all") {
      document.querySelectorAll("#defect-table tbody input[name=ids]").forEach(function (box) { box.checked = ev.target.checked; });
      updateSelection();
    } else if (ev.target.name === "ids") {
      updateSelection();
    } else if (ev.target.id === "bulk-action") {
      showBulkFields();
    }
  });

  document.addEventListener("keydown", function (ev) {
    var el = ev.target;
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
      case "a": chooseAction("assign", "bulk-assignee"); break;
      case "r":
        chooseAction("move", "bulk-resolution");
        document.getElementById("bulk-to").value = "resolved";
        document.getElementById("bulk-resolution").value = "fixed";
        break;
      case "d": chooseAction("mark_duplicate", "bulk-original"); break;
      case "/": document.getElementById("f-q").focus(); break;
      case "?": toggleHelp(); break;
      default: return;
    }
    ev.preventDefault();
  });

  function toggleHelp() {
    var help = document.getElementById("kbd-help");
    if (help) help.hidden = !help.hidden;
  }
  document.addEventListener("click", function (ev) {
    if (ev.target.closest && ev.target.closest("[data-help-toggle]")) toggleHelp();
  });

  document.addEventListener("htmx:afterSwap", function (ev) {
    if (ev.target.id === "board-results" || ev.target.closest && ev.target.closest("#bulk-form")) {
      cursor = -1;
      updateSelection();
    }
  });

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

  document.addEventListener("DOMContentLoaded", function () { showBulkFields(); updateSelection(); });
})();
