// Live refresh: every element with data-refresh-url gets its content re-fetched every
// data-refresh-seconds, while the tab is visible. The server renders the HTML (escaped).
"use strict";
document.querySelectorAll("[data-refresh-url]").forEach(function (el) {
  var seconds = parseFloat(el.dataset.refreshSeconds || "3");
  if (!(seconds > 0)) { return; }
  setInterval(function () {
    if (document.hidden) { return; }
    fetch(el.dataset.refreshUrl, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null) { el.innerHTML = html; } })
      .catch(function () {});
  }, seconds * 1000);
});
