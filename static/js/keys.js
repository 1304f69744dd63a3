// キーボード操作 of the back office: / search, j/k through the list, Enter opens (the focused link),
// r reply, t 定型文, n/p the next or previous ticket of the list last shown, ? this help.
// Never while typing in a field, and never with Ctrl, Alt or Meta (the browser's own keys).
(function () {
  "use strict";
  var VIEW = "kip.ticketView";
  var SEARCH = "kip.focusSearch";
  var OPEN = "kip.openOnList";  // "first" or "last": n/p went on to the list's next or previous page

  function typing(target) {
    if (!target || !target.closest) return false;
    return !!target.closest("input, textarea, select, [contenteditable=''], [contenteditable='true']");
  }
  function rowLinks() {
    return Array.prototype.slice.call(document.querySelectorAll("table.model-list td.col-reference_number a"));
  }
  function searchBox() {
    return document.querySelector("form[role=search] input[name=search]");
  }
  function listUrl() {
    var back = document.querySelector("[data-ticket-list]");
    return back ? back.getAttribute("href") : "/admin/tickets/";
  }
  function read() {
    try { return JSON.parse(sessionStorage.getItem(VIEW) || "null"); } catch (e) { return null; }
  }
  // Only this site's own pages are ever followed (not "//elsewhere", "/\\elsewhere", "javascript:").
  function local(href) {
    if (typeof href !== "string" || href.charAt(0) !== "/") return null;
    try {
      var url = new URL(href, location.href);
      return url.origin === location.origin ? url.pathname + url.search : null;
    } catch (e) { return null; }
  }
  // Single-letter keys can be turned off (WCAG 2.1.4), in 「キーボード操作」; kept in this browser.
  var OFF = "kip.keysOff";
  function keysOn() {
    try { return localStorage.getItem(OFF) !== "1"; } catch (e) { return true; }
  }
  var toggle = document.getElementById("keys-on");
  if (toggle) {
    toggle.checked = keysOn();
    toggle.closest("[data-keys-switch]").hidden = false;
    toggle.addEventListener("change", function () {
      try {
        if (toggle.checked) localStorage.removeItem(OFF); else localStorage.setItem(OFF, "1");
      } catch (e) { /* storage refused: the keys stay as they are */ }
    });
  }

  function pageLink(text) {
    var found = Array.prototype.slice.call(document.querySelectorAll(".pagination a.page-link"))
      .filter(function (a) {
        var href = a.getAttribute("href") || "";
        return a.textContent.trim() === text && local(href);
      });
    return found.length ? found[0].getAttribute("href") : null;
  }

  // The list remembers its tickets (and its neighbouring pages) in this tab, so that the ticket page
  // can go on to the next one.
  var links = rowLinks();
  var openOnList = sessionStorage.getItem(OPEN);
  if (openOnList) sessionStorage.removeItem(OPEN);  // used here or never: an empty page keeps nothing
  if (links.length) {
    try {
      sessionStorage.setItem(VIEW, JSON.stringify({
        list: location.pathname + location.search,
        tickets: links.map(function (a) { return a.getAttribute("href"); }),
        nextPage: pageLink(">"),
        previousPage: pageLink("<")
      }));
      if (openOnList) {
        location.href = links[openOnList === "last" ? links.length - 1 : 0].getAttribute("href");
      }
    } catch (e) { /* storage refused: n/p simply stay off */ }
  }
  if (sessionStorage.getItem(SEARCH) && searchBox()) {
    sessionStorage.removeItem(SEARCH);
    searchBox().focus();
  }

  // On a ticket page: where it is in that list, with links to its neighbours.
  var place = document.querySelector("[data-ticket-place]");
  var view = read();
  var here = view && Array.isArray(view.tickets) && local(view.list)
    ? view.tickets.indexOf(location.pathname) : -1;
  var previous = null, next = null;
  if (place && here >= 0) {
    previous = here > 0 ? local(view.tickets[here - 1]) : null;
    next = here < view.tickets.length - 1 ? local(view.tickets[here + 1]) : null;
    // At either end of the page, the list's next (or previous) page, opened at its first (last) ticket.
    if (!next && local(view.nextPage)) next = { page: view.nextPage, open: "first" };
    if (!previous && local(view.previousPage)) previous = { page: view.previousPage, open: "last" };
    var parts = [];
    function link(href, text, key) {
      var a = document.createElement("a");
      a.href = href;
      a.textContent = text;
      if (key) a.setAttribute("aria-keyshortcuts", key);
      return a;
    }
    var text = document.createElement("span");
    text.textContent = "表示中の一覧の" + (here + 1) + "件目（" + view.tickets.length + "件中）";
    parts.push(text);
    if (previous) parts.push(link(target(previous), "前のお問い合わせ（p）", "p"));
    if (next) parts.push(link(target(next), "次のお問い合わせ（n）", "n"));
    parts.push(link(view.list, "その一覧に戻る"));
    parts.forEach(function (node, i) {
      if (i) place.appendChild(document.createTextNode("　"));
      place.appendChild(node);
    });
    place.hidden = false;
  }

  function target(to) { return typeof to === "string" ? to : to.page; }
  function go(to) {
    if (typeof to !== "string") sessionStorage.setItem(OPEN, to.open);
    location.href = target(to);
  }
  document.addEventListener("click", function (event) {
    // The neighbour links of a ticket page that lead to another page of the list open its ticket too.
    var a = event.target.closest && event.target.closest("[data-ticket-place] a[aria-keyshortcuts]");
    if (!a) return;
    var to = a.getAttribute("aria-keyshortcuts") === "n" ? next : previous;
    if (to && typeof to !== "string") { event.preventDefault(); go(to); }
  });

  function moveInList(step) {
    var all = rowLinks();
    if (!all.length) return false;
    var at = all.indexOf(document.activeElement);
    var to = at < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(Math.max(at + step, 0), all.length - 1);
    all[to].focus();
    all[to].closest("tr").scrollIntoView({ block: "nearest" });
    return true;
  }
  function focusField(id) {
    var field = document.getElementById(id);
    if (!field) return false;
    field.focus();
    return true;
  }
  function openHelp() {
    var help = document.getElementById("keyboard-help");
    if (!help) return false;
    help.open = true;
    help.querySelector("summary").focus();
    return true;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.altKey || event.metaKey || event.isComposing || typing(event.target)) return;
    if (!keysOn()) return;
    var done = false;
    switch (event.key) {
      case "/":
        if (searchBox()) { searchBox().focus(); searchBox().select(); done = true; }
        else { sessionStorage.setItem(SEARCH, "1"); location.href = listUrl(); done = true; }
        break;
      case "j": done = moveInList(1); break;
      case "k": done = moveInList(-1); break;
      case "r": done = focusField("reply-body"); break;
      case "t": done = focusField("canned-reply"); break;
      case "n": if (next) { go(next); done = true; } break;
      case "p": if (previous) { go(previous); done = true; } break;
      case "?": done = openHelp(); break;
    }
    if (done) event.preventDefault();
  });
})();
