// Voucher page: countdown, live remaining stock (polling a small JSON read), and the buy button.
// Plain JavaScript, no build step. Texts come translated from the server (#voucher-texts).
(function () {
  "use strict";
  var box = document.querySelector("[data-testid=voucher]");
  if (!box) return;
  var texts = JSON.parse(document.getElementById("voucher-texts").textContent);
  var countdown = box.querySelector("[data-testid=countdown]");
  var stockEl = box.querySelector("[data-testid=stock]");
  var statusEl = box.querySelector("[data-testid=sale-status]");
  var buy = box.querySelector("[data-testid=buy]");
  var outcome = box.querySelector("[data-testid=outcome]");
  var ordersLink = box.querySelector("[data-testid=orders-link]");
  var begins = box.dataset.begins ? parseInt(box.dataset.begins, 10) : null;
  var ends = box.dataset.ends ? parseInt(box.dataset.ends, 10) : null;
  var minutes = Math.round(parseInt(box.dataset.window || "900", 10) / 60);
  var status = box.dataset.status;
  var skew = 0; // server clock minus ours, learned from each poll
  var busy = false;
  var idemKey = null;

  function now() { return Date.now() + skew; }

  function two(n) { return (n < 10 ? "0" : "") + n; }

  function span(ms) {
    var s = Math.max(0, Math.ceil(ms / 1000));
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    return (d ? d + "d " : "") + two(h) + ":" + two(m) + ":" + two(s % 60);
  }

  // The button says what a click would do: buy, bought (at the per-user limit), sold out.
  function setButton(state) {
    if (!buy) return;
    buy.dataset.state = state;
    buy.textContent = texts.button[state] || texts.button.buy;
    if (!busy) buy.disabled = state !== "buy";
  }

  function setStatus(next) {
    status = next;
    if (statusEl) statusEl.textContent = texts.status[next] || next;
    if (!buy || buy.dataset.state === "bought") return;
    setButton(next === "on_sale" ? "buy" : next === "sold_out" ? "sold_out" : "closed");
  }

  function tick() {
    var t = now();
    if (countdown) {
      if (begins && t < begins) countdown.textContent = texts.starts_in + " " + span(begins - t);
      else if (ends && t < ends) countdown.textContent = texts.ends_in + " " + span(ends - t);
      else if (ends) countdown.textContent = texts.ended;
    }
    // The clock decides the edges at once; the next poll confirms the stock.
    if (status === "upcoming" && begins && t >= begins) setStatus("on_sale");
    if ((status === "on_sale" || status === "sold_out") && ends && t >= ends) setStatus("ended");
  }

  function refresh() {
    return fetch(box.dataset.liveUrl, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        skew = data.now_ms - Date.now();
        // The operator may move the sale's window: the countdown follows without a reload.
        if (data.begins_ms !== undefined) begins = data.begins_ms;
        if (data.ends_ms !== undefined) ends = data.ends_ms;
        if (stockEl && data.stock_remaining !== null) stockEl.textContent = data.stock_remaining;
        setStatus(data.status);
      })
      .catch(function () { /* offline for a moment: the next poll tries again */ });
  }

  function poll() {
    refresh().then(function () {
      var soon = begins && Math.abs(begins - now()) < 10000;
      setTimeout(poll, status === "on_sale" || soon ? 1000 : 3000);
    });
  }

  function csrf() {
    var m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  function say(text, kind) {
    outcome.hidden = false;
    outcome.textContent = text;
    outcome.className = "msg " + (kind || "");
  }

  function settle(orderId, tries) {
    // A 202 order settles within seconds: ask the orders API until it is written.
    fetch("/api/v1/orders/" + orderId, { headers: { Accept: "application/json", "X-CSRFToken": csrf() } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (order) {
        if (order && order.status && order.status !== "processing") {
          if (order.status === "failed") {
            say(texts.failed.replace("{reason}", texts.errors[order.failure_code] || order.failure_code), "error");
          } else {
            say(texts.confirmed.replace("{minutes}", minutes), "success");
          }
          return;
        }
        if (tries > 0) setTimeout(function () { settle(orderId, tries - 1); }, 1000);
      })
      .catch(function () { if (tries > 0) setTimeout(function () { settle(orderId, tries - 1); }, 1000); });
  }

  function purchase() {
    if (busy) return;
    busy = true;
    buy.disabled = true;
    idemKey = idemKey || (Date.now().toString(36) + Math.random().toString(36).slice(2));
    say(texts.buying, "");
    fetch(box.dataset.purchaseUrl, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": csrf(),
        "Idempotency-Key": idemKey
      },
      credentials: "same-origin",
      body: "{}"
    })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (body) { return { code: r.status, body: body }; });
      })
      .then(function (res) {
        idemKey = null;
        if (res.code === 201) {
          say(texts.bought.replace("{minutes}", minutes), "success");
          setButton("bought");
        } else if (res.code === 202) {
          say(texts.accepted, "success");
          setButton("bought");
          settle(res.body.order.id, 15);
        } else {
          var code = res.body && res.body.error ? res.body.error.code : "other";
          say(texts.errors[code] || texts.errors.other, code === "rate_limited" ? "warning" : "error");
          if (code === "sold_out") setStatus("sold_out");
          if (code === "already_purchased" || code === "purchase_limit_reached") setButton("bought");
        }
        ordersLink.hidden = false;
      })
      .catch(function () { say(texts.errors.network, "error"); })
      .then(function () {
        busy = false;
        setStatus(status);
        refresh();
      });
  }

  if (buy) buy.addEventListener("click", purchase);
  tick();
  setInterval(tick, 250);
  setTimeout(poll, 1000);
})();
