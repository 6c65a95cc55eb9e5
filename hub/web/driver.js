// Dorfpunkt driver page (/driver and /driver/shifts/{id}): stop events that survive a bad
// connection. Without this file every form posts as usual and the page comes back.
//
// The contract (end-to-end tests drive it):
// - Forms: `form.driver-event` with `data-stop` (the route stop id) and `data-kind`
//   (`picked_up`, `dropped_off` or `no_show`); fields `_csrf`, `event_id` (a UUID drawn into the
//   page), `kind`, `at`; action `/driver/stops/{stop}/events`. Each stop is `li#halt-{stop}`,
//   its status word is in `#halt-{stop}-status strong`.
// - Queue: localStorage key `dorfpunkt.driver.queue`, a JSON array, oldest first, of
//   `{id, action, stop, kind, at}` where `at` is the tap time (ISO 8601, UTC). Nothing personal.
// - Messages: `#driver-queue-status` (role=status) says how many events wait, or "Bitte neu
//   anmelden"; `#driver-queue-error` (role=alert) shows the hub's refusal of an event; per stop
//   `#halt-{stop}-meldung` says "gespeichert, wird gesendet", then "gesendet: …" or the refusal.
// - "Nicht angetroffen" asks first (`data-confirm`, handled by app.js). A tap stores the event, disables that stop's buttons and shows "gespeichert, wird gesendet"
//   at once; then events are sent one at a time in queue order with fetch (POST, same origin,
//   form encoded, with the CSRF token of the page as it is now, never a stored one, and the
//   header `X-Dorfpunkt-Queue: 1`, to which the hub answers 204 instead of a redirect).
// - Answers: 2xx → removed, "gesendet". Redirected to /login (session ended), 401 or 403 → kept,
//   "Bitte neu anmelden", sending paused until a page is loaded after logging in again (the
//   queue stays in localStorage meanwhile). Other 4xx → removed, the hub's message shown, the
//   stop's buttons enabled again. Network error, 408, 429 or 5xx → kept, tried again after 2, 4,
//   8 … at most 60 seconds, and at once when the browser says it is online again.
"use strict";

(() => {
  const KEY = "dorfpunkt.driver.queue";
  const statusBox = document.getElementById("driver-queue-status");
  const errorBox = document.getElementById("driver-queue-error");
  if (!statusBox || !errorBox) {
    return;
  }
  const WORDS = {
    picked_up: "abgeholt",
    dropped_off: "abgesetzt",
    no_show: "nicht angetroffen",
  };
  let sending = false;
  let paused = false;
  let delay = 0;
  let timer = null;

  function load() {
    try {
      const queue = JSON.parse(localStorage.getItem(KEY) || "[]");
      return Array.isArray(queue) ? queue : [];
    } catch (_) {
      return [];
    }
  }

  function save(queue) {
    localStorage.setItem(KEY, JSON.stringify(queue));
  }

  function note(stop, text) {
    const box = document.getElementById(`halt-${stop}-meldung`);
    if (box) {
      box.textContent = text;
    }
  }

  function lock(stop, locked) {
    const selector = `form.driver-event[data-stop="${CSS.escape(stop)}"] button`;
    document.querySelectorAll(selector).forEach((button) => {
      button.disabled = locked;
    });
  }

  function showCount() {
    if (paused) {
      return;
    }
    const waiting = load().length;
    if (waiting === 0) {
      statusBox.textContent = "";
    } else if (timer) {
      statusBox.textContent =
        `${waiting} ${waiting === 1 ? "Meldung wartet" : "Meldungen warten"} auf Versand. ` +
        `Keine Verbindung – neuer Versuch in ${Math.round(delay / 1000)} Sekunden.`;
    } else {
      statusBox.textContent =
        `${waiting} ${waiting === 1 ? "Meldung wird" : "Meldungen werden"} gesendet.`;
    }
  }

  function csrf() {
    const field = document.querySelector('input[name="_csrf"]');
    return field ? field.value : "";
  }

  // The hub answers refusals with an HTML page whose message has role=alert.
  async function refusal(response) {
    try {
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      const message = page.querySelector("main p[role=alert]");
      if (message && message.textContent.trim()) {
        return message.textContent.trim();
      }
    } catch (_) {
      // Fall through to the general text.
    }
    return `Die Meldung wurde abgelehnt (${response.status}).`;
  }

  async function send(item) {
    const body = new URLSearchParams({
      _csrf: csrf(),
      event_id: item.id,
      kind: item.kind,
      at: item.at,
    });
    const response = await fetch(item.action, {
      method: "POST",
      body,
      credentials: "same-origin",
      redirect: "follow",
      headers: { "X-Dorfpunkt-Queue": "1" },
    });
    const path = new URL(response.url, window.location.href).pathname;
    if (path === "/login" || path === "/account/password" ||
        response.status === 401 || response.status === 403) {
      return "login";
    }
    if (response.ok) {
      note(item.stop, `gesendet: ${WORDS[item.kind] || item.kind}`);
      const word = document.querySelector(`#halt-${CSS.escape(item.stop)}-status strong`);
      if (word) {
        word.textContent = WORDS[item.kind] || item.kind;
      }
      return "done";
    }
    const retry = response.status >= 500 || response.status === 408 || response.status === 429;
    if (retry || response.status < 400) {
      return "retry";
    }
    const text = await refusal(response);
    note(item.stop, `nicht gespeichert: ${text}`);
    errorBox.textContent = text;
    lock(item.stop, false);
    return "refused";
  }

  function later() {
    delay = delay ? Math.min(delay * 2, 60000) : 2000;
    timer = window.setTimeout(() => {
      timer = null;
      pump();
    }, delay);
  }

  async function pump() {
    if (sending || paused || timer) {
      return;
    }
    sending = true;
    try {
      for (;;) {
        const queue = load();
        if (queue.length === 0) {
          delay = 0;
          break;
        }
        const item = queue[0];
        let result;
        try {
          result = await send(item);
        } catch (_) {
          result = "retry";
        }
        if (result === "retry") {
          later();
          break;
        }
        if (result === "login") {
          paused = true;
          statusBox.textContent =
            "Bitte neu anmelden. Ihre Meldungen sind gespeichert und werden danach gesendet.";
          break;
        }
        delay = 0;
        save(load().filter((e) => e.id !== item.id));
      }
    } finally {
      sending = false;
      showCount();
    }
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    // A form whose confirmation (app.js, `data-confirm`) was declined is not queued either.
    if (event.defaultPrevented || !(form instanceof HTMLFormElement) ||
        !form.classList.contains("driver-event")) {
      return;
    }
    const item = {
      id: form.elements.event_id.value,
      action: form.getAttribute("action"),
      stop: form.dataset.stop,
      kind: form.dataset.kind,
      at: new Date().toISOString(),
    };
    try {
      const queue = load();
      if (!queue.some((e) => e.id === item.id)) {
        queue.push(item);
      }
      save(queue);
    } catch (_) {
      // No storage (private mode, full): the form posts as without the script.
      return;
    }
    event.preventDefault();
    lock(item.stop, true);
    note(item.stop, "gespeichert, wird gesendet");
    errorBox.textContent = "";
    showCount();
    pump();
  });

  window.addEventListener("online", () => {
    if (timer) {
      window.clearTimeout(timer);
      timer = null;
    }
    pump();
  });

  for (const item of load()) {
    lock(item.stop, true);
    note(item.stop, "gespeichert, wird gesendet");
  }
  showCount();
  pump();
})();
