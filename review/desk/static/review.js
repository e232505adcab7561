// modpipe review page: small conveniences only; every action also works without JavaScript.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // A decision form is sent once: a double click must not look like a second moderator.
  for (const form of document.querySelectorAll("form.decide")) {
    form.addEventListener("submit", (event) => {
      const chosen = event.submitter;
      if (chosen) {
        const hidden = document.createElement("input");
        hidden.type = "hidden";
        hidden.name = chosen.name;
        hidden.value = chosen.value;
        form.appendChild(hidden);
      }
      for (const button of form.querySelectorAll("button")) button.disabled = true;
    });
  }
  // Changing a select in the filter bar applies it at once.
  const filters = document.getElementById("filters");
  if (filters) {
    for (const select of filters.querySelectorAll("select")) {
      select.addEventListener("change", () => filters.requestSubmit());
    }
  }
});
