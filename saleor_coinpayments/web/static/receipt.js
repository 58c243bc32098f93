// The receipt's print button (the pay page and /pay/<token>/receipt): the browser's own print
// dialog, which also saves a PDF. No third-party code.
"use strict";

for (const button of document.querySelectorAll("[data-print]")) {
  button.addEventListener("click", () => window.print());
}
