// Progressive enhancement for Laurel's pages: everything works without this file.
// Copy link (badge page) and drag-and-drop of files onto the verify form.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    if (!navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var status = button.parentElement.querySelector(".copy-status");
      navigator.clipboard.writeText(button.getAttribute("data-copy")).then(
        function () { if (status) status.textContent = "Link copied."; },
        function () { if (status) status.textContent = "Could not copy: select the link below instead."; }
      );
    });
  });

  var zone = document.querySelector(".dropzone");
  var input = zone && zone.querySelector("input[type=file]");
  if (!zone || !input || typeof DataTransfer === "undefined") return;
  var note = zone.querySelector(".drop-note");
  var list = zone.querySelector(".file-list");
  if (note) note.hidden = false;
  function show() {
    if (!list) return;
    list.textContent = "";
    Array.prototype.forEach.call(input.files, function (file) {
      var item = document.createElement("li");
      item.textContent = file.name + " (" + Math.ceil(file.size / 1024) + " KiB)";
      list.appendChild(item);
    });
  }
  input.addEventListener("change", show);
  ["dragenter", "dragover"].forEach(function (type) {
    zone.addEventListener(type, function (event) {
      event.preventDefault();
      zone.classList.add("dragging");
    });
  });
  ["dragleave", "drop"].forEach(function (type) {
    zone.addEventListener(type, function () { zone.classList.remove("dragging"); });
  });
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    if (!event.dataTransfer || !event.dataTransfer.files.length) return;
    var all = new DataTransfer();
    Array.prototype.forEach.call(input.files, function (file) { all.items.add(file); });
    Array.prototype.forEach.call(event.dataTransfer.files, function (file) { all.items.add(file); });
    input.files = all.files;
    show();
  });
});
