// The policy editor (web/ui/templates/admin/policy_edit.html): line numbers beside the text,
// the lines with problems marked, and a problem's link putting the cursor on its line. Without
// this script the page works the same: the problems name their lines and quote them.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const editor = document.querySelector(".editor");
  if (!editor) return;
  const text = editor.querySelector("textarea");
  const gutter = editor.querySelector(".gutter");
  const marked = new Set((editor.dataset.problemLines || "").split(" ").filter(Boolean).map(Number));
  editor.classList.add("numbered");
  let shown = 0;
  const number = () => {
    const lines = text.value.split("\n").length;
    if (lines !== shown) {
      const rows = [];
      for (let n = 1; n <= lines; n++) rows.push(marked.has(n) ? `<span class="bad">${n}</span>` : String(n));
      gutter.innerHTML = rows.join("\n");
      shown = lines;
    }
    gutter.scrollTop = text.scrollTop;
  };
  text.addEventListener("input", number);
  text.addEventListener("scroll", () => { gutter.scrollTop = text.scrollTop; });
  number();
  const goTo = (line) => {
    const lines = text.value.split("\n");
    const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    text.focus();
    text.setSelectionRange(start, start + (lines[line - 1] || "").length);
    const height = text.scrollHeight / Math.max(lines.length, 1);
    text.scrollTop = Math.max(0, (line - 3) * height);
    number();
  };
  for (const link of document.querySelectorAll("a[data-line]")) {
    link.addEventListener("click", (event) => { event.preventDefault(); goTo(Number(link.dataset.line)); });
  }
});
