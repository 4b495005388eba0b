/* Live updates for the status, history and incident pages; the pages work without it.
 *
 * The server sends each view's regions as HTML (rendered once per change for everyone);
 * this swaps them in place, so scroll position and focus elsewhere stay put. After a drop
 * it reconnects with exponential backoff and jitter and gets the current state at once.
 * Where WebSockets are blocked it polls /live/state instead. A small indicator in the
 * header says which of these is happening. The tab's title and icon follow the page's
 * status too, so a background tab never reads "Major System Outage" after a recovery.
 * The indicator's words come from the page, in its language (<script id="page-texts">).
 */
(function () {
  "use strict";

  var body = document.body;
  var view = body.getAttribute("data-live-view");
  if (!view) return;

  var indicator = document.querySelector("[data-live-indicator]");
  var indicatorText = indicator && indicator.querySelector("[data-live-text]");
  var seq = Number(body.getAttribute("data-live-seq") || 0);
  var attempt = 0;
  var socket = null;
  var pollTimer = null;
  var pingTimer = null;
  var POLL_MS = 5000;
  var MAX_BACKOFF_MS = 30000;

  var WORDS = {
    live: "Live",
    polling: "Updating every few seconds",
    offline: "Offline — retrying",
    reconnecting: "Reconnecting…",
  };
  try {
    var island = document.getElementById("page-texts");
    var given = island ? JSON.parse(island.textContent) : {};
    Object.keys(WORDS).forEach(function (key) {
      if (typeof given[key] === "string" && given[key]) WORDS[key] = given[key];
    });
  } catch (e) {
    /* English, then */
  }

  function show(state, text) {
    if (!indicator) return;
    indicator.setAttribute("data-state", state);
    indicatorText.textContent = text;
  }

  // The seq the page was rendered at, and each region's HTML as last received: a region
  // is replaced only when it really changed (not on every connect), so what the reader
  // is doing in it (a focused day, an open popover) stays.
  var renderedSeq = seq;
  var received = {};

  // Only the regions change: what the other scripts added around them (the local-time
  // button, the label naming the zone shown) stays, and they re-apply on status:updated.
  function swapRegions(regions, messageSeq) {
    var changed = false;
    Object.keys(regions).forEach(function (name) {
      var el = document.querySelector('[data-live-region="' + name + '"]');
      if (!el || received[name] === regions[name]) return;
      var first = !(name in received);
      received[name] = regions[name];
      if (first && renderedSeq && messageSeq === renderedSeq) return; // what the page already shows
      if (el.innerHTML !== regions[name]) {
        el.innerHTML = regions[name];
        changed = true;
      }
    });
    if (changed) document.dispatchEvent(new CustomEvent("status:updated"));
  }

  function setTab(title, icon) {
    if (title && document.title !== title) document.title = title;
    var link = document.querySelector("link[data-live-icon]");
    if (icon && link && link.getAttribute("href") !== icon) link.setAttribute("href", icon);
  }

  function refetchRegions() {
    // Revalidated (ETag): the page's own max-age would otherwise hand back the copy it replaces.
    fetch(window.location.href, { headers: { Accept: "text/html" }, credentials: "same-origin", cache: "no-cache" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        var regions = {};
        Array.prototype.forEach.call(doc.querySelectorAll("[data-live-region]"), function (el) {
          regions[el.getAttribute("data-live-region")] = el.innerHTML;
        });
        setTab(doc.title, null);
        swapRegions(regions, null);
      })
      .catch(function () { /* the next change or poll tries again */ });
  }

  function handle(message) {
    var shown = seq;
    if (message.seq) seq = Math.max(seq, message.seq);
    body.setAttribute("data-live-seq", String(seq));
    setTab(message.title, message.icon);
    if (message.type === "update" && message.regions) swapRegions(message.regions, message.seq);
    // The page was rendered at `shown`: refetch only what is newer (not on every connect).
    else if (message.type === "changed" && message.seq > shown) refetchRegions();
  }

  function socketUrl() {
    var url = new URL("/ws/status", window.location.href);
    url.protocol = window.location.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("view", view);
    url.searchParams.set("lang", document.documentElement.lang);
    url.searchParams.set("since", String(seq));
    return url.toString();
  }

  function startPolling() {
    if (pollTimer) return;
    show("polling", WORDS.polling);
    var poll = function () {
      fetch("/live/state?view=" + encodeURIComponent(view) + "&lang=" + encodeURIComponent(document.documentElement.lang), { cache: "no-store" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (message) { if (message) handle(message); })
        .catch(function () { show("offline", WORDS.offline); });
    };
    poll();
    pollTimer = window.setInterval(poll, POLL_MS);
  }

  function stopPolling() {
    if (pollTimer) window.clearInterval(pollTimer);
    pollTimer = null;
  }

  function backoff() {
    // Exponential with full jitter: 0.5 s, 1 s, 2 s … capped at 30 s, each spread randomly.
    var ceiling = Math.min(MAX_BACKOFF_MS, 500 * Math.pow(2, attempt));
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  function connect() {
    if (!("WebSocket" in window)) {
      startPolling();
      return;
    }
    try {
      socket = new WebSocket(socketUrl());
    } catch (e) {
      startPolling();
      return;
    }
    socket.onopen = function () {
      attempt = 0;
      stopPolling();
      show("live", WORDS.live);
      pingTimer = window.setInterval(function () {
        if (socket && socket.readyState === 1) socket.send("ping");
      }, 20000);
    };
    socket.onmessage = function (event) {
      if (event.data === "pong") return;
      try {
        handle(JSON.parse(event.data));
      } catch (e) { /* a message we do not understand is skipped */ }
    };
    socket.onclose = function () {
      window.clearInterval(pingTimer);
      socket = null;
      attempt += 1;
      // After a few failures in a row (a proxy that blocks WebSockets), poll meanwhile.
      if (attempt >= 3) startPolling();
      else show("reconnecting", WORDS.reconnecting);
      window.setTimeout(connect, backoff());
    };
  }

  // Tests and curious readers can cut the socket to watch it catch up.
  window.statusLive = {
    disconnect: function () { if (socket) socket.close(); },
    state: function () { return indicator ? indicator.getAttribute("data-state") : null; },
  };

  connect();
})();
