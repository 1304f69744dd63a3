// Before a signed-in session ends from inactivity, say so and offer to continue (WCAG 2.2.1). The page
// names its limit (data-session-idle, seconds), how early to warn (data-session-warning) and where to
// keep the session alive (data-session-keepalive, a POST with the page's CSRF token). Without this file
// the session simply ends, and the next page asks to sign in again.
(function () {
  "use strict";

  function start(body) {
    var idle = parseInt(body.getAttribute("data-session-idle"), 10);
    var lead = parseInt(body.getAttribute("data-session-warning"), 10);
    var url = body.getAttribute("data-session-keepalive");
    var login = body.getAttribute("data-session-login");
    var token = document.querySelector('meta[name="csrf-token"]');
    if (!idle || !url || !token) return;
    // The server refreshes its clock at most once a minute: count from a minute before this page.
    var margin = Math.min(60, Math.floor(idle / 4));
    var deadline, warnTimer, endTimer;

    var box = document.createElement("div");
    box.className = "session-warning";
    box.setAttribute("role", "alertdialog");
    box.setAttribute("aria-labelledby", "session-warning-title");
    box.setAttribute("aria-describedby", "session-warning-text");
    box.hidden = true;
    box.innerHTML =
      '<p class="session-warning__title" id="session-warning-title">まもなく自動的にログアウトします</p>' +
      '<p class="session-warning__text" id="session-warning-text"></p>' +
      '<button type="button" class="session-warning__button">ログインを続ける</button>';
    document.body.appendChild(box);
    var text = box.querySelector(".session-warning__text");
    var button = box.querySelector("button");

    function clock(at) {
      var d = new Date(at);
      return d.getHours() + "時" + ("0" + d.getMinutes()).slice(-2) + "分";
    }

    function schedule() {
      clearTimeout(warnTimer);
      clearTimeout(endTimer);
      deadline = Date.now() + (idle - margin) * 1000;
      warnTimer = setTimeout(warn, Math.max(0, deadline - lead * 1000 - Date.now()));
      endTimer = setTimeout(ended, Math.max(0, deadline - Date.now()));
    }

    function warn() {
      text.textContent = "操作がないため、" + clock(deadline) + "ごろに安全のためログアウトします。" +
        "続ける場合は「ログインを続ける」を押してください。入力中の内容は、ログアウトすると失われます。";
      button.hidden = false;
      box.hidden = false;
      button.focus();
    }

    function ended() {
      box.querySelector(".session-warning__title").textContent = "ログインの有効期限が切れました";
      text.innerHTML = "";
      text.appendChild(document.createTextNode("安全のため自動的にログアウトしました。"));
      if (login) {
        var link = document.createElement("a");
        link.href = login;
        link.textContent = "もう一度ログインする";
        text.appendChild(link);
      }
      button.hidden = true;
      box.hidden = false;
    }

    button.addEventListener("click", function () {
      fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": token.getAttribute("content") },
      }).then(function (response) {
        if (response.ok) {
          box.hidden = true;
          schedule();
        } else {
          ended();
        }
      }, function () {
        text.textContent = "通信できませんでした。もう一度「ログインを続ける」を押してください。";
      });
    });

    schedule();
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (document.body.hasAttribute("data-session-idle")) start(document.body);
  });
})();
