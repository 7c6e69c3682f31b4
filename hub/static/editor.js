// The note editor: autosave to the server, a copy on this device for dropped connections,
// preview and a live privacy check. The form works without this script.
(function () {
  "use strict";
  const form = document.getElementById("note-editor");
  if (!form) return;
  const status = form.querySelector(".autosave-status");
  const previewBox = form.querySelector(".preview");
  const privacyCount = form.querySelector(".privacy-count");
  const noteId = form.querySelector("input[name=note_id]");
  const autosave = form.dataset.autosave === "1";
  // Each account has its own device copies ("hub-note-<account>-<note|new>"): on a phone several people
  // share, one account's copy must never overwrite another's (two new notes, or a note both may edit).
  let storageKey = form.dataset.storageKey;
  const account = form.dataset.account;
  const OTHER_ACCOUNT = "other-account";  // renewToken: the browser is now signed in as someone else
  let dirty = false;
  let timer = null;
  // One autosave request at a time: two in flight can reach the server in either order, and an
  // older copy arriving last would overwrite newer text (typing while the "online" save is sent).
  // Text typed while one is in flight is saved when it returns.
  let saving = false;
  let checkTimer = null;

  // The form's own fields, not what the author wrote. The idempotency key (draft_key) is sent with every
  // autosave and with the form, but never restored from a device copy: a copy kept on an earlier page
  // must not bring that page's key (and so its note) into this one. Nor is the count of a moderator's
  // removals of personal data the page was given (redactions_seen): the copy keeps its own (seen).
  const MACHINERY = ["csrf_token", "device_copy", "draft_key", "redactions_seen"];
  // A copy typed before a moderator removed personal data from the note is kept aside under this key,
  // shown to copy from, and never restored: it may hold what was removed (showBeforeRedaction).
  const beforeRedactionKey = storageKey + "-before-redaction";

  function fields() {
    const data = {};
    for (const el of form.elements) {
      if (!el.name || el.type === "submit" || MACHINERY.includes(el.name)) continue;
      if (el.type === "checkbox" || el.type === "radio") {
        if (el.checked) (data[el.name] = data[el.name] || []).push(el.value);
      } else {
        data[el.name] = el.value;
      }
    }
    return data;
  }

  function keepLocally() {
    try {
      localStorage.setItem(storageKey, JSON.stringify({ at: Date.now(), account: account, seen: pageSeen(), fields: fields() }));
    } catch (e) { /* storage full or disabled: the server copy still counts */ }
  }

  // How many removals of personal data the note had when this page showed it (NoteForm.redactions_seen).
  function pageSeen() {
    return Number(form.elements.namedItem("redactions_seen").value) || 0;
  }

  // The same count of the page a device copy was typed on (an older copy carries it among its fields).
  function copySeen(copy) {
    return Number(copy.seen ?? (copy.fields || {}).redactions_seen) || 0;
  }

  // A copy is shown only to the account that typed it, even under that account's own key: on a shared
  // phone the next person to sign in must never see it (hub.js moves copies from before the keys named
  // their account to the key of the account they name; one that names none is shown to no one).
  function kept(key) {
    let copy = null;
    try { copy = JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { return null; }
    return copy && String(copy.account) === account ? copy : null;
  }

  function restore(saved) {
    for (const el of form.elements) {
      if (!el.name || !(el.name in saved.fields) || MACHINERY.includes(el.name) || el.name === "note_id") continue;
      const value = saved.fields[el.name];
      if (el.type === "checkbox" || el.type === "radio") el.checked = [].concat(value).includes(el.value);
      else if (el.type !== "submit") el.value = value;
    }
  }

  function offerRestore() {
    const saved = kept(storageKey);
    if (saved && copySeen(saved) < pageSeen()) {  // typed before a moderator removed personal data: set aside
      try {
        localStorage.setItem(beforeRedactionKey, JSON.stringify(Object.assign({}, saved, { asideAt: Date.now() })));
        localStorage.removeItem(storageKey);
      } catch (e) { /* storage disabled: shown once, below */ }
      showBeforeRedaction(saved);
      return;
    }
    const before = kept(beforeRedactionKey);
    if (before) showBeforeRedaction(before);
    if (!saved) return;
    const typed = Object.fromEntries(Object.entries(saved.fields).filter(([name]) => !MACHINERY.includes(name)));
    if (JSON.stringify(typed) === JSON.stringify(fields())) return;
    if (window.confirm(form.dataset.msgRestore)) {
      restore(saved);
      dirty = true;
      schedule();
    } else {
      localStorage.removeItem(storageKey);  // declined: never ask again about this copy
    }
  }

  // Restoring text typed before a moderator removed personal data, then saving it, would put the data
  // back (the hub refuses it: RedactedWhileEditing) or loop on that refusal. The copy is shown instead,
  // read-only and folded, under a warning, for the author to copy their own changes across by hand;
  // it stays on the device until they delete it.
  function showBeforeRedaction(copy) {
    const box = document.createElement("section");
    box.className = "flash flash-warning before-redaction";
    box.id = "copy-before-redaction";
    box.setAttribute("aria-labelledby", "copy-before-redaction-h");
    const heading = document.createElement("h2");
    heading.id = "copy-before-redaction-h";
    heading.textContent = form.dataset.msgBeforeRedaction;
    const warning = document.createElement("p");
    warning.textContent = form.dataset.msgBeforeRedactionWarning;
    const details = document.createElement("details");
    const summary = document.createElement("summary");
    summary.textContent = form.dataset.msgBeforeRedactionShow;
    details.append(summary);
    const differing = Object.entries(copy.fields || {}).filter(([name, value]) => {
      const input = form.elements.namedItem(name);
      return typeof value === "string" && value.trim() && input && input.id && input.value !== value
        && (input.tagName === "TEXTAREA" || input.type === "text");
    });
    if (!differing.length) {  // nothing typed that the page does not show: nothing to copy from
      localStorage.removeItem(beforeRedactionKey);
      return;
    }
    for (const [name, value] of differing) {
      const input = form.elements.namedItem(name);
      const label = document.createElement("label");
      label.htmlFor = "before-redaction-" + name;
      label.textContent = (form.querySelector("label[for='" + CSS.escape(input.id) + "']") || {}).textContent || name;
      const text = document.createElement("textarea");  // no name: never sent with the form
      text.id = label.htmlFor;
      text.readOnly = true;
      text.rows = Math.min(8, value.split("\n").length + 1);
      text.value = value;
      details.append(label, text);
    }
    const discard = document.createElement("button");
    discard.type = "button";
    discard.className = "secondary";
    discard.textContent = form.dataset.msgBeforeRedactionDelete;
    discard.addEventListener("click", () => {
      localStorage.removeItem(beforeRedactionKey);
      box.remove();
    });
    box.append(heading, warning, details, discard);
    form.before(box);
  }

  function body() {
    const data = new FormData(form);
    data.delete("save");
    data.delete("submit_note");
    data.delete("preview");
    return data;
  }

  // Send the form to the autosave address; resolve to [response, answer] ([null, null]: no connection).
  async function send() {
    let response = null;
    try {
      response = await fetch(form.dataset.autosaveUrl, { method: "POST", body: body(), credentials: "same-origin" });
    } catch (e) {
      return [null, null];
    }
    try { return [response, await response.json()]; } catch (e) { return [response, null]; }
  }

  async function save() {
    timer = null;
    if (saving) return;
    if (!dirty || !autosave) return;
    saving = true;
    dirty = false;
    let kept = false;
    try {
      let [response, answer] = await send();
      let renewed = response && response.status === 400 && answer && answer.reason === "csrf" && await renewToken();
      if (response && response.status === 403 && await someoneElse()) renewed = OTHER_ACCOUNT;
      if (renewed === OTHER_ACCOUNT) {
        kept = true;
        dirty = true;
        keepLocally();
        say(form.dataset.msgOtherAccount);
        return;
      }
      if (renewed) {
        [response, answer] = await send();
      }
      if (response && response.ok && answer && answer.ok) {
        saved(answer);
      } else {
        kept = true;
        dirty = true;
        keepLocally();
        refused(response, answer);
      }
    } finally {
      saving = false;
      if (dirty && !kept) save();
    }
  }

  function saved(result) {
    if (!noteId.value) {
      noteId.value = result.id;
      const oldKey = storageKey;
      storageKey = "hub-note-" + account + "-" + result.id;
      localStorage.removeItem(oldKey);
      form.action = result.edit_url;
      window.history.replaceState(null, "", result.edit_url);
      headAsSaved();
    }
    // Text typed meanwhile keeps its device copy (under the note's own key once it has an id).
    if (dirty) keepLocally(); else localStorage.removeItem(storageKey);
    clearErrors();
    say(form.dataset.msgSaved + " " + result.saved_at);
  }

  // A new note is a draft once first saved: head the page (and the tab) as the draft's own page is headed.
  function headAsSaved() {
    const heading = document.getElementById("editor-heading");
    const text = form.dataset.headingSaved;
    if (!heading || !text) return;
    const badge = document.createElement("span");  // as the state_label macro writes it
    badge.className = "badge state-draft";
    badge.textContent = form.dataset.badgeSaved;
    heading.replaceChildren(text + " ", badge);
    // The tab's title is "⁨heading⁩ · hub" (FSI … PDI around the heading): change only the heading.
    document.title = document.title.replace(/^\u2068[^\u2069]*\u2069/, "\u2068" + text + "\u2069");
    delete form.dataset.headingSaved;
  }

  // Say why the hub did not save, and try again only where a later try may go through: no
  // connection, a restart, the database away for a moment. An answer that trying again cannot
  // change (signed out, a field refused, the note gone) waits for the author: the next keystroke
  // sends again. The device copy stays in every case.
  function refused(response, answer) {
    const code = response ? response.status : 0;
    if (code === 401) {
      say(form.dataset.msgSignedOut, signInLink());
    } else if (code === 400 && answer && answer.errors) {
      showErrors(answer.errors);
    } else if (code === 404) {
      say(form.dataset.msgGone);
    } else if (code === 409 && answer && answer.reason === "redacted") {
      say(answer.detail, currentTextLink());
    } else if (code >= 400 && code < 500 && code !== 408 && code !== 429) {
      say(((answer && answer.detail) || form.dataset.msgRefused) + " " + form.dataset.msgKept);
    } else {
      say(form.dataset.msgOffline);
      schedule(retryDelay(response));
    }
  }

  function say(text, link) {
    status.replaceChildren(text);
    if (link) status.append(" ", link);
  }

  // After signing in, the log-in page leads back here, and the editor offers the device copy.
  function signInLink() {
    const link = document.createElement("a");
    link.href = form.dataset.loginUrl + "?next=" + encodeURIComponent(location.pathname + location.search);
    link.textContent = form.dataset.msgSignIn;
    return link;
  }

  // A moderator removed personal data after this editor was opened: the current text opens in another
  // tab, and this one keeps what the author typed, to carry their changes across by hand.
  function currentTextLink() {
    const link = document.createElement("a");
    link.href = form.action || location.href;
    link.target = "_blank";
    link.rel = "noopener";
    link.textContent = form.dataset.msgCurrentText;
    return link;
  }

  // The session's form token changed (signed out and in again in another tab): read this page again
  // for the current token, so the text is saved without reloading the editor.
  async function renewToken() {
    try {
      const { ok, page } = await fetchPage(location.href);
      // This page refused (a note the next person may not edit): maybe because someone else signed in.
      if (!ok) return (await someoneElse()) ? OTHER_ACCOUNT : false;
      // Someone else signed in on this browser meanwhile (a shared phone): their token would save this
      // text into their account. It stays on the device, for its writer.
      if (someoneElseOn(page)) return OTHER_ACCOUNT;
      const fresh = page.querySelector("#note-editor input[name=csrf_token]");
      if (!fresh) return false;
      for (const input of document.querySelectorAll("input[name=csrf_token]")) input.value = fresh.value;
      return true;
    } catch (e) {
      return false;
    }
  }

  // Refused as not allowed: maybe because someone else signed in on this browser meanwhile, whose account
  // may not write notes (the sign-in page, signed in, leads to the home page).
  async function someoneElse() {
    try {
      return someoneElseOn((await fetchPage(form.dataset.loginUrl)).page);
    } catch (e) {
      return false;
    }
  }

  async function fetchPage(url) {
    const response = await fetch(url, { credentials: "same-origin" });
    return { ok: response.ok, page: new DOMParser().parseFromString(await response.text(), "text/html") };
  }

  // Whether a hub page was made for another account than this editor's: its menu names the account (_menu.html).
  function someoneElseOn(page) {
    const menu = page.querySelector(".main-nav [data-account]");
    return Boolean(menu) && menu.dataset.account !== account;
  }

  // A field the hub refused (too long, invisible characters…) gets its message beside it, as the
  // page shows it after sending the form; what belongs to no field goes into the status line.
  function showErrors(errors) {
    clearErrors();
    const general = [];
    for (const [name, messages] of Object.entries(errors)) {
      const text = [].concat(messages).join(" ");
      const found = form.elements.namedItem(name);
      const input = found instanceof RadioNodeList ? found[0] : found;
      const box = input && input.type !== "hidden" && input.closest(".field");
      if (!box) {
        general.push(text);
        continue;
      }
      const error = box.querySelector("#" + CSS.escape(name + "-error")) || document.createElement("p");
      error.className = "error";
      error.id = name + "-error";
      error.dataset.autosaveError = "";
      error.textContent = text;
      box.appendChild(error);
      box.classList.add("has-error");
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", ((input.getAttribute("aria-describedby") || "").split(" ")
        .filter((id) => id && id !== error.id).concat(error.id)).join(" "));
      const section = box.closest("details");
      if (section) section.open = true;
    }
    say([form.dataset.msgInvalid].concat(general).join(" "));
  }

  function clearErrors() {
    for (const error of form.querySelectorAll("[data-autosave-error]")) {
      const box = error.closest(".field");
      box.classList.remove("has-error");
      for (const input of box.querySelectorAll("[aria-invalid]")) {
        input.removeAttribute("aria-invalid");
        input.setAttribute("aria-describedby", (input.getAttribute("aria-describedby") || "").split(" ")
          .filter((id) => id && id !== error.id).join(" "));
      }
      error.remove();
    }
  }

  // A 503 (the hub cannot reach its database for a moment) or 429 is handled like a dropped
  // connection: the device copy stays and the save is tried again, after the wait the hub asks for.
  function retryDelay(response) {
    const seconds = Number(response && [429, 503].includes(response.status) && response.headers.get("Retry-After"));
    return seconds > 0 ? Math.min(seconds, 300) * 1000 : 15000;
  }

  function schedule(delay) {
    if (timer) clearTimeout(timer);
    timer = setTimeout(save, delay || 4000);
  }

  async function check(showPreview) {
    const response = await fetch(form.dataset.previewUrl, { method: "POST", body: body(), credentials: "same-origin" });
    if (response.status === 401) say(form.dataset.msgSignedOut, signInLink());
    if (!response.ok) return;
    const result = await response.json();
    if (showPreview) {
      previewBox.hidden = false;
      previewBox.innerHTML = result.html;  // sanitised on the server by the one Markdown renderer
    }
    showFindings(result.findings, result.summary);
  }

  // Each finding is shown under the field it is in (a warning 2,000 px below the text box is not
  // seen on a phone), with the kind's name and the masked value as the server sends them; the
  // count sits by the buttons and links to the first place.
  function showFindings(findings, summary) {
    for (const old of form.querySelectorAll(".privacy-field")) {
      const input = form.elements.namedItem(old.dataset.field);
      if (input) input.setAttribute("aria-describedby", (input.getAttribute("aria-describedby") || "")
        .split(" ").filter((id) => id && id !== old.id).join(" "));
      old.remove();
    }
    const byField = new Map();
    for (const finding of findings) {
      const name = finding.field.replace("section:", "");
      if (!byField.has(name)) byField.set(name, []);
      byField.get(name).push(finding);
    }
    let first = null;
    for (const [name, found] of byField) {
      const input = form.elements.namedItem(name);
      const box = input && input.closest(".field");
      if (!box) continue;
      const note = document.createElement("div");
      note.className = "privacy-field flash flash-warning";
      note.id = name + "-privacy";
      note.dataset.field = name;
      const heading = document.createElement("p");
      heading.textContent = form.dataset.msgField;
      const list = document.createElement("ul");
      for (const finding of found) {
        const item = document.createElement("li");
        item.textContent = finding.label + " " + finding.masked;
        list.appendChild(item);
      }
      note.append(heading, list);
      box.appendChild(note);
      input.setAttribute("aria-describedby", ((input.getAttribute("aria-describedby") || "") + " " + note.id).trim());
      const section = box.closest("details");
      if (section) section.open = true;  // a finding inside the optional sections must not stay folded away
      first = first || note;
    }
    privacyCount.hidden = false;
    privacyCount.replaceChildren();
    privacyCount.className = "privacy-count " + (findings.length ? "warning" : "meta");
    if (first) {
      const link = document.createElement("a");
      link.href = "#" + first.id;
      link.textContent = summary;
      privacyCount.appendChild(link);
    } else {
      privacyCount.textContent = findings.length ? summary : form.dataset.msgNofindings;
    }
  }

  form.addEventListener("input", () => {
    dirty = true;
    keepLocally();
    schedule();
    if (checkTimer) clearTimeout(checkTimer);
    checkTimer = setTimeout(() => check(false).catch(() => {}), 1500);
  });
  form.addEventListener("submit", () => {
    // Keep a copy in case the text does not reach the hub (signed out, an error page, no connection).
    // The form carries a mark of this sending; the page after a save repeats it, and only then does
    // hub.js drop the copy.
    keepLocally();
    const mark = Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
    form.elements.namedItem("device_copy").value = mark;
    try {
      sessionStorage.setItem("hub-pending-save", JSON.stringify({ key: storageKey, mark: mark }));
    } catch (e) { /* private mode */ }
  });
  form.querySelector("[data-action=preview]").addEventListener("click", (event) => {
    event.preventDefault();  // the script shows the preview in place; without it the server does
    check(true).catch(() => {});
  });
  window.addEventListener("online", () => { if (dirty) save(); });
  // A translation's original stands beside the editor on a wide screen; on a phone it stays folded.
  for (const details of document.querySelectorAll("details[data-open-wide]")) {
    if (window.matchMedia("(min-width: 48rem)").matches) details.open = true;
  }
  offerRestore();
})();
