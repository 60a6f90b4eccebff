// Atrium web UI: small progressive enhancements. Every action also works without this file.
"use strict";

// Ask before destructive forms (data-confirm).
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
});

// New posts appear without a reload: poll the timeline's fragment URL for posts newer than
// the newest one shown, and put them on top.
function startPolling(list) {
  const url = list.dataset.poll;
  const status = document.getElementById("poll-status");
  const every = Number(list.dataset.pollEvery || 5000);
  async function poll() {
    const since = list.dataset.newest || "0";
    if (since === "0" && list.querySelector("article.post")) return;
    try {
      const response = await fetch(`${url}?since_id=${encodeURIComponent(since)}`, {
        credentials: "same-origin",
        headers: { Accept: "text/html" },
      });
      if (!response.ok) return;
      const doc = new DOMParser().parseFromString(await response.text(), "text/html");
      const posts = Array.from(doc.querySelectorAll("article.post"));
      if (!posts.length) return;
      const empty = list.querySelector(".empty");
      if (empty) empty.remove();
      let added = 0;
      for (const post of posts.reverse()) {
        if (document.getElementById(post.id)) continue;
        list.prepend(document.importNode(post, true));
        added += 1;
      }
      list.dataset.newest = posts[posts.length - 1].dataset.id;
      if (added && status) status.textContent = `${added} new post${added === 1 ? "" : "s"}`;
    } catch (error) {
      // Offline or the node restarting: try again on the next tick.
    }
  }
  window.setInterval(poll, every);
}

for (const list of document.querySelectorAll("[data-poll]")) startPolling(list);

// The composer's counter: characters left, a warning from the last tenth before the node's
// limit, and the post held back (with the reason) while it is too long. Counted as the node
// counts: code points, a line break sent as CR LF.
function characters(text) {
  return [...text.replace(/\r?\n/g, "\r\n")].length;
}

function startCounter(counter) {
  const field = document.getElementById(counter.dataset.for);
  const status = document.getElementById(`${counter.id}-status`);
  const max = Number(field && field.dataset.maxChars);
  if (!field || !max) return;
  let state = "";
  function update() {
    const left = max - characters(field.value);
    const next = left < 0 ? "over" : left <= Math.max(20, Math.floor(max / 10)) ? "warn" : "";
    counter.classList.toggle("warn", next === "warn");
    counter.classList.toggle("over", next === "over");
    counter.textContent = left < 0
      ? `${(-left).toLocaleString()} characters over the limit of ${max.toLocaleString()}`
      : `${left.toLocaleString()} characters left`;
    field.setCustomValidity(left < 0 ? `Too long: at most ${max.toLocaleString()} characters, shorten it by ${(-left).toLocaleString()}.` : "");
    if (left < 0) field.setAttribute("aria-invalid", "true");
    else field.removeAttribute("aria-invalid");
    // Screen readers hear the counter only when it crosses a threshold, not at every key.
    if (next !== state && status) status.textContent = next ? counter.textContent : "";
    state = next;
  }
  field.addEventListener("input", update);
  update();
}

for (const counter of document.querySelectorAll(".counter[data-for]")) startCounter(counter);
