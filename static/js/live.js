/* Live updates for the status, history and incident pages; the pages work without it.
 *
 * The server sends each view's regions as HTML (rendered once per change for everyone);
 * this swaps them in place, so scroll position and focus elsewhere stay put. After a drop
 * it reconnects with exponential backoff and jitter and gets the current state at once.
 * Where WebSockets are blocked it polls /live/state instead. A small indicator in the
 * header says which of these is happening.
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

  function show(state, text) {
    if (!indicator) return;
    indicator.hidden = false;
    indicator.setAttribute("data-state", state);
    indicatorText.textContent = text;
  }

  function swapRegions(regions) {
    Object.keys(regions).forEach(function (name) {
      var el = document.querySelector('[data-live-region="' + name + '"]');
      if (el && el.innerHTML !== regions[name]) el.innerHTML = regions[name];
    });
    document.dispatchEvent(new CustomEvent("status:updated"));
  }

  function refetchMain() {
    fetch(window.location.href, { headers: { Accept: "text/html" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.querySelector("main");
        var main = document.querySelector("main");
        if (fresh && main && main.innerHTML !== fresh.innerHTML) {
          main.innerHTML = fresh.innerHTML;
          document.dispatchEvent(new CustomEvent("status:updated"));
        }
      })
      .catch(function () { /* the next change or poll tries again */ });
  }

  function handle(message) {
    if (message.seq) seq = Math.max(seq, message.seq);
    body.setAttribute("data-live-seq", String(seq));
    if (message.type === "update" && message.regions) swapRegions(message.regions);
    else if (message.type === "changed") refetchMain();
  }

  function socketUrl() {
    var url = new URL("/ws/status", window.location.href);
    url.protocol = window.location.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("view", view);
    url.searchParams.set("since", String(seq));
    return url.toString();
  }

  function startPolling() {
    if (pollTimer) return;
    show("polling", "Updating every few seconds");
    var poll = function () {
      fetch("/live/state?view=" + encodeURIComponent(view), { cache: "no-store" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (message) { if (message) handle(message); })
        .catch(function () { show("offline", "Offline — retrying"); });
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
      show("live", "Live");
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
      else show("reconnecting", "Reconnecting…");
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
