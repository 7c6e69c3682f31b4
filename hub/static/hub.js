// Small progressive enhancements; every page works without this file.
document.addEventListener("submit", (event) => {
  const message = event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});

// A note form was sent from the editor: the hub answered with this page, so the server has the
// text (or shows the form again with it). Drop the device copy so it is never offered twice.
(function () {
  let key = null;
  try { key = sessionStorage.getItem("hub-pending-save"); } catch (e) { return; }
  if (!key) return;
  sessionStorage.removeItem("hub-pending-save");
  if (!document.querySelector("#note-editor .form-errors")) {
    localStorage.removeItem(key);
  }
})();
