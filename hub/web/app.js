// Dorfpunkt hub pages: small progressive enhancement. Every page works without this file.
"use strict";

// Forms with data-confirm ask before they are sent (cancel, revoke, erase …).
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form instanceof HTMLFormElement && form.dataset.confirm) {
    if (!window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  }
});
