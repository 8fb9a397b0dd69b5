// Small enhancements; every page works without them (links and forms carry all state in the URL).
(function () {
  "use strict";
  // Styles that depend on these enhancements (the phone's filter button) key on this class.
  document.documentElement.classList.add("js");

  function isTyping(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  // Document page: previous/next match buttons with an "i / n" counter, keys n and p.
  function matchNavigation() {
    var nav = document.getElementById("match-nav");
    var text = document.getElementById("doc-text");
    if (!nav || !text) return;
    var marks = Array.prototype.slice.call(text.querySelectorAll("mark"));
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

  // Results page on a phone: the filters open from the 筛选 button above the results.
  function filterToggle() {
    var button = document.querySelector(".filter-toggle");
    var sidebar = document.getElementById("filters");
    if (!button || !sidebar) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var open = !sidebar.classList.contains("open");
      sidebar.classList.toggle("open", open);
      button.setAttribute("aria-expanded", String(open));
    });
  }

  // Document page: the sticky match bar's height, so that a section a link lands on starts below it.
  function stickyOffset() {
    var bar = document.querySelector(".match-bar");
    if (!bar) return;
    function update() {
      document.documentElement.style.setProperty("--sticky-height", bar.offsetHeight + "px");
    }
    update();
    // The bar grows when the match navigation appears or its buttons wrap on a narrow screen.
    if (window.ResizeObserver) new ResizeObserver(update).observe(bar);
    var target = location.hash ? document.getElementById(decodeURIComponent(location.hash.slice(1))) : null;
    if (target) target.scrollIntoView();
  }

  // Document page: "复制引用" copies a section's text followed by its citation.
  function citeButtons() {
    var buttons = document.querySelectorAll(".cite-button");
    Array.prototype.forEach.call(buttons, function (button) {
      button.parentNode.hidden = false;
      button.addEventListener("click", function () {
        fetch(button.getAttribute("data-cite"))
          .then(function (response) {
            if (!response.ok) throw new Error(response.status);
            return response.json();
          })
          .then(function (cite) {
            return copyText(cite.passage + "\n——" + cite.text);
          })
          .then(function () {
            flash(button, "已复制", "copied");
          })
          .catch(function () {
            flash(button, "复制失败", "");
          });
      });
    });
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    // Plain http on another host: the clipboard API is unavailable, the older command still works.
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    var ok = document.execCommand("copy");
    document.body.removeChild(area);
    return ok ? Promise.resolve() : Promise.reject(new Error("copy"));
  }

  function flash(button, label, cls) {
    var original = button.getAttribute("data-label") || button.textContent;
    button.setAttribute("data-label", original);
    button.textContent = label;
    if (cls) button.classList.add(cls);
    setTimeout(function () {
      button.textContent = original;
      button.classList.remove("copied");
    }, 1600);
  }

  // Search box: suggestions from the collection's vocabulary for the word being typed (ARIA combobox).
  function suggestBox() {
    var box = document.querySelector('.searchbox input[name="q"]');
    if (!box) return;
    var form = box.form;
    var list = document.createElement("ul");
    list.id = "suggest-list";
    list.className = "suggest-list";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "检索词建议");
    list.hidden = true;
    box.insertAdjacentElement("afterend", list);
    box.setAttribute("role", "combobox");
    box.setAttribute("aria-autocomplete", "list");
    box.setAttribute("aria-controls", list.id);
    box.setAttribute("aria-expanded", "false");
    var items = [];
    var active = -1;
    var timer = null;
    var latest = 0;

    function lastWord() {
      var match = /(\S+)$/.exec(box.value);
      return match ? match[1].replace(/^[-"“(（]+|^title:/, "") : "";
    }

    function close() {
      list.hidden = true;
      box.setAttribute("aria-expanded", "false");
      box.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      items.forEach(function (item, i) {
        item.setAttribute("aria-selected", String(i === index));
      });
      active = index;
      if (index >= 0) {
        box.setAttribute("aria-activedescendant", items[index].id);
        items[index].scrollIntoView({ block: "nearest" });
      } else {
        box.removeAttribute("aria-activedescendant");
      }
    }

    function choose(index) {
      var word = lastWord();
      var text = items[index].getAttribute("data-text");
      box.value = box.value.slice(0, box.value.length - word.length) + text;
      close();
      form.submit();
    }

    function render(prefix, suggestions) {
      list.textContent = "";
      items = suggestions.map(function (s, i) {
        var li = document.createElement("li");
        li.id = "suggest-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.setAttribute("data-text", s.text);
        var text = document.createElement("span");
        text.className = "text";
        text.textContent = s.text;
        var docs = document.createElement("span");
        docs.className = "docs";
        docs.textContent = s.docs + " 篇";
        li.appendChild(text);
        li.appendChild(docs);
        li.addEventListener("mousedown", function (event) {
          event.preventDefault(); // keep the focus in the box
          choose(i);
        });
        list.appendChild(li);
        return li;
      });
      active = -1;
      if (items.length && prefix === lastWord()) {
        list.hidden = false;
        box.setAttribute("aria-expanded", "true");
      } else {
        close();
      }
    }

    function fetchSuggestions() {
      var prefix = lastWord();
      if (!prefix) return close();
      var ticket = ++latest;
      fetch(form.action.replace(/\/search$/, "/api/suggest") + "?q=" + encodeURIComponent(prefix))
        .then(function (response) {
          return response.ok ? response.json() : { suggestions: [] };
        })
        .then(function (data) {
          if (ticket === latest) render(prefix, data.suggestions || []);
        })
        .catch(close);
    }

    box.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(fetchSuggestions, 120);
    });
    box.addEventListener("keydown", function (event) {
      if (list.hidden || !items.length) {
        if (event.key === "ArrowDown" && lastWord()) fetchSuggestions();
        return;
      }
      if (event.key === "ArrowDown") {
        highlight((active + 1) % items.length);
        event.preventDefault();
      } else if (event.key === "ArrowUp") {
        highlight(active <= 0 ? items.length - 1 : active - 1);
        event.preventDefault();
      } else if (event.key === "Enter" && active >= 0) {
        choose(active);
        event.preventDefault();
      } else if (event.key === "Escape") {
        close();
        event.preventDefault();
      }
    });
    box.addEventListener("blur", close);
  }

  document.addEventListener("DOMContentLoaded", function () {
    filterToggle();
    citeButtons();
    suggestBox();
    matchNavigation();
    stickyOffset();
    backLink();
    slashFocus();
  });
})();
