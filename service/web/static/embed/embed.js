/*
 * commentgate embeddable widget (docs/widget.md).
 *
 *   <script src="https://comments.example/embed.js"
 *           data-commentgate-thread="https://blog.example/posts/hello" async></script>
 *
 * Renders the thread's published comments (oldest first, replies nested, a page at a
 * time) and the comment form with the arithmetic captcha, after the script element
 * (or into the element whose id is data-commentgate-target).
 *
 * Safe under a strict CSP: no inline scripts or styles (the stylesheet is a <link> to
 * commentgate), no style attributes, no HTML parsing: every comment field is hostile
 * and becomes text nodes. No framework, no build step.
 */
(() => {
  "use strict";

  const CSS_VERSION = "__COMMENTGATE_CSS_VERSION__";
  /* Strings by language; {0}, {1}... are filled in. tests/service/web/test_embed.py
   * reads this block as JSON: keep it JSON (double quotes, no trailing commas). */
  /* strings: */
  const STRINGS = {
    "en": {
      "title": "Comments",
      "loading": "Loading comments…",
      "empty": "No comments yet.",
      "loadError": "The comments could not be loaded.",
      "more": "Load more comments",
      "loaded": "{0} more comments loaded.",
      "anonymous": "Anonymous",
      "reply": "Reply",
      "replyTo": "Reply to {0}",
      "replying": "Replying to {0}",
      "cancelReply": "Cancel reply",
      "formTitle": "Leave a comment",
      "body": "Comment",
      "name": "Name",
      "email": "Email (optional, never shown)",
      "website": "Website (optional)",
      "captcha": "Spam check",
      "captchaHint": "Answer with a number.",
      "newCaptcha": "New question",
      "ask": "What is {0} {1} {2}?",
      "equation": "{0} {1} {2} equals {3}?",
      "what": "what number",
      "ops": ["plus", "minus", "times"],
      "post": "Post comment",
      "posting": "Sending your comment…",
      "pending": "Your comment is being checked. Only you can see it.",
      "held": "Your comment is awaiting moderation. Only you can see it.",
      "published": "Your comment is published.",
      "rejected": "Your comment was not published.",
      "required": "Please fill in this field.",
      "invalid": "Please correct the marked fields.",
      "wrongCaptcha": "The answer to the spam check was not right. Please answer the new question: {0}",
      "rateLimited": "Too many comments right now. Please try again later.",
      "unavailable": "Comments are unavailable right now. Please try again later.",
      "failed": "Your comment could not be sent. Please try again.",
      "closed": "This site no longer takes comments."
    },
    "de": {
      "title": "Kommentare",
      "loading": "Kommentare werden geladen…",
      "empty": "Noch keine Kommentare.",
      "loadError": "Die Kommentare konnten nicht geladen werden.",
      "more": "Weitere Kommentare laden",
      "loaded": "{0} weitere Kommentare geladen.",
      "anonymous": "Anonym",
      "reply": "Antworten",
      "replyTo": "{0} antworten",
      "replying": "Antwort an {0}",
      "cancelReply": "Antwort abbrechen",
      "formTitle": "Schreibe einen Kommentar",
      "body": "Kommentar",
      "name": "Name",
      "email": "E-Mail (freiwillig, wird nie angezeigt)",
      "website": "Website (freiwillig)",
      "captcha": "Spam-Schutz",
      "captchaHint": "Antworte mit einer Zahl.",
      "newCaptcha": "Neue Frage",
      "ask": "Was ist {0} {1} {2}?",
      "equation": "{0} {1} {2} ergibt {3}?",
      "what": "welche Zahl",
      "ops": ["plus", "minus", "mal"],
      "post": "Kommentar abschicken",
      "posting": "Dein Kommentar wird gesendet…",
      "pending": "Dein Kommentar wird geprüft. Nur du siehst ihn.",
      "held": "Dein Kommentar wartet auf Freischaltung. Nur du siehst ihn.",
      "published": "Dein Kommentar ist veröffentlicht.",
      "rejected": "Dein Kommentar wurde nicht veröffentlicht.",
      "required": "Bitte fülle dieses Feld aus.",
      "invalid": "Bitte korrigiere die markierten Felder.",
      "wrongCaptcha": "Die Antwort auf den Spam-Schutz war nicht richtig. Bitte beantworte die neue Frage: {0}",
      "rateLimited": "Gerade zu viele Kommentare. Bitte versuche es später noch einmal.",
      "unavailable": "Kommentare sind gerade nicht verfügbar. Bitte versuche es später noch einmal.",
      "failed": "Dein Kommentar konnte nicht gesendet werden. Bitte versuche es noch einmal.",
      "closed": "Diese Website nimmt keine Kommentare mehr an."
    },
    "fr": {
      "title": "Commentaires",
      "loading": "Chargement des commentaires…",
      "empty": "Pas encore de commentaires.",
      "loadError": "Les commentaires n’ont pas pu être chargés.",
      "more": "Afficher plus de commentaires",
      "loaded": "{0} commentaires de plus affichés.",
      "anonymous": "Anonyme",
      "reply": "Répondre",
      "replyTo": "Répondre à {0}",
      "replying": "Réponse à {0}",
      "cancelReply": "Annuler la réponse",
      "formTitle": "Laisser un commentaire",
      "body": "Commentaire",
      "name": "Nom",
      "email": "E-mail (facultatif, jamais affiché)",
      "website": "Site web (facultatif)",
      "captcha": "Contrôle anti-spam",
      "captchaHint": "Répondez par un nombre.",
      "newCaptcha": "Nouvelle question",
      "ask": "Combien font {0} {1} {2} ?",
      "equation": "{0} {1} {2} égale {3} ?",
      "what": "quel nombre",
      "ops": ["plus", "moins", "fois"],
      "post": "Publier le commentaire",
      "posting": "Envoi de votre commentaire…",
      "pending": "Votre commentaire est en cours de vérification. Vous seul le voyez.",
      "held": "Votre commentaire est en attente de modération. Vous seul le voyez.",
      "published": "Votre commentaire est publié.",
      "rejected": "Votre commentaire n’a pas été publié.",
      "required": "Veuillez remplir ce champ.",
      "invalid": "Veuillez corriger les champs signalés.",
      "wrongCaptcha": "La réponse au contrôle anti-spam n’était pas juste. Répondez à la nouvelle question : {0}",
      "rateLimited": "Trop de commentaires en ce moment. Réessayez plus tard.",
      "unavailable": "Les commentaires sont indisponibles pour le moment. Réessayez plus tard.",
      "failed": "Votre commentaire n’a pas pu être envoyé. Réessayez.",
      "closed": "Ce site n’accepte plus de commentaires."
    }
  };
  /* :strings */

  const script = document.currentScript;
  if (!script || !script.src) return;
  const base = new URL(".", script.src).href;
  const data = script.dataset;
  const thread = data.commentgateThread || location.origin + location.pathname;
  const site = data.commentgateSite || "";
  const pageSize = Math.min(100, Math.max(1, parseInt(data.commentgatePageSize, 10) || 30));
  const wanted = (data.commentgateLang || document.documentElement.lang || "en").toLowerCase();
  const lang = STRINGS[wanted.split("-")[0]] ? wanted.split("-")[0] : "en";
  const S = STRINGS[lang];
  const fill = (text, ...args) => text.replace(/\{(\d)\}/g, (_, i) => args[i]);
  const prefix = "commentgate-" + Math.random().toString(36).slice(2, 8) + "-";
  const dates = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });

  /* -- DOM helpers: attributes and text only, never HTML ------------------------------ */

  const h = (tag, attrs, ...children) => {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === true) node.setAttribute(name, "");
      else if (value != null && value !== false) node.setAttribute(name, value);
    }
    for (const child of children) if (child != null) node.append(child);
    return node;
  };
  // A new node, so a live region announces even a message that comes twice.
  const say = (region, text) => region.replaceChildren(text ? h("span", null, text) : "");

  /* -- the API ------------------------------------------------------------------------ */

  const api = async (path, params, body) => {
    const url = new URL("api/v1/" + path, base);
    for (const [name, value] of Object.entries(params || {})) {
      if (value) url.searchParams.set(name, value);
    }
    if (site && !body) url.searchParams.set("site", site); // posts carry it in the body
    const init = { credentials: "omit", headers: { Accept: "application/json" } };
    if (body) {
      init.method = "POST";
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(site ? { ...body, site } : body);
    }
    let response;
    try {
      response = await fetch(url, init);
    } catch (error) {
      return { status: 0, json: {} };
    }
    const json = await response.json().catch(() => ({}));
    return { status: response.status, json: json || {} };
  };

  /* -- the author's own comments, remembered for this thread -------------------------- */

  const storageKey = "commentgate:" + (site ? site + ":" : "") + thread;
  const MONTH = 30 * 24 * 3600 * 1000; // a comment held longer is forgotten
  let memory = [];
  const recall = () => {
    let entries = memory;
    try {
      entries = JSON.parse(localStorage.getItem(storageKey) || "[]");
    } catch (error) {
      /* storage disabled or spoilt: this page's memory only */
    }
    return Array.isArray(entries) ? entries.filter((e) => e && e.id && Date.now() - e.at < MONTH) : [];
  };
  const remember = (entries) => {
    memory = entries;
    try {
      if (entries.length) localStorage.setItem(storageKey, JSON.stringify(entries));
      else localStorage.removeItem(storageKey);
    } catch (error) {
      /* storage disabled: this page's memory only */
    }
  };
  const forget = (id) => remember(recall().filter((entry) => entry.id !== id));

  /* -- the layout --------------------------------------------------------------------- */

  const titleId = prefix + "title";
  const root = h("section", { class: "commentgate", lang, "aria-labelledby": titleId, hidden: true });
  const list = h("ol", { class: "commentgate-list" });
  const empty = h("p", { class: "commentgate-empty", hidden: true }, S.empty);
  const more = h("button", { type: "button", class: "commentgate-more", hidden: true }, S.more);
  const listStatus = h("p", { class: "commentgate-list-status", role: "status" }, S.loading);
  const status = h("p", { class: "commentgate-status", role: "status", "aria-live": "polite" });
  const alert = h("div", { class: "commentgate-alert", role: "alert", "aria-atomic": "true" });

  const fields = {};
  const errors = {};
  const field = (name, label, control, ...after) => {
    const id = prefix + name;
    control.id = id;
    control.name = name;
    errors[name] = h("p", { class: "commentgate-field-error", id: id + "-error", hidden: true });
    fields[name] = control;
    return h(
      "div",
      { class: "commentgate-field commentgate-field-" + name },
      h("label", { for: id }, ...label),
      control,
      ...after,
      errors[name]
    );
  };
  const spoken = h("span", { class: "commentgate-sr" });
  const question = h("span", { class: "commentgate-question", "aria-hidden": "true" });
  const hintId = prefix + "captcha-hint";
  const newCaptcha = h("button", { type: "button", class: "commentgate-new-captcha" }, S.newCaptcha);
  const replying = h("p", { class: "commentgate-replying" });
  const cancelReply = h("button", { type: "button", class: "commentgate-cancel-reply" }, S.cancelReply);
  const replyBar = h("div", { class: "commentgate-replying-bar", hidden: true }, replying, " ", cancelReply);
  const submit = h("button", { type: "submit", class: "commentgate-submit" }, S.post);
  const form = h(
    "form",
    { class: "commentgate-form", novalidate: true, "aria-labelledby": prefix + "form-title" },
    h("h3", { class: "commentgate-form-title", id: prefix + "form-title" }, S.formTitle),
    replyBar,
    alert,
    field("body", [S.body], h("textarea", { rows: "5", required: true, "aria-required": "true" })),
    field("author_name", [S.name], h("input", { type: "text", autocomplete: "name", maxlength: "100", required: true, "aria-required": "true" })),
    field("author_email", [S.email], h("input", { type: "email", autocomplete: "email", maxlength: "254" })),
    field("author_url", [S.website], h("input", { type: "url", autocomplete: "url", maxlength: "2048" })),
    field(
      "captcha_answer",
      [h("span", { "aria-hidden": "true" }, S.captcha), spoken, question],
      h("input", { type: "text", inputmode: "numeric", autocomplete: "off", required: true, "aria-required": "true", "aria-describedby": hintId }),
      " ",
      newCaptcha,
      h("p", { class: "commentgate-hint", id: hintId }, S.captchaHint)
    ),
    submit,
    status
  );
  root.append(h("h2", { class: "commentgate-title", id: titleId }, S.title), empty, list, listStatus, more, form);

  const target = data.commentgateTarget && document.getElementById(data.commentgateTarget);
  if (target) target.append(root);
  else if (script.parentNode && script.parentNode !== document.head) script.after(root);
  else document.body.append(root);

  const stylesheet = new URL("embed.css?v=" + CSS_VERSION, base).href;
  let link = [...document.querySelectorAll("link[rel=stylesheet]")].find((l) => l.href === stylesheet);
  const show = () => (root.hidden = false);
  if (link && link.sheet) show();
  else {
    if (!link) {
      link = h("link", { rel: "stylesheet", href: stylesheet });
      document.head.append(link);
    }
    link.addEventListener("load", show);
    link.addEventListener("error", show);
  }

  /* -- comments ----------------------------------------------------------------------- */

  const nodes = new Map(); // comment id -> { item, replies }
  let replyTo = null;

  const place = (parentId, item, own) => {
    const parent = parentId && nodes.get(parentId);
    const into = parent ? parent.replies : list;
    // Published comments go before the author's own unpublished ones, which stay last.
    into.insertBefore(item, own ? null : into.querySelector(":scope > .commentgate-own"));
  };

  const render = (comment, own) => {
    const known = nodes.get(comment.id);
    if (known) {
      if (!known.own) return;
      known.item.remove();
    }
    const name = comment.author_name || S.anonymous;
    const url = /^https?:\/\//i.test(comment.author_url || "") ? comment.author_url : null;
    const author = url
      ? h("a", { class: "commentgate-author", href: url, rel: "nofollow ugc noopener" }, name)
      : h("span", { class: "commentgate-author" }, name);
    const when = new Date(comment.created_at);
    const meta = h(
      "header",
      { class: "commentgate-meta" },
      author,
      " ",
      h("time", { datetime: comment.created_at }, isNaN(when) ? "" : dates.format(when))
    );
    const replies = h("ol", { class: "commentgate-replies" });
    const article = h("article", { class: "commentgate-card" }, meta, h("div", { class: "commentgate-body" }, comment.body));
    const item = h("li", { class: "commentgate-comment", id: "commentgate-" + comment.id }, article, replies);
    if (own) {
      item.classList.add("commentgate-own");
      article.append(h("p", { class: "commentgate-note" }, own === "held" ? S.held : S.pending));
    } else {
      const reply = h("button", { type: "button", class: "commentgate-reply", "aria-label": fill(S.replyTo, name) }, S.reply);
      reply.addEventListener("click", () => startReply(comment.id, name));
      article.append(reply);
    }
    nodes.set(comment.id, { item, replies, own: !!own });
    place(comment.parent_id, item, own);
    // Replies rendered before their parent (the author's own) move under it.
    for (const child of [...list.querySelectorAll(":scope > .commentgate-own")]) {
      const entry = recall().find((e) => e.id === child.id.slice(12));
      if (entry && entry.parent_id === comment.id) place(comment.id, child, true);
    }
    empty.hidden = true;
  };

  const drop = (id) => {
    const known = nodes.get(id);
    if (known && known.own) {
      known.item.remove();
      nodes.delete(id);
    }
  };

  let cursor = null;
  const loadPage = async () => {
    more.hidden = true;
    const page = await api("comments", { thread, limit: String(pageSize), cursor });
    if (page.status !== 200 || !Array.isArray(page.json.comments)) {
      listStatus.classList.remove("commentgate-sr");
      listStatus.textContent = S.loadError;
      more.hidden = !cursor;
      return;
    }
    const first = !cursor;
    for (const comment of page.json.comments) render(comment);
    cursor = page.json.next_cursor || null;
    more.hidden = !cursor;
    empty.hidden = list.childElementCount > 0;
    // Later pages are announced, not shown: the comments themselves are the news.
    listStatus.classList.toggle("commentgate-sr", !first);
    listStatus.textContent = first ? "" : fill(S.loaded, page.json.comments.length);
  };
  more.addEventListener("click", loadPage);

  /* -- following the author's own comments -------------------------------------------- */

  const follow = async (id, live, attempt = 0) => {
    const answer = await api("comments/" + encodeURIComponent(id));
    const comment = answer.json;
    if (answer.status === 404 || comment.status === "rejected") {
      forget(id);
      drop(id);
      if (live) say(status, S.rejected);
      return;
    }
    if (answer.status === 200 && comment.status === "published") {
      forget(id);
      drop(id);
      render(comment);
      if (live) say(status, S.published);
      return;
    }
    if (answer.status === 200) {
      const known = nodes.get(id);
      const was = known && known.item.querySelector(".commentgate-note");
      if (!known || (was && was.textContent !== S[comment.status])) {
        drop(id);
        render(comment, comment.status);
        if (live && comment.status === "held") say(status, S.held);
      }
      if (comment.status === "held") return; // a moderator decides: shown on a later visit
    }
    if (attempt < 60) setTimeout(() => follow(id, live, attempt + 1), Math.min(5000, 1000 * (attempt + 1)));
  };

  /* -- the captcha -------------------------------------------------------------------- */

  let captcha = null;
  const speak = (challenge) => {
    const parts = /^(\S+) ([+\u2212\u00d7]) (\S+) = (\S+)$/.exec(challenge.question || "");
    if (!parts) return challenge.prompt || "";
    const op = S.ops["+\u2212\u00d7".indexOf(parts[2])];
    const slots = [parts[1], parts[3], parts[4]].map((slot) => (slot === "?" ? S.what : slot));
    const text = parts[4] === "?" ? fill(S.ask, parts[1], op, parts[3]) : fill(S.equation, slots[0], op, slots[1], slots[2]);
    return text.charAt(0).toUpperCase() + text.slice(1);
  };
  const setCaptcha = (challenge) => {
    captcha = challenge;
    question.textContent = challenge.question;
    spoken.textContent = S.captcha + ": " + speak(challenge); // the field's spoken name
  };
  const fetchCaptcha = async () => {
    const answer = await api("captcha");
    if (answer.status === 200 && answer.json.token) setCaptcha(answer.json);
    return captcha;
  };
  newCaptcha.addEventListener("click", async () => {
    fields.captcha_answer.value = "";
    if (await fetchCaptcha()) say(status, speak(captcha));
  });

  /* -- the form ----------------------------------------------------------------------- */

  const startReply = (id, name) => {
    replyTo = id;
    replying.textContent = fill(S.replying, name);
    replyBar.hidden = false;
    fields.body.focus();
  };
  const stopReply = () => {
    replyTo = null;
    replyBar.hidden = true;
  };
  cancelReply.addEventListener("click", () => {
    stopReply();
    fields.body.focus();
  });

  const clearErrors = () => {
    alert.textContent = "";
    for (const name of Object.keys(fields)) {
      fields[name].removeAttribute("aria-invalid");
      if (name === "captcha_answer") fields[name].setAttribute("aria-describedby", hintId);
      else fields[name].removeAttribute("aria-describedby");
      errors[name].hidden = true;
    }
  };
  const fieldError = (name, text) => {
    const control = fields[name];
    if (!control) return false;
    errors[name].textContent = text;
    errors[name].hidden = false;
    control.setAttribute("aria-invalid", "true");
    control.setAttribute("aria-describedby", (errors[name].id + " " + (name === "captcha_answer" ? hintId : "")).trim());
    return true;
  };
  const REQUIRED = /^(is required|must not be (empty|blank))$/;

  let busy = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy) return;
    clearErrors();
    const missing = ["body", "author_name", "captcha_answer"].filter((name) => !fields[name].value.trim());
    if (missing.length) {
      for (const name of missing) fieldError(name, S.required);
      say(alert, S.invalid);
      fields[missing[0]].focus();
      return;
    }
    busy = true;
    say(status, S.posting);
    if (!captcha) await fetchCaptcha();
    const posted = await api("comments", null, {
      thread,
      body: fields.body.value,
      author_name: fields.author_name.value.trim(),
      author_email: fields.author_email.value.trim(),
      author_url: fields.author_url.value.trim(),
      parent_id: replyTo || "",
      captcha_token: captcha ? captcha.token : "",
      captcha_answer: fields.captcha_answer.value.trim()
    });
    busy = false;
    const problem = posted.json;
    if (posted.status === 202 && problem.id) {
      remember([...recall(), { id: problem.id, receipt: problem.receipt, parent_id: replyTo || "", at: Date.now() }]);
      render(
        {
          id: problem.id,
          parent_id: replyTo,
          author_name: fields.author_name.value.trim(),
          author_url: fields.author_url.value.trim(),
          body: fields.body.value,
          created_at: new Date().toISOString()
        },
        "pending"
      );
      say(status, S.pending);
      fields.body.value = "";
      fields.captcha_answer.value = "";
      stopReply();
      fetchCaptcha();
      follow(problem.id, true);
      return;
    }
    say(status, "");
    if (problem.code === "captcha_invalid") {
      if (problem.captcha && problem.captcha.token) setCaptcha(problem.captcha);
      else await fetchCaptcha();
      fields.captcha_answer.value = "";
      const message = fill(S.wrongCaptcha, captcha ? speak(captcha) : "");
      fieldError("captcha_answer", message);
      say(alert, message);
      fields.captcha_answer.focus();
      return;
    }
    if (problem.code === "site_revoked") {
      say(alert, S.closed); // the site was revoked: no retry will help
      return;
    }
    if (posted.status === 422 && problem.errors) {
      let first = null;
      for (const [name, text] of Object.entries(problem.errors)) {
        if (fieldError(name, REQUIRED.test(text) ? S.required : text)) first = first || fields[name];
      }
      if (problem.errors.parent_id) stopReply();
      say(alert, first ? S.invalid : S.failed);
      if (first) first.focus();
      return;
    }
    say(alert, posted.status === 429 ? S.rateLimited : posted.status === 503 ? S.unavailable : S.failed);
  });

  /* -- start -------------------------------------------------------------------------- */

  fetchCaptcha();
  loadPage().then(() => {
    for (const entry of recall()) follow(entry.id, false);
  });
})();
