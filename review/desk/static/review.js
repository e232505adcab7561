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

// Keyboard shortcuts (the "?" overlay lists them). None fires while typing in a field, or with Ctrl/Alt/Meta.
const typing = (el) => Boolean(el) && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
const csrfToken = () => (document.querySelector("input[name=csrf]") || {}).value || "";

document.addEventListener("DOMContentLoaded", () => {
  const rows = () => Array.from(document.querySelectorAll("table.queue tbody tr[data-id]"));
  let current = -1;
  const mark = (index) => {
    const all = rows();
    if (!all.length) return;
    current = Math.max(0, Math.min(all.length - 1, index));
    all.forEach((row, i) => row.classList.toggle("current", i === current));
    all[current].scrollIntoView({ block: "nearest" });
  };
  const help = document.getElementById("shortcuts");
  const press = (selector) => {
    const el = document.querySelector(selector);
    if (el) el.click();
    return Boolean(el);
  };

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    const key = event.key;
    if (help && (key === "?" || (key === "Escape" && !help.hidden))) {
      help.hidden = !help.hidden;
      event.preventDefault();
      return;
    }
    const onLink = event.target instanceof HTMLElement && /^(A|BUTTON)$/.test(event.target.tagName);
    let done = true;
    if (key === "j" || (key === "ArrowDown" && rows().length)) mark(current + 1);
    else if (key === "k" || (key === "ArrowUp" && rows().length)) mark(current - 1);
    else if ((key === "Enter" && !onLink) || key === "o") {
      const row = rows()[current < 0 ? 0 : current];
      if (row) window.location.assign(row.dataset.href);
      else done = false;
    } else if (key === " " && rows().length && current >= 0) {
      const box = rows()[current].querySelector("input[type=checkbox]");
      if (box) box.click();
    } else if (key === "w") done = press("#work-start");
    else if (key === "c") done = press("form.decide button.confirm");
    else if (key === "x") done = press("form.decide button.overturn");
    else if (key === "s") done = press("#skip button[type=submit]");
    else if (key === "g") {
      const context = document.querySelector("#context, section.context, section.parent, #reports");
      if (context) context.scrollIntoView({ block: "start" });
      done = Boolean(context);
    } else done = false;
    if (done) event.preventDefault();
  });

  // The open item page keeps its claim while it is open.
  const claim = document.querySelector("#claim[data-renew]");
  if (claim) {
    const every = Number(claim.dataset.every) || 60000;
    window.setInterval(() => {
      fetch(claim.dataset.renew, { method: "POST", headers: { "X-CSRF-Token": csrfToken() } })
        .then((resp) => resp.json())
        .then((body) => {
          if (body.until) claim.dataset.until = body.until;
          else if (body.holder) claim.textContent = `${body.holder} · ${body.until || ""}`;
        })
        .catch(() => {});
    }, every);
  }

  // Bulk decisions: tick rows (shift-click ticks a range), the page, or everything matching the filters.
  const bulk = document.getElementById("bulk");
  if (!bulk) return;
  const boxes = () => Array.from(document.querySelectorAll("table.queue tbody input[name=ids]"));
  const picked = document.getElementById("picked");
  const result = document.getElementById("bulk-result");
  let everything = null; // ids of the whole selection from /api/selection, when chosen
  let last = -1;
  const count = () => {
    picked.textContent = String(everything ? everything.length : boxes().filter((b) => b.checked).length);
  };
  for (const [i, box] of boxes().entries()) {
    box.addEventListener("click", (event) => {
      everything = null;
      if (event.shiftKey && last >= 0) {
        const [a, b] = [Math.min(last, i), Math.max(last, i)];
        boxes().slice(a, b + 1).forEach((other) => { other.checked = box.checked; });
      }
      last = i;
      count();
    });
  }
  const page = document.getElementById("pick-page");
  if (page) {
    page.addEventListener("change", () => {
      everything = null;
      boxes().forEach((box) => { box.checked = page.checked; });
      count();
    });
  }
  const filters = bulk.querySelector("input[name=filters]").value;
  document.getElementById("pick-all").addEventListener("click", async () => {
    const resp = await fetch(`/api/selection?${filters}`, { headers: { "X-CSRF-Token": csrfToken() } });
    const body = await resp.json();
    everything = body.ids || [];
    boxes().forEach((box) => { box.checked = true; });
    count();
  });
  bulk.addEventListener("submit", async (event) => {
    event.preventDefault();
    const outcome = event.submitter ? event.submitter.value : "confirmed";
    const comment = bulk.querySelector("input[name=comment]").value.trim();
    const ids = everything || boxes().filter((b) => b.checked).map((b) => b.value);
    if (!ids.length || !comment) {
      result.textContent = result.dataset.empty || "Select items and give a reason.";
      return;
    }
    const buttons = bulk.querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    let decided = 0;
    const failed = {};
    for (let at = 0; at < ids.length; at += 500) {
      const resp = await fetch("/api/bulk", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
        body: JSON.stringify({ ids: ids.slice(at, at + 500), outcome, comment }),
      });
      const body = await resp.json();
      if (!resp.ok) {
        result.textContent = body.message || String(resp.status);
        buttons.forEach((b) => { b.disabled = false; });
        return;
      }
      decided += body.decided;
      Object.assign(failed, body.failed);
      result.textContent = `${decided} / ${ids.length}`;
    }
    const refused = Object.keys(failed);
    result.dataset.decided = String(decided);
    result.dataset.failed = String(refused.length);
    result.textContent = `${decided} ✓, ${refused.length} ✗` +
      (refused.length ? `: ${refused.slice(0, 20).map((id) => `${id} (${failed[id]})`).join("; ")}` : "");
    buttons.forEach((b) => { b.disabled = false; });
    everything = null;
  });
});
