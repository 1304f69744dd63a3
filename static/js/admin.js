// Back office enhancements, loaded as a file (the CSP refuses inline event handlers).
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var item = event.target.closest("[data-model-action]");
    if (item && window.modelActions) {
      event.preventDefault();
      window.modelActions.execute(item.getAttribute("data-model-action"));
      return;
    }
    // Flask-Admin's menus use href="javascript:void(0)", which the CSP refuses to run: their own
    // handlers have already done the work, so just stop the navigation.
    var pseudo = event.target.closest('a[href^="javascript:"]');
    if (pseudo) event.preventDefault();
  });
  // 定型文: insert the chosen canned reply into the reply text, after what is already typed.
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!select.matches || !select.matches("select[data-insert-into]") || !select.value) return;
    var area = document.getElementById(select.getAttribute("data-insert-into"));
    if (area) {
      area.value = area.value ? area.value.replace(/\s*$/, "") + "\n\n" + select.value : select.value;
      area.focus();
    }
    select.value = "";
  });
  // 送信するメールを確認する: fetch the page's preview without reloading it, so that the chosen files
  // stay chosen; on anything unexpected the button submits as it would without JavaScript.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-reply-preview]");
    if (!button || !window.fetch || !window.DOMParser) return;
    var form = button.form;
    var area = document.getElementById("reply-preview-area");
    if (!form || !area) return;
    event.preventDefault();
    var data = new FormData(form);
    form.querySelectorAll("input[type=file]").forEach(function (input) { data.delete(input.name); });
    data.set(button.name, button.value);
    fetch(form.action || location.href, { method: "POST", body: data, credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        var preview = page.getElementById("reply-preview");
        if (!preview) throw new Error("no preview");
        area.innerHTML = "";
        area.appendChild(document.importNode(preview, true));
        var warning = area.querySelector(".check-warning");
        if (warning) warning.remove();  // the files were not sent, and are still chosen
        area.querySelector("#reply-preview-title").focus();
      })
      .catch(function () { form.requestSubmit ? form.requestSubmit(button) : form.submit(); });
  });
  // Flask-Admin turns each active filter's selects into select2 widgets, whose opener is a link with
  // no name: give it the filter's name, and say whether it picks the condition or the value.
  function nameFilterWidgets() {
    document.querySelectorAll(".select2-container").forEach(function (box) {
      var opener = box.querySelector("a.select2-choice");
      var row = box.closest("tr");
      if (!opener || !row) return;
      var remove = row.querySelector(".remove-filter");
      var filter = remove ? remove.textContent.replace(/[\s\u00d7]+/g, " ").trim() : "絞り込み";
      var select = box.nextElementSibling;
      var part = select && select.classList.contains("filter-op") ? "の条件" : "の値";
      // The visible choice starts the name (what a voice user says), then what it is for.
      var shown = opener.textContent.trim();
      opener.setAttribute("aria-label", shown ? shown + "（" + filter + part + "）" : filter + part);
    });
  }
  window.addEventListener("load", nameFilterWidgets);
  // Flask-Admin's search box: its clearing link is an icon alone, and the box has a placeholder only.
  document.querySelectorAll("form[role=search]").forEach(function (form) {
    var clear = form.querySelector("a.align-middle");
    if (clear) clear.setAttribute("aria-label", "検索をやめる");
    var box = form.querySelector("input[name=search]");
    if (box) { box.setAttribute("aria-label", "検索"); box.setAttribute("aria-keyshortcuts", "/"); }
  });
  // Flask-Admin builds the widgets when the page is ready and again when a filter is added.
  if (window.MutationObserver) {
    new MutationObserver(function (changes) {
      if (changes.some(function (c) { return c.addedNodes.length; })) nameFilterWidgets();
    }).observe(document.documentElement, { childList: true, subtree: true });
  }
  document.addEventListener("change", function () { setTimeout(nameFilterWidgets, 0); });
  document.addEventListener("click", function () { setTimeout(nameFilterWidgets, 0); });
})();
