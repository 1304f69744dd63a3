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
})();
