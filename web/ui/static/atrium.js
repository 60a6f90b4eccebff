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
