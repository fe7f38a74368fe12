// The phone page's service worker (served from /app/{community}/sw.js, scope
// /app/{community}): shows a Web Push notification that an incident changed,
// and opens or focuses the page on that incident when tapped. The push holds
// only {community, incident, status}: the page reads the rest with the session.

const STATUS = {
  reported: "已上报 · Reported",
  dispatched: "已派单 · Dispatched",
  accepted: "已接单 · Accepted",
  resolved: "已处理 · Resolved",
  closed: "已关闭 · Closed",
  cancelled: "已取消 · Cancelled",
};

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    /* not ours: a plain notice below */
  }
  const incident = typeof data.incident === "string" ? data.incident : null;
  const title = "工单有更新 · Incident updated";
  const body = STATUS[data.status] ?? "";
  event.waitUntil(
    self.registration.showNotification(title, {
      body,
      tag: incident ?? "commtwin", // a newer change of the same incident replaces the older
      renotify: true,
      data: { incident },
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const incident = event.notification.data?.incident ?? null;
  const page = new URL(self.registration.scope);
  const target = new URL(page.pathname.replace(/\/$/, ""), page.origin);
  if (incident) target.hash = `incident=${encodeURIComponent(incident)}`;
  event.waitUntil(
    (async () => {
      const open = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      for (const client of open) {
        if (new URL(client.url).pathname === target.pathname && "focus" in client) {
          await client.focus();
          client.postMessage({ type: "open-incident", incident });
          return;
        }
      }
      await self.clients.openWindow(target.href);
    })(),
  );
});
