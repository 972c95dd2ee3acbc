/*
 * commentgate moderation UI: keyboard shortcuts and selection helpers.
 *
 * Progressive enhancement only: every action is a plain HTML form that works
 * without this file. No build step, no dependencies, nothing inline (the CSP
 * allows scripts from 'self' only).
 *
 *   j / k    move to the next / previous comment
 *   a s r    approve, spam or reject the current comment
 *   x        select or unselect the current comment (for the bulk actions)
 *   /        focus the search field
 *   ?        show the shortcuts
 *
 * Keys are ignored while typing in a field and when a modifier key is held.
 */
(function () {
  "use strict";

  var root = document.documentElement;

  var ACTION_KEYS = { a: "approve", s: "spam", r: "reject" };
  var RESULT = { approve: "published", spam: "spam", reject: "rejected" };
  var TEXT_TYPES = /^(text|search|email|url|password|number|tel|date|datetime-local|month|time|week)$/;

  var cards = [];
  var current = -1;
  var submitting = false;

  function $(selector, scope) {
    return (scope || document).querySelector(selector);
  }

  function $$(selector, scope) {
    return Array.prototype.slice.call((scope || document).querySelectorAll(selector));
  }

  /* -- announcements ------------------------------------------------------------ */

  /** Put a message in the polite live region (screen readers read it out). */
  function announce(text, kind) {
    var region = $("#flashes");
    if (!region) {
      return;
    }
    var message = document.createElement("p");
    message.className = "flash flash--" + (kind || "info");
    message.textContent = text;
    region.replaceChildren(message);
  }

  /**
   * Flash messages arrive with the page, when live regions stay silent: read them
   * into the hidden #announcer once the page has settled so they are announced.
   */
  function reannounceFlashes() {
    var region = $("#flashes");
    var announcer = $("#announcer");
    if (!region || !announcer || !region.textContent.trim()) {
      return;
    }
    window.setTimeout(function () {
      announcer.textContent = region.textContent.replace(/\s+/g, " ").trim();
    }, 250);
  }

  /* -- the current comment ------------------------------------------------------ */

  function setCurrent(index, options) {
    if (!cards.length) {
      return;
    }
    index = Math.max(0, Math.min(cards.length - 1, index));
    if (current >= 0 && cards[current]) {
      cards[current].removeAttribute("aria-current");
      cards[current].classList.remove("is-current");
    }
    current = index;
    var card = cards[current];
    card.setAttribute("aria-current", "true");
    card.classList.add("is-current");
    if (!options || options.focus !== false) {
      card.focus({ preventScroll: true });
      card.scrollIntoView({ block: "nearest" });
    }
  }

  function move(step) {
    if (!cards.length) {
      announce("There are no comments on this page.", "info");
      return;
    }
    setCurrent(current < 0 ? (step > 0 ? 0 : cards.length - 1) : current + step);
  }

  function currentCard() {
    if (current < 0 || !cards[current]) {
      announce("Press j to choose a comment first.", "info");
      return null;
    }
    return cards[current];
  }

  function act(action) {
    var card = currentCard();
    if (!card || submitting) {
      return;
    }
    var button = $('button[data-action="' + action + '"]', card);
    if (!button) {
      announce("This comment is " + RESULT[action] + " already.", "info");
      return;
    }
    submitting = true;
    card.classList.add("is-busy");
    button.form.requestSubmit(button);
  }

  function toggleSelection() {
    var card = currentCard();
    var box = card && $('input[name="ids"]', card);
    if (box) {
      box.click();
    }
  }

  /* -- bulk selection ----------------------------------------------------------- */

  function updateSelection() {
    var boxes = $$('input[name="ids"]');
    var chosen = boxes.filter(function (box) {
      return box.checked;
    });
    var count = $("#selected-count");
    if (count) {
      count.textContent = chosen.length ? chosen.length + " selected" : "None selected";
    }
    $$("[data-bulk-action]").forEach(function (button) {
      button.disabled = chosen.length === 0;
    });
    var all = $("#select-all");
    if (all) {
      all.checked = boxes.length > 0 && chosen.length === boxes.length;
      all.indeterminate = chosen.length > 0 && chosen.length < boxes.length;
    }
    boxes.forEach(function (box) {
      var card = box.closest("[data-comment]");
      if (card) {
        card.classList.toggle("is-selected", box.checked);
      }
    });
  }

  /* -- help ----------------------------------------------------------------------- */

  var helpReturn = null;

  function openHelp() {
    var dialog = $("#shortcuts");
    if (!dialog || dialog.open) {
      return;
    }
    helpReturn = document.activeElement;
    dialog.showModal();
  }

  function closeHelp() {
    var dialog = $("#shortcuts");
    if (dialog && dialog.open) {
      dialog.close();
    }
  }

  /* -- keys ------------------------------------------------------------------------ */

  function isTyping(target) {
    if (!target || !target.tagName) {
      return false;
    }
    if (target.isContentEditable) {
      return true;
    }
    var tag = target.tagName.toLowerCase();
    if (tag === "textarea" || tag === "select") {
      return true;
    }
    return tag === "input" && TEXT_TYPES.test(target.type || "text");
  }

  function onKey(event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    var dialog = $("#shortcuts");
    if (dialog && dialog.open) {
      return; /* the modal dialog has the keyboard; Esc closes it */
    }
    if (isTyping(event.target)) {
      if (event.key === "Escape") {
        event.target.blur();
      }
      return;
    }
    var key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    if (key === "j" || key === "k") {
      move(key === "j" ? 1 : -1);
    } else if (ACTION_KEYS[key]) {
      act(ACTION_KEYS[key]);
    } else if (key === "x") {
      toggleSelection();
    } else if (key === "/") {
      var search = $("#filter-q");
      if (!search) {
        return;
      }
      search.focus();
      search.select();
    } else if (key === "?") {
      openHelp();
    } else {
      return;
    }
    event.preventDefault();
  }

  /* -- start ------------------------------------------------------------------------ */

  function start() {
    cards = $$("[data-comment]");
    $$("[data-js-only], [data-open-help]").forEach(function (element) {
      element.hidden = false;
    });

    cards.forEach(function (card, index) {
      card.addEventListener("focusin", function () {
        if (current !== index) {
          setCurrent(index, { focus: false });
        }
      });
      card.addEventListener("click", function (event) {
        if (!event.target.closest("a, button, input, label") && current !== index) {
          setCurrent(index, { focus: false });
        }
      });
    });

    var hash = window.location.hash.slice(1);
    if (hash) {
      var target = document.getElementById(hash);
      var index = cards.indexOf(target);
      if (index >= 0) {
        setCurrent(index);
      }
    }

    $$('input[name="ids"]').forEach(function (box) {
      box.addEventListener("change", updateSelection);
    });
    var all = $("#select-all");
    if (all) {
      all.addEventListener("change", function () {
        $$('input[name="ids"]').forEach(function (box) {
          box.checked = all.checked;
        });
        updateSelection();
      });
    }
    updateSelection();

    $$("[data-open-help]").forEach(function (button) {
      button.addEventListener("click", openHelp);
    });
    $$("[data-close-help]").forEach(function (button) {
      button.addEventListener("click", closeHelp);
    });
    var dialog = $("#shortcuts");
    if (dialog) {
      dialog.addEventListener("close", function () {
        if (helpReturn && helpReturn.focus) {
          helpReturn.focus();
        }
      });
      dialog.addEventListener("click", function (event) {
        if (event.target === dialog) {
          closeHelp(); /* a click on the backdrop */
        }
      });
    }

    /* Filters: leave empty fields out of the URL (?q=casino, not ?thread=&q=casino). */
    $$("form[role='search']").forEach(function (form) {
      form.addEventListener("submit", function () {
        $$("input[name]", form).forEach(function (input) {
          if (!input.value.trim()) {
            input.disabled = true;
          }
        });
      });
    });

    /* One submission per page: a second key press or click must not post again. */
    $$("form[method='post']").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (form.dataset.sent) {
          event.preventDefault();
          return;
        }
        form.dataset.sent = "1";
        submitting = true;
      });
    });
    window.addEventListener("pageshow", function (event) {
      if (event.persisted) {
        /* back from the bfcache: the forms may be sent again */
        submitting = false;
        $$("form[method='post']").forEach(function (form) {
          delete form.dataset.sent;
        });
        $$(".is-busy").forEach(function (card) {
          card.classList.remove("is-busy");
        });
        $$("form[role='search'] input[name]").forEach(function (input) {
          input.disabled = false;
        });
      }
    });

    document.addEventListener("keydown", onKey);
    reannounceFlashes();
    /* Last: the "js" class says every enhancement (and shortcut) is in place. */
    root.classList.remove("no-js");
    root.classList.add("js");
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
