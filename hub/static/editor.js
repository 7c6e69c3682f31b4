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
  let storageKey = form.dataset.storageKey;
  let dirty = false;
  let timer = null;
  // One autosave request at a time: two in flight can reach the server in either order, and an
  // older copy arriving last would overwrite newer text (typing while the "online" save is sent).
  // Text typed while one is in flight is saved when it returns.
  let saving = false;
  let checkTimer = null;

  function fields() {
    const data = {};
    for (const el of form.elements) {
      if (!el.name || el.type === "submit" || el.name === "csrf_token") continue;
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
      localStorage.setItem(storageKey, JSON.stringify({ at: Date.now(), fields: fields() }));
    } catch (e) { /* storage full or disabled: the server copy still counts */ }
  }

  function restore(saved) {
    for (const el of form.elements) {
      if (!el.name || !(el.name in saved.fields) || el.name === "csrf_token" || el.name === "note_id") continue;
      const value = saved.fields[el.name];
      if (el.type === "checkbox" || el.type === "radio") el.checked = [].concat(value).includes(el.value);
      else if (el.type !== "submit") el.value = value;
    }
  }

  function offerRestore() {
    let saved = null;
    try { saved = JSON.parse(localStorage.getItem(storageKey) || "null"); } catch (e) { saved = null; }
    if (!saved) return;
    const current = JSON.stringify(fields());
    if (JSON.stringify(saved.fields) === current) return;
    if (window.confirm(form.dataset.msgRestore)) {
      restore(saved);
      dirty = true;
      schedule();
    } else {
      localStorage.removeItem(storageKey);  // declined: never ask again about this copy
    }
  }

  function body() {
    const data = new FormData(form);
    data.delete("save");
    data.delete("submit_note");
    data.delete("preview");
    return data;
  }

  async function save() {
    timer = null;
    if (saving) return;
    if (!dirty || !autosave) return;
    saving = true;
    dirty = false;
    let failed = false;
    let response = null;
    try {
      response = await fetch(form.dataset.autosaveUrl, { method: "POST", body: body(), credentials: "same-origin" });
      const result = await response.json();
      if (!response.ok || !result.ok) throw new Error("not saved");
      if (!noteId.value) {
        noteId.value = result.id;
        const oldKey = storageKey;
        storageKey = "hub-note-" + result.id;
        localStorage.removeItem(oldKey);
        form.action = result.edit_url;
        window.history.replaceState(null, "", result.edit_url);
      }
      // Text typed meanwhile keeps its device copy (under the note's own key once it has an id).
      if (dirty) keepLocally(); else localStorage.removeItem(storageKey);
      status.textContent = form.dataset.msgSaved + " " + result.saved_at;
    } catch (e) {
      failed = true;
      dirty = true;
      keepLocally();
      status.textContent = form.dataset.msgOffline;
      schedule(retryDelay(response));
    } finally {
      saving = false;
      if (dirty && !failed) save();
    }
  }

  // A 503 (the hub cannot reach its database for a moment) is handled like a dropped connection:
  // the device copy stays and the save is tried again, after the wait the hub asks for.
  function retryDelay(response) {
    const seconds = Number(response && response.status === 503 && response.headers.get("Retry-After"));
    return seconds > 0 ? Math.min(seconds, 300) * 1000 : 15000;
  }

  function schedule(delay) {
    if (timer) clearTimeout(timer);
    timer = setTimeout(save, delay || 4000);
  }

  async function check(showPreview) {
    const response = await fetch(form.dataset.previewUrl, { method: "POST", body: body(), credentials: "same-origin" });
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
    // Keep a copy in case the request fails; the next page from the hub clears it (hub.js).
    keepLocally();
    try { sessionStorage.setItem("hub-pending-save", storageKey); } catch (e) { /* private mode */ }
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
