// Small progressive enhancements; every page works without this file.
document.addEventListener("submit", (event) => {
  const message = event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});

// A note form was sent from the editor, which kept a copy of the text on this device. Drop that copy
// only when the hub says it has the text: the page after a save names the sending's mark
// (<meta name="hub-editor-saved">). Any other page (the sign-in page after the session ended, an
// error page, the form shown again) leaves the copy for the editor to offer again.
(function () {
  let pending = null;
  try { pending = JSON.parse(sessionStorage.getItem("hub-pending-save") || "null"); } catch (e) { return; }
  if (!pending || !pending.key || !pending.mark) return;
  for (const saved of document.querySelectorAll("meta[name=hub-editor-saved]")) {
    if (saved.content === pending.mark) {
      localStorage.removeItem(pending.key);
      sessionStorage.removeItem("hub-pending-save");
    }
  }
})();

// A form sent after the session ended (signed out in another tab) is not saved: the hub shows the
// sign-in page, which leads back to the page the form was sent from. What was written in the form's
// text boxes is kept in this tab until then and put back, only if the one who signs in is the one who
// wrote it (on a shared phone the next person may sign in on that page); any other page forgets it.
(function () {
  const KEY = "hub-sent-form";
  const menu = document.querySelector(".main-nav [data-account]");  // the signed-in reader's menu (_menu.html)
  const account = menu ? menu.dataset.account : "";
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (event.defaultPrevented || form.method !== "post" || form.id === "note-editor") return;  // the editor keeps its own copy
    const texts = {};
    for (const box of form.querySelectorAll("textarea[name]")) {
      if (box.value.trim()) texts[box.name] = box.value;
    }
    if (!Object.keys(texts).length) return;
    const sent = { page: location.pathname + location.search, action: form.action, texts: texts, signIn: false,
                   account: account };
    try { sessionStorage.setItem(KEY, JSON.stringify(sent)); } catch (e) { /* private mode */ }
  });
  let sent = null;
  try { sent = JSON.parse(sessionStorage.getItem(KEY) || "null"); } catch (e) { return; }
  if (!sent) return;
  if (document.querySelector("form[data-sign-in]")) {  // the sign-in page, maybe shown again after a typo
    sent.signIn = true;
    sessionStorage.setItem(KEY, JSON.stringify(sent));
    return;
  }
  sessionStorage.removeItem(KEY);
  if (!sent.signIn || !sent.account || sent.account !== account || location.pathname + location.search !== sent.page) return;
  const form = Array.from(document.forms).find((candidate) => candidate.action === sent.action);
  if (!form) return;
  let first = null;
  for (const [name, text] of Object.entries(sent.texts)) {
    const box = form.elements.namedItem(name);
    if (box && box.tagName === "TEXTAREA" && !box.value.trim()) {
      box.value = text;
      first = first || box;
    }
  }
  if (first) first.focus();
})();

// The editor keeps each account's copies under that account's own keys ("hub-note-<account>-<note|new>",
// and "…-before-redaction", editor.js), so that on a phone several people share one account's copy never
// overwrites another's. Copies from before that ("hub-note-<note|new>") move to the key of the account
// they name (the newer copy wins if that key is taken); one that names no account is shown to no one and
// goes a week after it was typed.
// Copies the editor set aside because they were typed before a moderator removed personal data may hold
// that very data, on a phone others may use. They go a week after being set aside, at the next page of
// the hub, and all of them at sign-out (the page after it says so). Ordinary unsaved copies stay:
// editor.js shows them only to their account. An account deleted in this browser leaves none of its copies
// (the page after the deletion names it, and says so when there were any).
(function () {
  const WEEK = 7 * 24 * 60 * 60 * 1000;
  const OLD_KEY = /^hub-note-(\d+|new)(-before-redaction)?$/;
  const signedOut = document.querySelector("[data-signed-out]");
  const deleted = document.querySelector("meta[name=hub-account-deleted]");
  function read(key) {
    try { return JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { return null; /* unreadable */ }
  }
  let removed = 0;
  let erased = 0;
  try {
    if (deleted && /^\d+$/.test(deleted.content)) {
      for (const key of Object.keys(localStorage)) {
        const old = OLD_KEY.exec(key);
        const copy = old && read(key);
        // An old key ("hub-note-<note>-before-redaction") is the account's only if its copy names it.
        if (old ? copy && String(copy.account) === deleted.content : key.startsWith("hub-note-" + deleted.content + "-")) {
          localStorage.removeItem(key);
          erased += 1;
        }
      }
    }
    for (const key of Object.keys(localStorage)) {
      const old = OLD_KEY.exec(key);
      const copy = old && read(key);
      const account = copy && copy.account != null ? String(copy.account) : "";
      if (!/^\d+$/.test(account)) continue;  // names no account: stays under its old key (below)
      const own = "hub-note-" + account + "-" + old[1] + (old[2] || "");
      const there = read(own);
      if (!there || Number(copy.at) > Number(there.at)) localStorage.setItem(own, localStorage.getItem(key));
      localStorage.removeItem(key);
    }
    for (const key of Object.keys(localStorage)) {
      if (!key.startsWith("hub-note-")) continue;
      const aside = key.endsWith("-before-redaction");
      if (!aside && !OLD_KEY.test(key)) continue;
      const copy = read(key);
      const since = Number(copy && (copy.asideAt || copy.at)) || 0;
      if ((signedOut && aside) || !(Date.now() - since < WEEK)) {
        localStorage.removeItem(key);
        if (aside) removed += 1;
      }
    }
  } catch (e) { return; /* storage disabled: nothing kept */ }
  function notice(text) {
    const said = document.createElement("p");
    said.className = "flash flash-info";
    said.textContent = text;
    return said;
  }
  if (signedOut && removed) signedOut.after(notice(signedOut.dataset.msgCopiesRemoved));
  const flashes = document.querySelector(".flashes");
  if (erased && flashes) flashes.append(notice(deleted.dataset.msgCopiesRemoved));
})();
