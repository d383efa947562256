// Live progress: every 2 s, fetch the series' post and media states and update the page.
(function () {
  "use strict";
  // a one-time notice (?ok=...) should not come back on reload
  if (window.location.search.indexOf("ok=") !== -1 && window.history.replaceState) {
    var params = new URLSearchParams(window.location.search);
    params.delete("ok");
    var rest = params.toString();
    window.history.replaceState(null, "", window.location.pathname + (rest ? "?" + rest : ""));
  }
  document.querySelectorAll("select[data-autosubmit]").forEach(function (el) {
    el.addEventListener("change", function () { el.form.submit(); });
  });
  // a file over the server's limit is refused here, before any byte is sent
  document.querySelectorAll("input[type=file][data-max-bytes]").forEach(function (input) {
    input.form.addEventListener("submit", function (event) {
      var max = Number(input.getAttribute("data-max-bytes"));
      var file = input.files && input.files[0];
      var note = input.form.querySelector("[data-too-big]");
      if (file && file.size > max) {
        event.preventDefault();
        note.textContent = "Die Datei „" + file.name + "“ ist zu groß (höchstens " +
          Math.floor(max / 1048576) + " MB). Bitte eine kleinere Fassung hochladen.";
        note.hidden = false;
      } else if (note) {
        note.hidden = true;
      }
    });
  });
  var holder = document.querySelector("[data-live-series]");
  if (!holder) { return; }
  var url = "/live/progress?series_id=" + encodeURIComponent(holder.getAttribute("data-live-series"));
  function update(data) {
    document.querySelectorAll("[data-post]").forEach(function (el) {
      var p = data.posts[el.getAttribute("data-post")];
      if (!p) { return; }
      var label = el.querySelector("[data-label]");
      if (label) { label.textContent = p.label; }
      var bar = el.querySelector("[data-progress]");
      if (bar) { bar.textContent = p.state === "uploading" ? Math.round(p.progress) + " %" : ""; }
      el.className = el.className.replace(/\bstate-\S+/g, "").trim() + " state-" + p.state;
    });
    document.querySelectorAll("[data-episode-media]").forEach(function (el) {
      var e = data.episodes[el.getAttribute("data-episode-media")];
      if (!e) { return; }
      var busy = e.media_status === "transcoding" || e.media_status === "probing";
      el.textContent = e.label + (busy && e.progress ? " (" + Math.round(e.progress) + " %)" : "");
    });
  }
  function tick() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) { update(data); } })
      .catch(function () {})
      .finally(function () { window.setTimeout(tick, 2000); });
  }
  window.setTimeout(tick, 2000);
})();
