// Small enhancements; every page works without them (links and forms carry all state in the URL).
(function () {
  "use strict";

  function isTyping(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  // Document page: previous/next match buttons with an "i / n" counter, keys n and p.
  function matchNavigation() {
    var nav = document.getElementById("match-nav");
    var text = document.getElementById("doc-text");
    if (!nav || !text) return;
    // A match cut in two by the heading/body split continues as mark.cont: count it once.
    var marks = Array.prototype.slice.call(text.querySelectorAll("mark:not(.cont)"));
    if (!marks.length) return;
    var counter = document.getElementById("match-counter");
    var prev = document.getElementById("prev-match");
    var next = document.getElementById("next-match");
    var current = -1;
    nav.hidden = false;

    function show(index) {
      if (current >= 0) marks[current].classList.remove("current");
      current = (index + marks.length) % marks.length;
      var mark = marks[current];
      mark.classList.add("current");
      mark.scrollIntoView({ block: "center" });
      counter.textContent = current + 1 + " / " + marks.length;
    }

    // Index of the first match at or after the section in the URL hash, so that "next"
    // continues from where a snippet link landed rather than from the top of the text.
    function firstAfterTarget() {
      var target = location.hash ? document.getElementById(decodeURIComponent(location.hash.slice(1))) : null;
      if (!target) return 0;
      for (var i = 0; i < marks.length; i++) {
        if (target.compareDocumentPosition(marks[i]) & Node.DOCUMENT_POSITION_FOLLOWING) return i;
      }
      return marks.length;
    }

    next.addEventListener("click", function () {
      show(current < 0 ? firstAfterTarget() : current + 1);
    });
    prev.addEventListener("click", function () {
      show(current < 0 ? firstAfterTarget() - 1 : current - 1);
    });
    window.addEventListener("hashchange", function () {
      if (current >= 0) marks[current].classList.remove("current");
      current = -1;
      counter.textContent = "0 / " + marks.length;
    });
    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) return;
      if (event.key === "n") {
        next.click();
        event.preventDefault();
      } else if (event.key === "p") {
        prev.click();
        event.preventDefault();
      }
    });
  }

  // Document page: "back to results" returns to the exact results page (filters, page) we came from.
  function backLink() {
    var link = document.getElementById("back-link");
    if (!link || !document.referrer) return;
    var from;
    try {
      from = new URL(document.referrer);
    } catch (e) {
      return;
    }
    if (from.origin === location.origin && from.pathname === new URL(link.href).pathname) link.href = from.href;
  }

  // Any page: "/" focuses the search box, as on most search sites.
  function slashFocus() {
    var box = document.querySelector('.searchbox input[name="q"]');
    if (!box) return;
    document.addEventListener("keydown", function (event) {
      if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) return;
      event.preventDefault();
      box.focus();
      box.select();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    matchNavigation();
    backLink();
    slashFocus();
  });
})();
