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
