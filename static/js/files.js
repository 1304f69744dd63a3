// 「添付ファイル」: list each chosen file's name and size, and say at once what the server would refuse
// (too many, too large) before anything is sent. Without this file the plain input still works.
(function () {
  "use strict";

  function size(bytes) {
    if (bytes >= 1024 * 1024) return (Math.round(bytes / 104857.6) / 10) + "MB";
    return Math.max(1, Math.round(bytes / 1024)) + "KB";
  }

  function item(text, problem) {
    var li = document.createElement("li");
    li.textContent = text;
    if (problem) li.className = "file-list__problem";
    return li;
  }

  function watch(input) {
    var list = input.parentNode.querySelector("[data-file-list]");
    if (!list) return;
    var maxFiles = parseInt(input.getAttribute("data-max-files"), 10);
    var maxBytes = parseInt(input.getAttribute("data-max-bytes"), 10);
    var maxTotal = parseInt(input.getAttribute("data-max-total"), 10);
    input.addEventListener("change", function () {
      while (list.firstChild) list.removeChild(list.firstChild);
      var files = Array.prototype.slice.call(input.files || []);
      var total = 0;
      var problems = [];
      files.forEach(function (file) {
        total += file.size;
        var tooLarge = file.size > maxBytes;
        list.appendChild(item(file.name + "（" + size(file.size) + "）" + (tooLarge ? "：大きすぎます（1ファイル" + size(maxBytes) + "まで）" : ""), tooLarge));
        if (tooLarge) problems.push(file.name);
      });
      if (files.length > maxFiles) {
        list.appendChild(item("添付できるのはあと" + maxFiles + "個までです。選び直してください。", true));
      } else if (total > maxTotal) {
        list.appendChild(item("合計" + size(total) + "です。合計" + size(maxTotal) + "までにしてください。", true));
      }
      input.setCustomValidity(list.querySelector(".file-list__problem") ? "添付ファイルを選び直してください。" : "");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("input[type=file][data-files]"), watch);
  });
})();
