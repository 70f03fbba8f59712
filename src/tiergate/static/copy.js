// Copy buttons: <button type="button" data-copy="ID"> copies the value of the field ID.
// A file of its own, not an inline script: the Content-Security-Policy forbids those.
(function () {
  "use strict";

  function say(button, words) {
    var label = button.getAttribute("data-label") || button.textContent;
    button.setAttribute("data-label", label);
    button.textContent = words;
    window.setTimeout(function () { button.textContent = label; }, 2000);
  }

  function copyTheSelection(button) {
    // The older command copies the selected field's text: plain HTTP (a local demo), or a
    // browser that refused the clipboard API. If it fails too, the text stays selected.
    var done = false;
    try {
      done = document.execCommand("copy");
    } catch (error) {
      done = false;
    }
    say(button, done ? "Copied" : "Press Ctrl+C to copy");
  }

  function copy(button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) { return; }
    field.focus();
    field.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(
        function () { say(button, "Copied"); },
        function () { field.select(); copyTheSelection(button); }
      );
    } else {
      copyTheSelection(button);
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (button) { copy(button); }
  });
}());
