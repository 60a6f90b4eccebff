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

// Attachments in the composer. Without this the form's file slots (templates/_media.html) are
// sent as they are; with it, a button and drag and drop (or paste) fill the slots, each chosen
// file shows as a preview with its description field and a Remove button, and files the node
// would refuse (too many, too large, a type it does not take) are refused here first.
function startComposerMedia(form) {
  const box = form.querySelector("[data-media]");
  const add = form.querySelector("[data-media-add]");
  if (!box || !add || typeof DataTransfer === "undefined") return;
  const slots = Array.from(box.querySelectorAll(".media-slot"));
  const note = document.getElementById(`${form.id}-media-status`);
  const text = form.querySelector("textarea[name='text']");
  const accept = slots[0].querySelector("input[type='file']").accept.split(",");
  const max = Number(box.dataset.maxFiles) || slots.length;
  const picker = document.createElement("input");
  picker.type = "file";
  picker.multiple = true;
  picker.accept = accept.join(",");
  picker.hidden = true;
  picker.tabIndex = -1;
  form.append(picker); // no name: the picker only hands its files to the slots
  form.classList.add("media-js");
  box.querySelector(".media-field").open = true;
  add.hidden = false;

  const fileOf = (slot) => slot.querySelector("input[type='file']");
  const keptOf = (slot) => slot.querySelector("input[name^='media_id_']");
  const removedOf = (slot) => slot.querySelector("input[name^='media_remove_']");
  const used = (slot) => fileOf(slot).files.length > 0 || (keptOf(slot) && !removedOf(slot).checked);
  const megabytes = (n) => (n < 1024 ? `${n} bytes` : n < 1048576
    ? `${Math.round(n / 1024)} KB`
    : `${(n / 1048576).toLocaleString("en", { maximumFractionDigits: 1 })} MB`);
  const isImage = (file) => file.type.startsWith("image/");
  const extension = (name) => (name.includes(".") ? name.split(".").pop().toLowerCase() : "");

  function refresh() {
    const count = slots.filter(used).length;
    box.classList.toggle("has-media", count > 0);
    add.disabled = count >= max;
    add.querySelector(".label").textContent = count ? `Attach (${count}/${max})` : "Attach";
    if (text) text.required = count === 0; // a post with attachments may have no text
  }

  function removeButton(slot, name) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "media-remove";
    button.setAttribute("aria-label", `Remove ${name}`);
    button.textContent = "×";
    button.addEventListener("click", () => {
      fileOf(slot).value = "";
      if (keptOf(slot)) removedOf(slot).checked = true;
      slot.querySelector("textarea").value = "";
      for (const shown of slot.querySelectorAll(".media-preview > :not(input)")) shown.remove();
      slot.classList.remove("filled", "kept");
      refresh();
      note.textContent = `${name} removed.`;
      note.classList.remove("problem");
      add.focus();
    });
    slot.querySelector(".media-preview").append(button);
  }

  function show(slot, file) {
    const preview = slot.querySelector(".media-preview");
    for (const shown of preview.querySelectorAll(":scope > :not(input)")) shown.remove();
    if (isImage(file)) {
      const img = document.createElement("img");
      img.className = "media-thumb";
      img.alt = "";
      img.src = URL.createObjectURL(file);
      img.addEventListener("load", () => URL.revokeObjectURL(img.src), { once: true });
      preview.append(img);
    } else {
      const label = (extension(file.name) || "file").toUpperCase().slice(0, 4);
      const doc = Object.assign(document.createElement("span"), { className: "media-doc" });
      const icon = document.createElement("span");
      icon.className = `file-icon file-${{ PDF: "pdf", DOC: "text", DOCX: "text", ODT: "text", XLS: "sheet", XLSX: "sheet", ODS: "sheet", PPT: "slides", PPTX: "slides", ODP: "slides" }[label] || "other"}`;
      icon.setAttribute("aria-hidden", "true");
      icon.append(Object.assign(document.createElement("span"), { textContent: label }));
      doc.append(icon);
      preview.append(doc);
    }
    const name = document.createElement("span");
    name.className = "media-name";
    name.append(Object.assign(document.createElement("span"), { className: "name", textContent: file.name }));
    name.append(Object.assign(document.createElement("span"), {
      className: "muted", textContent: `${isImage(file) ? "Image" : extension(file.name).toUpperCase() || "File"} · ${megabytes(file.size)}`,
    }));
    preview.append(name);
    removeButton(slot, file.name);
  }

  function attach(files) {
    const problems = [];
    let added = 0;
    for (const file of files) {
      const slot = slots.find((s) => !used(s));
      const cap = Number(isImage(file) ? box.dataset.maxImageBytes : box.dataset.maxFileBytes);
      if (!slot) {
        problems.push(`At most ${max} files per post: ${file.name} was not added.`);
        break;
      }
      if (!accept.includes(file.type) && !accept.includes(`.${extension(file.name)}`)) {
        problems.push(`${file.name} cannot be attached: images (JPEG, PNG, WebP, GIF), PDF and office documents only.`);
        continue;
      }
      if (cap && file.size > cap) {
        problems.push(`${file.name} is too large (${megabytes(file.size)}): at most ${megabytes(cap)}.`);
        continue;
      }
      const holder = new DataTransfer();
      holder.items.add(file);
      fileOf(slot).files = holder.files;
      slot.classList.add("filled");
      slot.classList.remove("kept");
      show(slot, file);
      added += 1;
      if (added === 1) slot.querySelector("textarea").focus();
    }
    refresh();
    const done = added ? `${added} file${added === 1 ? "" : "s"} attached: describe each for people who cannot see it.` : "";
    note.textContent = [...problems, done].filter(Boolean).join(" ");
    note.classList.toggle("problem", problems.length > 0);
  }

  for (const slot of slots) {
    if (keptOf(slot)) removeButton(slot, slot.querySelector(".media-name .name").textContent);
  }
  add.addEventListener("click", () => picker.click());
  picker.addEventListener("change", () => {
    attach(Array.from(picker.files));
    picker.value = "";
  });
  const carriesFiles = (event) => event.dataTransfer && Array.from(event.dataTransfer.types).includes("Files");
  form.addEventListener("dragover", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    form.classList.add("dragging");
  });
  form.addEventListener("dragleave", (event) => {
    if (!form.contains(event.relatedTarget)) form.classList.remove("dragging");
  });
  form.addEventListener("drop", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    form.classList.remove("dragging");
    attach(Array.from(event.dataTransfer.files));
  });
  form.addEventListener("paste", (event) => {
    const files = event.clipboardData ? Array.from(event.clipboardData.files) : [];
    if (!files.length) return;
    event.preventDefault();
    attach(files);
  });
  refresh();
}

for (const form of document.querySelectorAll("form.compose")) startComposerMedia(form);

// A post's picture opens full size over the page (Escape or Close goes back); without this,
// the link opens the picture itself.
document.addEventListener("click", (event) => {
  const link = event.target instanceof Element ? event.target.closest("a.media-item") : null;
  if (!link || typeof HTMLDialogElement === "undefined" || event.ctrlKey || event.metaKey || event.shiftKey) return;
  event.preventDefault();
  const alt = link.querySelector("img").alt;
  const dialog = document.createElement("dialog");
  dialog.className = "lightbox";
  dialog.setAttribute("aria-label", alt ? `Image: ${alt}` : "Image");
  const close = Object.assign(document.createElement("button"), { type: "button", className: "lightbox-close", textContent: "Close" });
  const figure = document.createElement("figure");
  figure.append(Object.assign(document.createElement("img"), { src: link.href, alt }));
  const caption = document.createElement("figcaption");
  if (alt) caption.append(Object.assign(document.createElement("p"), { textContent: alt }));
  caption.append(Object.assign(document.createElement("a"), { className: "lightbox-open", href: link.href, textContent: "Open the original" }));
  figure.append(caption);
  dialog.append(close, figure);
  close.addEventListener("click", () => dialog.close());
  dialog.addEventListener("click", (e) => { if (e.target === dialog || e.target === figure) dialog.close(); });
  dialog.addEventListener("close", () => { dialog.remove(); link.focus(); });
  document.body.append(dialog);
  dialog.showModal();
  close.focus();
});

// Scheduling: the form says the browser's offset from UTC (without it, times are UTC), and the
// times a page shows in UTC are written in the reader's own.
for (const input of document.querySelectorAll("input[data-tz-offset]")) input.value = String(new Date().getTimezoneOffset());
const pad = (n) => String(n).padStart(2, "0");
for (const input of document.querySelectorAll("input[data-utc]")) {
  const when = new Date(input.dataset.utc);
  if (!Number.isNaN(when.getTime())) {
    input.value = `${when.getFullYear()}-${pad(when.getMonth() + 1)}-${pad(when.getDate())}T${pad(when.getHours())}:${pad(when.getMinutes())}`;
  }
}
for (const time of document.querySelectorAll("time[data-local]")) {
  const when = new Date(time.dateTime);
  if (!Number.isNaN(when.getTime())) time.textContent = when.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}
// A post with a time chosen is scheduled, and its button says so.
for (const when of document.querySelectorAll("form.compose input[name=scheduled_at]")) {
  const button = when.form.querySelector("button[type=submit]");
  const label = button.textContent;
  const show = () => { button.textContent = when.value ? "Schedule" : label; };
  when.addEventListener("input", show);
  when.addEventListener("change", show);
  show();
}
// A row of tabs wider than the screen (Settings on a phone) shows the current one.
for (const current of document.querySelectorAll(".settings-tabs [aria-current=page]")) {
  const row = current.parentElement;
  row.scrollLeft = current.offsetLeft - (row.clientWidth - current.offsetWidth) / 2;
}
