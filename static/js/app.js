// Proves the script was fetched and run: fills in the status line with the page's load time.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const status = document.getElementById("status");
  if (status === null) {
    return;
  }
  const millis = Math.round(performance.now());
  status.textContent = `Script ran ${millis} ms after navigation started.`;
});
