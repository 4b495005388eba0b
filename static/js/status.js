/* Progressive enhancement for the status page; everything works without it.
 *
 * 1. A button that shows every <time datetime> in the reader's own time zone (and back),
 *    remembered across pages.
 * 2. Arrow keys move between the days of an uptime bar (one Tab stop per component).
 */
(function () {
  "use strict";

  var STORAGE_KEY = "status:local-times";

  function localZoneName() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || "your time zone";
    } catch (e) {
      return "your time zone";
    }
  }

  function parts(date, options) {
    var out = {};
    new Intl.DateTimeFormat("en-US", options).formatToParts(date).forEach(function (p) {
      out[p.type] = p.value;
    });
    return out;
  }

  // Same shapes as the server's: "Jan 29, 2021 10:37 CET", "Jan 29, 10:37 CET", "10:37 CET", "10:37", "Jan 29, 2021".
  function formatLocal(date, fmt) {
    var p = parts(date, {
      year: "numeric",
      month: "short",
      day: "numeric",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
      timeZoneName: "short",
    });
    var hm = p.hour + ":" + p.minute;
    var zone = p.timeZoneName ? " " + p.timeZoneName : "";
    if (fmt === "date") return p.month + " " + p.day + ", " + p.year;
    if (fmt === "time") return hm + zone;
    if (fmt === "hm") return hm;
    if (fmt === "short") return p.month + " " + p.day + ", " + hm + zone;
    return p.month + " " + p.day + ", " + p.year + " " + hm + zone;
  }

  function setupTimeToggle() {
    var slot = document.querySelector("[data-tz-toggle]");
    var label = document.querySelector("[data-tz-label]");
    if (!slot || !document.querySelector("time[datetime][data-fmt]") || !window.Intl) return;

    var pageLabel = label ? label.textContent : "";
    var zone = localZoneName();
    var button = document.createElement("button");
    button.type = "button";
    button.setAttribute("aria-pressed", "false");
    slot.appendChild(button);

    function apply(local) {
      // Queried each time: live updates replace parts of the page.
      var times = document.querySelectorAll("time[datetime][data-fmt]");
      Array.prototype.forEach.call(times, function (el) {
        if (!el.hasAttribute("data-page-text")) el.setAttribute("data-page-text", el.textContent);
        var date = new Date(el.getAttribute("datetime"));
        if (isNaN(date.getTime())) return;
        el.textContent = local ? formatLocal(date, el.getAttribute("data-fmt")) : el.getAttribute("data-page-text");
        if (local) el.title = el.getAttribute("data-page-text");
        else el.removeAttribute("title");
      });
      button.setAttribute("aria-pressed", local ? "true" : "false");
      button.textContent = local ? "Show page time" : "Show my local time";
      if (label) label.textContent = local ? "Times are shown in your time zone (" + zone + ")." : pageLabel;
      try {
        window.localStorage.setItem(STORAGE_KEY, local ? "1" : "0");
      } catch (e) {
        /* private mode: the choice lasts for this page only */
      }
    }

    button.addEventListener("click", function () {
      apply(button.getAttribute("aria-pressed") !== "true");
    });

    var remembered = false;
    try {
      remembered = window.localStorage.getItem(STORAGE_KEY) === "1";
    } catch (e) {
      remembered = false;
    }
    apply(remembered);
    document.addEventListener("status:updated", function () {
      apply(button.getAttribute("aria-pressed") === "true");
    });
  }

  function setupUptimeKeys() {
    document.addEventListener("keydown", function (event) {
      var bar = event.target;
      if (!bar.classList || !bar.classList.contains("bar")) return;
      var list = bar.closest("[data-uptime]");
      if (!list) return;
      var bars = Array.prototype.filter.call(list.querySelectorAll(".bar"), function (el) {
        return el.offsetParent !== null; // skip the days hidden on narrow screens
      });
      var index = bars.indexOf(bar);
      var next = null;
      if (event.key === "ArrowRight" || event.key === "ArrowDown") next = bars[index + 1];
      else if (event.key === "ArrowLeft" || event.key === "ArrowUp") next = bars[index - 1];
      else if (event.key === "Home") next = bars[0];
      else if (event.key === "End") next = bars[bars.length - 1];
      if (!next) return;
      event.preventDefault();
      bar.setAttribute("tabindex", "-1");
      next.setAttribute("tabindex", "0");
      next.focus();
    });
  }

  setupTimeToggle();
  setupUptimeKeys();
})();
