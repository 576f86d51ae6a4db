// The back office, live: one socket to /api/v1/ws; on an event that concerns a region of the
// page, that region is fetched again from the server (the HTML comes from the same templates).
// A dropped socket shows the banner; on reconnect every region is fetched, so nothing is missed.
"use strict";

(function () {
  const regions = Array.from(document.querySelectorAll("[data-live]"));
  const banner = document.getElementById("live-banner");
  if (!regions.length) return;

  const REFRESH_EVERY_MS = 30000; // a colour also changes with time (five minutes unseen)
  const pending = new Map();
  let backoff = 1000;

  async function refresh(region) {
    try {
      const response = await fetch(region.dataset.live, {
        credentials: "same-origin",
        headers: { Accept: "text/html" },
        redirect: "manual",
      });
      if (response.type === "opaqueredirect" || response.status === 401) {
        // The access token ran out: a page load renews it (only page loads rotate the
        // session, so these fetches never race each other), or signs in again if it is over.
        window.location.reload();
        return;
      }
      if (!response.ok) return;
      const html = await response.text();
      if (region.contains(document.activeElement) && document.activeElement.value) {
        return; // someone is typing a reason here: keep their text, catch up later
      }
      // Keep open whatever the reader opened (a chart's figures): the new HTML has them shut.
      const open = Array.from(region.querySelectorAll("details[open][id]"), (d) => d.id);
      region.innerHTML = html;
      open.forEach((id) => { const d = document.getElementById(id); if (d) d.open = true; });
      region.dataset.refreshed = String(Date.now());
    } catch (error) {
      // offline: the socket's banner says so, the next event or reconnect catches up
    }
  }

  function soon(region) {
    if (pending.has(region)) return;
    pending.set(region, setTimeout(() => { pending.delete(region); refresh(region); }, 150));
  }

  function concerned(type) {
    return regions.filter((region) => (region.dataset.events || "").split(" ").includes(type));
  }

  function lost() {
    if (banner) banner.hidden = false;
    document.body.dataset.live = "lost";
  }

  async function connect() {
    let token;
    try {
      const answer = await fetch("/office/session/token", { credentials: "same-origin" });
      if (answer.status === 401 || answer.redirected) {
        window.location.reload(); // as above: a page load renews the session, or ends it
        return;
      }
      token = (await answer.json()).token;
    } catch (error) {
      lost();
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 30000);
      return;
    }
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(scheme + "://" + window.location.host + "/api/v1/ws");
    socket.addEventListener("open", () => {
      socket.send(JSON.stringify({ type: "auth", token: token }));
    });
    socket.addEventListener("message", (message) => {
      let event;
      try { event = JSON.parse(message.data); } catch (error) { return; }
      if (event.type === "ping") {
        socket.send(JSON.stringify({ type: "pong" }));
      } else if (event.type === "welcome") {
        backoff = 1000;
        if (banner) banner.hidden = true;
        document.body.dataset.live = "connected";
        regions.forEach(soon); // catch up on whatever happened while away
      } else {
        concerned(event.type).forEach(soon);
      }
    });
    socket.addEventListener("close", () => {
      lost();
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 30000);
    });
  }

  setInterval(() => regions.forEach(soon), REFRESH_EVERY_MS);
  connect();
})();
