// The operators' dashboard: the flash sales (sold, left, pending intake), open alerts and lot
// occupancy follow the small JSON read /admin/dashboard/live, polled every 3 seconds.
(function () {
  "use strict";
  var box = document.querySelector("[data-testid=dashboard]");
  if (!box) return;
  var texts = JSON.parse(document.getElementById("dashboard-texts").textContent);

  function set(row, field, value) {
    var el = row.querySelector('[data-field="' + field + '"]');
    if (el) el.textContent = value;
  }

  function apply(data) {
    data.sales.forEach(function (s) {
      var row = box.querySelector('[data-sale="' + s.id + '"]');
      if (!row) return;
      set(row, "sold", s.sold);
      set(row, "left", s.left);
      set(row, "pending", s.pending);
      set(row, "status", texts.status[s.status] || s.status);
      row.querySelector('[data-field="bar"]').style.width = s.claimed_pct + "%";
    });
    data.lots.forEach(function (l) {
      var row = box.querySelector('[data-lot="' + l.id + '"]');
      if (!row) return;
      set(row, "occupancy", l.occupancy + " / " + l.capacity);
      row.querySelector('[data-field="bar"]').style.width = (l.capacity ? Math.round(100 * l.occupancy / l.capacity) : 0) + "%";
    });
    var alerts = box.querySelector("[data-testid=alerts-count]");
    if (alerts) alerts.textContent = data.alerts;
    box.dataset.updated = String(data.now_ms);
  }

  function poll() {
    fetch(box.dataset.liveUrl, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) apply(data); })
      .catch(function () { /* a missed poll: the next one tries again */ })
      .then(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 1000);
})();
