// Calendar: drag an episode onto another day; a dialog asks whether later episodes make room
// and sends the same form as the "Verschieben" page (POST /episodes/<id>/move). Without
// JavaScript, or by keyboard, the "Verschieben" link on each episode opens that form.
(function () {
  "use strict";
  var table = document.querySelector("[data-calendar]");
  var dialog = document.getElementById("move-dialog");
  if (!table || !dialog) { return; }
  var form = dialog.querySelector("[data-move-form]");
  var text = dialog.querySelector("[data-move-text]");
  var dragged = null;

  function germanDate(iso) {
    var p = iso.split("-");
    return p[2] + "." + p[1] + "." + p[0];
  }

  table.querySelectorAll("[data-episode][draggable=true]").forEach(function (card) {
    card.addEventListener("dragstart", function (event) {
      dragged = card;
      card.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", card.getAttribute("data-episode"));
    });
    card.addEventListener("dragend", function () {
      card.classList.remove("dragging");
      table.querySelectorAll(".drop-target").forEach(function (el) {
        el.classList.remove("drop-target");
      });
    });
  });

  table.querySelectorAll("[data-day]").forEach(function (cell) {
    cell.addEventListener("dragover", function (event) {
      if (!dragged) { return; }
      event.preventDefault();
      event.dataTransfer.dropEffect = "move";
      cell.classList.add("drop-target");
    });
    cell.addEventListener("dragleave", function () { cell.classList.remove("drop-target"); });
    cell.addEventListener("drop", function (event) {
      event.preventDefault();
      cell.classList.remove("drop-target");
      var id = event.dataTransfer.getData("text/plain") ||
        (dragged && dragged.getAttribute("data-episode"));
      if (!id) { return; }
      var card = table.querySelector("[data-episode='" + id + "']");
      var day = cell.getAttribute("data-day");
      if (card && card.parentElement === cell) { dragged = null; return; }
      form.action = "/episodes/" + encodeURIComponent(id) + "/move";
      form.elements.day.value = day;
      text.textContent = (card ? card.getAttribute("data-label") : "Die Folge") +
        " auf " + germanDate(day) + " verschieben (gleiche Uhrzeit).";
      dragged = null;
      dialog.showModal();
    });
  });

  dialog.querySelector("[data-cancel]").addEventListener("click", function () {
    dialog.close();
  });
})();
