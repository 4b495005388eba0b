/* Progressive enhancement for the status page; everything works without it.
 *
 * 1. A button that shows every <time datetime> in the reader's own time zone (and back),
 *    remembered across pages. The page renders it (disabled, invisible) so its space is
 *    kept from the first paint; this only enables it. The label beside it always names
 *    the zone the times are in, also after live updates replace parts of the page.
 * 2. Arrow keys move between the days of an uptime bar (one Tab stop per component).
 * 3. A tap, click, Enter or Space on a day opens a popover with its durations and its
 *    incidents (phones have no hover for the title tooltip).
 *
 * Its words and date patterns come from the page, in the page's language (the JSON in
 * <script id="page-texts">, made by the `page_texts` tag); English is the fallback.
 */
(function () {
  "use strict";

  var STORAGE_KEY = "status:local-times";

  var TEXTS = (function () {
    var english = {
      show_local: "Show my local time",
      show_page: "Show page time",
      local_zone: "Times are shown in your time zone ({zone}).",
      your_zone: "your time zone",
      incident: "Incident",
      incidents: "Incidents",
      close: "Close",
      countdown: "({time} left)",
      due: "(due now)",
      formats: {},
    };
    var island = document.getElementById("page-texts");
    if (!island) return english;
    try {
      var given = JSON.parse(island.textContent);
      Object.keys(english).forEach(function (key) {
        if (!(key in given)) given[key] = english[key];
      });
      return given;
    } catch (e) {
      return english;
    }
  })();

  function localZoneName() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || TEXTS.your_zone;
    } catch (e) {
      return TEXTS.your_zone;
    }
  }

  function parts(date, options) {
    var out = {};
    new Intl.DateTimeFormat("en-US", options).formatToParts(date).forEach(function (p) {
      out[p.type] = p.value;
    });
    return out;
  }

  // A pattern of the page's own (Django's date syntax: "M j, Y H:i", "Y年n月j日 H:i"), for
  // the letters the patterns use; any other character is itself; a backslash escapes the next one.
  function fromPattern(pattern, p) {
    var out = "";
    for (var i = 0; i < pattern.length; i += 1) {
      var c = pattern.charAt(i);
      if (c === "\\" && i + 1 < pattern.length) {
        i += 1;
        out += pattern.charAt(i);
      } else if (c === "Y") out += p.year;
      else if (c === "M") out += p.month;
      else if (c === "n") out += p.monthNumber;
      else if (c === "m") out += ("0" + p.monthNumber).slice(-2);
      else if (c === "j") out += p.day;
      else if (c === "d") out += ("0" + p.day).slice(-2);
      else if (c === "H") out += p.hour;
      else if (c === "i") out += p.minute;
      else out += c;
    }
    return out;
  }

  // Same shapes as the server's: "Jan 29, 2021 10:37 CET", "Jan 29, 10:37 CET", "10:37 CET", "10:37", "Jan 29, 2021"
  // (or the page's patterns for its language: "2021年1月29日 10:37 CET").
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
    p.monthNumber = parts(date, { month: "numeric" }).month;
    var hm = p.hour + ":" + p.minute;
    var zone = p.timeZoneName ? " " + p.timeZoneName : "";
    var pattern = TEXTS.formats && TEXTS.formats[fmt];
    if (pattern) return fromPattern(pattern, p) + (fmt === "hm" || fmt === "date" ? "" : zone);
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
      button.textContent = local ? TEXTS.show_page : TEXTS.show_local;
      var current = document.querySelector("[data-tz-label]");
      if (current) current.textContent = local ? TEXTS.local_zone.replace("{zone}", zone) : pageLabel;
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
    // The title reads "Jan 29, 2021 · Major outage 41 min; Degraded 3 min · 99.93% uptime"
    // (in Chinese the statuses are parted by "；").
    var parts = (bar.getAttribute("title") || "").split(" · ");
    var heading = element("p", "uptime__pop-day", parts[0]);
    popover.setAttribute("aria-label", parts[0]);
    popover.appendChild(heading);
    var lines = element("ul", "uptime__pop-lines");
    (parts[1] || "").split(/; |；/).concat(parts.slice(2)).forEach(function (text) {
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
      popover.appendChild(element("p", "uptime__pop-label", incidents.length === 1 ? TEXTS.incident : TEXTS.incidents));
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
    close.setAttribute("aria-label", TEXTS.close);
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

  // 3. Countdowns (a maintenance's pre-open phase): the time left to <span data-countdown>,
  // every second; live updates replace them, so each tick looks them up again.
  function pad(n) {
    return n < 10 ? "0" + n : String(n);
  }

  function setupCountdowns() {
    function tick() {
      var now = Date.now();
      Array.prototype.forEach.call(document.querySelectorAll("[data-countdown]"), function (el) {
        var at = Date.parse(el.getAttribute("data-countdown"));
        if (isNaN(at)) return;
        var left = Math.max(0, Math.round((at - now) / 1000));
        var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
        var clock = (h ? h + ":" + pad(m) : String(m)) + ":" + pad(s);
        el.textContent = left > 0 ? TEXTS.countdown.replace("{time}", clock) : TEXTS.due;
      });
    }
    tick();
    window.setInterval(tick, 1000);
  }

  setupTimeToggle();
  setupUptimeKeys();
  setupUptimeDays();
  setupCountdowns();
})();
