// Attachments on a slow connection: check the file on the device before sending anything, make a
// photo that is too large smaller (redrawn on a canvas, which also leaves its location and other
// metadata behind), send it with a progress bar and show the hub's answer in place, so the editor
// and its text stay as they are whatever happens. Without this script the form posts as usual.
(function () {
  "use strict";
  const SCALABLE = ["image/jpeg", "image/png", "image/webp"];  // not GIF: redrawing would stop its animation
  const SIDES = [2560, 2048, 1600, 1280, 1024];
  const QUALITIES = [0.85, 0.72];

  function parts(form) {
    return {
      error: form.querySelector(".upload-error"),
      status: form.querySelector(".upload-status"),
      progress: form.querySelector(".upload-progress"),
      button: form.querySelector("[type=submit]"),
    };
  }

  function refuse(form, message) {
    const p = parts(form);
    p.error.textContent = message;
    p.error.hidden = false;
    p.status.textContent = "";
    p.progress.hidden = true;
    p.button.disabled = false;
  }

  function toBlob(canvas, quality) {
    return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", quality));
  }

  async function smaller(file, maxBytes) {
    const image = await createImageBitmap(file, { imageOrientation: "from-image" });
    const canvas = document.createElement("canvas");
    for (const side of SIDES) {
      const scale = Math.min(1, side / Math.max(image.width, image.height));
      canvas.width = Math.round(image.width * scale);
      canvas.height = Math.round(image.height * scale);
      const context = canvas.getContext("2d");
      context.fillStyle = "#fff";  // JPEG has no transparency: a transparent PNG gets a white ground
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.drawImage(image, 0, 0, canvas.width, canvas.height);
      for (const quality of QUALITIES) {
        const blob = await toBlob(canvas, quality);
        if (blob && blob.size <= maxBytes) return blob;
      }
    }
    return null;
  }

  // Return the file to send (as it is, or made smaller), or throw the message to show.
  async function prepare(form, file) {
    const maxBytes = Number(form.dataset.maxBytes);
    // An empty type (the browser does not know it) is left to the hub, which looks at the bytes.
    if (file.type && !form.dataset.types.split(",").includes(file.type)) throw form.dataset.msgType;
    if (file.size <= maxBytes) return { blob: file, name: file.name };
    if (!SCALABLE.includes(file.type)) throw form.dataset.msgTooLarge;
    parts(form).status.textContent = form.dataset.msgScaling;
    let blob = null;
    try { blob = await smaller(file, maxBytes); } catch (e) { blob = null; }
    if (!blob) throw form.dataset.msgTooLarge;
    return { blob: blob, name: file.name.replace(/\.[^.]*$/, "") + ".jpg" };
  }

  function send(form, prepared) {
    const p = parts(form);
    const data = new FormData(form);
    data.set("file", prepared.blob, prepared.name);
    const request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.setRequestHeader("Accept", "application/json");
    p.status.textContent = form.dataset.msgSending;
    p.progress.hidden = false;
    p.progress.value = 0;
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) { p.progress.max = event.total; p.progress.value = event.loaded; }
    });
    request.addEventListener("load", () => {
      let answer = null;
      try { answer = JSON.parse(request.responseText); } catch (e) { answer = null; }
      if (request.status === 200 && answer && answer.ok) {
        const template = document.createElement("template");
        template.innerHTML = answer.html;  // the hub's own attachments section, rendered by its template
        const section = form.closest("section.attachments");
        const fresh = template.content.firstElementChild;
        section.replaceWith(fresh);
        const status = fresh.querySelector(".upload-status") || fresh.querySelector(".hint");
        if (status) status.textContent = answer.message;
      } else {
        refuse(form, (answer && answer.detail) || form.dataset.msgFailed);  // a problem document (RFC 9457)
      }
    });
    request.addEventListener("error", () => refuse(form, form.dataset.msgFailed));
    request.send(data);
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!form.matches("form.upload")) return;
    const input = form.querySelector("input[type=file]");
    const file = input.files && input.files[0];
    if (!file) return;  // the browser's own "required" message
    event.preventDefault();
    const p = parts(form);
    p.error.hidden = true;
    p.button.disabled = true;
    prepare(form, file).then((prepared) => send(form, prepared), (message) => refuse(form, message));
  });
})();
