// Product 1's user page: refreshes the list of analyses and the Cloud API
// banner (the element with id "p1-live") every few seconds, so queued
// analyses are seen completing without reloading. The page works the same
// without this script; a failed refresh just waits for the next one.
"use strict";
(function () {
  const PERIOD_MS = 3000;
  const live = document.getElementById("p1-live");
  if (!live || !window.fetch || !window.DOMParser) return;

  async function refresh() {
    try {
      const resp = await fetch("/", {
        headers: { Accept: "text/html" },
        credentials: "same-origin",
        cache: "no-store",
      });
      if (!resp.ok || resp.redirected) return;
      const doc = new DOMParser().parseFromString(await resp.text(), "text/html");
      const next = doc.getElementById("p1-live");
      if (next) {
        if (next.innerHTML !== live.innerHTML) {
          // The state the last action's message described has moved on
          // (a queued analysis ran): the message would now mislead.
          const flash = document.getElementById("flash");
          if (flash) flash.remove();
        }
        live.replaceChildren(...Array.from(next.childNodes).map((n) => document.importNode(n, true)));
      } else {
        // Signed out meanwhile (expired, revoked, locked): show the sign-in page.
        location.assign("/");
      }
    } catch (e) {
      // Product 1 itself is unreachable: keep what is shown, try again later.
    }
  }

  setInterval(() => {
    if (document.visibilityState !== "hidden") refresh();
  }, PERIOD_MS);
})();
