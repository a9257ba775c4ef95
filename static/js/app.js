// Behaviour shared by every page, declared in the markup with data attributes: the pages carry no
// inline event handlers (the Content-Security-Policy allows scripts from our origin only).
//   <select data-autosubmit>                 submits its form when changed
//   <select data-autosubmit data-clear="x">  empties the form's field x first
//   <form data-confirm="question">           asks before submitting
//   <form data-disable-on-submit>            disables its button once submitted (no double top-up)
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (!el.matches || !el.matches("select[data-autosubmit]") || !el.form) return;
    var clear = el.dataset.clear && el.form.elements[el.dataset.clear];
    if (clear) clear.value = "";
    el.form.submit();
  });
  // Countdowns on cards: <p class="countdown" data-begins="ms" data-ends="ms" data-starts-in=".."
  // data-ends-in=".." data-ended="..">, ticking every second from the page's clock.
  var countdowns = document.querySelectorAll(".countdown[data-ends], .countdown[data-begins]");
  function two(n) { return (n < 10 ? "0" : "") + n; }
  function span(ms) {
    var s = Math.max(0, Math.ceil(ms / 1000));
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    return (d ? d + "d " : "") + two(h) + ":" + two(m) + ":" + two(s % 60);
  }
  function tick() {
    var now = Date.now();
    countdowns.forEach(function (el) {
      var begins = parseInt(el.dataset.begins || "0", 10), ends = parseInt(el.dataset.ends || "0", 10);
      if (begins && now < begins) el.textContent = el.dataset.startsIn + " " + span(begins - now);
      else if (ends && now < ends) el.textContent = el.dataset.endsIn + " " + span(ends - now);
      else if (ends) el.textContent = el.dataset.ended;
    });
  }
  if (countdowns.length) { tick(); setInterval(tick, 1000); }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.confirm !== undefined && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
      return;
    }
    if (form.dataset.disableOnSubmit !== undefined) {
      var button = form.querySelector("button");
      if (button) setTimeout(function () { button.disabled = true; }, 0);
    }
  });
})();
