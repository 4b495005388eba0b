// One statement of the zone operators type times in (the server writes the page's zone;
// this adds the browser's, when it differs), in place of Django's own "You are 8 hours
// behind server time" under each date widget, which read as a second, conflicting zone.
(function () {
  "use strict";

  function offsetText(minutes) {
    const sign = minutes < 0 ? "\u2212" : "+";
    const hours = Math.floor(Math.abs(minutes) / 60);
    const rest = Math.abs(minutes) % 60;
    return "UTC" + sign + hours + (rest ? ":" + String(rest).padStart(2, "0") : "");
  }

  function describeBrowser(note) {
    const browser = -new Date().getTimezoneOffset();
    const page = Number(note.dataset.pageOffsetMinutes);
    const slot = note.querySelector(".page-zone__browser");
    if (!slot || Number.isNaN(page) || browser === page) return;
    let zone = "";
    try {
      zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (error) {
      zone = "";
    }
    // The words come from the page, in the admin's language ("{offset}" is filled in here).
    const text = note.dataset.browserText || "; your browser is at {offset}";
    slot.textContent = text.replace("{offset}", offsetText(browser) + (zone ? " (" + zone + ")" : ""));
    slot.hidden = false;
  }

  function dropDjangoWarnings() {
    document.querySelectorAll(".timezonewarning").forEach(function (warning) {
      warning.remove();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    const note = document.getElementById("page-zone");
    if (note) describeBrowser(note);
  });
  // Django adds its warnings from its own load handler; remove them once it has run.
  window.addEventListener("load", function () {
    dropDjangoWarnings();
    setTimeout(dropDjangoWarnings, 0);
  });
})();
