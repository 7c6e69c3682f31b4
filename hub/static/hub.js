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

// Copies the editor set aside because they were typed before a moderator removed personal data
// ("hub-note-…-before-redaction", editor.js) may hold that very data, on a phone others may use.
// They go a week after being set aside, at the next page of the hub, and all of them at sign-out
// (the page after it says so). Ordinary unsaved copies stay: editor.js shows them only to their account.
(function () {
  const WEEK = 7 * 24 * 60 * 60 * 1000;
  const signedOut = document.querySelector("[data-signed-out]");
  let removed = 0;
  try {
    for (const key of Object.keys(localStorage)) {
      if (!key.startsWith("hub-note-") || !key.endsWith("-before-redaction")) continue;
      let copy = null;
      try { copy = JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { /* unreadable: goes */ }
      const since = Number(copy && (copy.asideAt || copy.at)) || 0;
      if (signedOut || !(Date.now() - since < WEEK)) {
        localStorage.removeItem(key);
        removed += 1;
      }
    }
  } catch (e) { return; /* storage disabled: nothing kept */ }
  if (signedOut && removed) {
    const notice = document.createElement("p");
    notice.className = "flash flash-info";
    notice.textContent = signedOut.dataset.msgCopiesRemoved;
    signedOut.after(notice);
  }
})();
