// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // Move focus to the error summary so screen readers announce the problems first.
  function focusErrorSummary() {
    var summary = document.querySelector("[data-autofocus]");
    if (summary) summary.focus();
  }

  // The 中カテゴリー list follows the 大カテゴリー; the account-request fields show only when needed.
  function dependentCategories(form) {
    var major = form.querySelector("#major_category");
    var minor = form.querySelector("#category");
    var section = form.querySelector("[data-account-request-section]");
    if (!major || !minor) return;
    var all = Array.prototype.slice.call(minor.querySelectorAll("option[data-parent]"));
    var placeholder = minor.querySelector("option:not([data-parent])");

    function refill() {
      var chosen = minor.value;
      while (minor.firstChild) minor.removeChild(minor.firstChild);
      if (placeholder) minor.appendChild(placeholder);
      all.forEach(function (option) {
        if (!major.value || option.getAttribute("data-parent") === major.value) {
          minor.appendChild(option);
        }
      });
      minor.value = all.some(function (o) { return o.value === chosen && o.parentNode === minor; }) ? chosen : "";
      toggleSection();
    }

    function toggleSection() {
      if (!section) return;
      var selected = minor.options[minor.selectedIndex];
      var isRequest = selected && selected.getAttribute("data-account-request") === "true";
      var hasErrors = section.querySelector("[aria-invalid='true']");
      section.classList.toggle("is-hidden", !isRequest && !hasErrors);
      markers(selected && selected.value ? (isRequest ? "request" : "general") : null);
    }

    // ※必須/※任意 beside the fields whose need depends on the kind of inquiry (see macros/forms.html).
    function markers(kind) {
      var words = { required: "※必須", optional: "※任意", unneeded: "※入力不要" };
      Array.prototype.forEach.call(form.querySelectorAll("[data-marker-either]"), function (marker) {
        var need = kind ? marker.getAttribute("data-marker-" + kind) : null;
        marker.textContent = need ? words[need] : marker.getAttribute("data-marker-either");
        marker.classList.toggle("marker--required", need === "required");
        marker.classList.toggle("marker--optional", need !== "required");
      });
    }

    major.addEventListener("change", refill);
    minor.addEventListener("change", toggleSection);
    refill();
  }

  // A live character count for text areas with a limit.
  function counters() {
    Array.prototype.forEach.call(document.querySelectorAll("textarea[data-max-length]"), function (area) {
      var max = parseInt(area.getAttribute("data-max-length"), 10);
      var counter = document.createElement("p");
      counter.className = "counter";
      counter.setAttribute("aria-live", "polite");
      area.insertAdjacentElement("afterend", counter);
      function update() {
        var length = area.value.length;
        counter.textContent = length <= max
          ? "あと" + (max - length) + "文字入力できます"
          : (length - max) + "文字多すぎます";
        counter.classList.toggle("counter--over", length > max);
      }
      area.addEventListener("input", update);
      update();
    });
  }

  // A second click while the first request is on its way is ignored (the server is idempotent too).
  function preventDoubleSubmit() {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-prevent-double-submit]"), function (form) {
      form.addEventListener("submit", function (event) {
        if (form.getAttribute("data-submitting") === "true") {
          event.preventDefault();
          return;
        }
        form.setAttribute("data-submitting", "true");
      });
    });
  }

  // 「表示する」 next to password fields, so people can check what they typed.
  function passwordReveal() {
    Array.prototype.forEach.call(document.querySelectorAll("input[data-reveal]"), function (input) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button button--secondary reveal";
      button.textContent = "パスワードを表示する";
      button.setAttribute("aria-controls", input.id);
      button.setAttribute("aria-pressed", "false");
      button.addEventListener("click", function () {
        var shown = input.type === "text";
        input.type = shown ? "password" : "text";
        button.textContent = shown ? "パスワードを表示する" : "パスワードを隠す";
        button.setAttribute("aria-pressed", shown ? "false" : "true");
      });
      input.insertAdjacentElement("afterend", button);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    focusErrorSummary();
    var inquiry = document.querySelector("[data-inquiry-form]");
    if (inquiry) dependentCategories(inquiry);
    counters();
    preventDoubleSubmit();
    passwordReveal();
  });
})();
