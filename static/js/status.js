/* Progressive enhancement for the status page; everything works without it.
 *
 * 1. A button that shows every <time datetime> in the reader's own time zone (and back),
 *    remembered across pages. The page renders it (disabled, invisible) so its space is
 *    kept from the first paint; this only enables it. The label beside it always names
 *    the zone the times are in, also after live updates replace parts of the page.
 * 2. Arrow keys move between the days of an uptime bar (one Tab stop per component).
 * 3. A tap, click, Enter or Space on a day opens a popover with its durations and its
 *    incidents (phones have no hover for the title tooltip).
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
    var button = document.querySelector("[data-tz-toggle]");
    var label = document.querySelector("[data-tz-label]");
    if (!button || !label || !document.querySelector("time[datetime][data-fmt]") || !window.Intl) return;

    var pageLabel = label.textContent;
    var zone = localZoneName();
    button.disabled = false;

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
      var current = document.querySelector("[data-tz-label]");
      if (current) current.textContent = local ? "Times are shown in your time zone (" + zone + ")." : pageLabel;
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
      if (bar.getAttribute("aria-expanded") === "true") openDay(next);
    });
  }

  // --- the day popover -------------------------------------------------------------------

  var popover = null;
  var openBar = null;
  var popoverCount = 0;

  function closeDay(returnFocus) {
    if (!popover) return;
    popover.hidden = true;
    if (openBar) {
      openBar.setAttribute("aria-expanded", "false");
      if (returnFocus && document.contains(openBar)) openBar.focus();
    }
    openBar = null;
  }

  function element(tag, className, text) {
    var el = document.createElement(tag);
    if (className) el.className = className;
    if (text) el.textContent = text;
    return el;
  }

  function openDay(bar) {
    var row = bar.closest(".uptime");
    if (!row) return;
    closeDay(false);
    popoverCount += 1;
    if (!popover) {
      popover = element("div", "uptime__pop");
      popover.setAttribute("role", "group");
    }
    popover.id = "uptime-day-" + popoverCount;
    popover.innerHTML = "";
    // The title reads "Jan 29, 2021 · Major outage 41 min; Degraded 3 min · 99.93% uptime".
    var parts = (bar.getAttribute("title") || "").split(" · ");
    var heading = element("p", "uptime__pop-day", parts[0]);
    popover.setAttribute("aria-label", parts[0]);
    popover.appendChild(heading);
    var lines = element("ul", "uptime__pop-lines");
    (parts[1] || "").split("; ").concat(parts.slice(2)).forEach(function (text) {
      if (text) lines.appendChild(element("li", "", text));
    });
    popover.appendChild(lines);
    var incidents = [];
    try {
      incidents = JSON.parse(bar.getAttribute("data-incidents") || "[]");
    } catch (e) {
      incidents = [];
    }
    if (incidents.length) {
      popover.appendChild(element("p", "uptime__pop-label", incidents.length === 1 ? "Incident" : "Incidents"));
      var list = element("ul", "uptime__pop-incidents");
      incidents.forEach(function (incident) {
        var item = element("li");
        var link = element("a", "", incident.name);
        link.href = incident.url;
        item.appendChild(link);
        list.appendChild(item);
      });
      popover.appendChild(list);
    }
    var close = element("button", "uptime__pop-close");
    close.type = "button";
    close.setAttribute("aria-label", "Close");
    close.textContent = "\u00d7";
    close.addEventListener("click", function () { closeDay(true); });
    popover.appendChild(close);

    // After the bars in the document, so Tab goes from the day into the popover's links.
    var bars = row.querySelector("[data-uptime]");
    bars.parentNode.insertBefore(popover, bars.nextSibling);
    popover.hidden = false;
    popover.style.top = bars.offsetTop + bars.offsetHeight + 6 + "px";
    var left = bar.offsetLeft + bar.offsetWidth / 2 - popover.offsetWidth / 2;
    popover.style.left = Math.max(0, Math.min(left, row.clientWidth - popover.offsetWidth)) + "px";
    bar.setAttribute("aria-expanded", "true");
    bar.setAttribute("aria-controls", popover.id);
    openBar = bar;
  }

  function setupUptimeDays() {
    document.addEventListener("click", function (event) {
      var bar = event.target.closest ? event.target.closest(".bar") : null;
      if (bar && bar.closest("[data-uptime]")) {
        if (openBar === bar) closeDay(false);
        else openDay(bar);
        return;
      }
      if (popover && !popover.hidden && !popover.contains(event.target)) closeDay(false);
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && popover && !popover.hidden) closeDay(true);
    });
    // A live update replaces the bars: a popover left over would describe a day no longer shown.
    document.addEventListener("status:updated", function () {
      if (openBar && !document.contains(openBar)) {
        openBar = null;
        if (popover) popover.hidden = true;
      }
    });
  }

  setupTimeToggle();
  setupUptimeKeys();
  setupUptimeDays();
})();
