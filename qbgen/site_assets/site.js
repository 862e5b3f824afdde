// qbgen review site: render the math pandoc left as \(...\) and \[...\] with the bundled
// KaTeX, and filter the index by topic, tag and text. No network: everything is here.
"use strict";

// Macros the bank's LaTeX uses that KaTeX does not know by itself.
const QBGEN_MACROS = {};

function renderMath() {
  for (const el of document.querySelectorAll("span.math")) {
    const display = el.classList.contains("display");
    const tex = el.textContent.trim().replace(/^\\[([]/, "").replace(/\\[)\]]$/, "");
    katex.render(tex, el, { displayMode: display, throwOnError: false, macros: QBGEN_MACROS });
    if (!display) keepPunctuation(el);
  }
  document.body.dataset.math = "done";
}

// A line may break after a formula: keep the punctuation that follows it on its line.
function keepPunctuation(el) {
  const next = el.nextSibling;
  if (!next || next.nodeType !== Node.TEXT_NODE) return;
  const m = next.data.match(/^[.,;:!?)\]]+/);
  if (!m) return;
  const wrap = document.createElement("span");
  wrap.className = "nobreak";
  el.replaceWith(wrap);
  wrap.append(el, m[0]);
  next.data = next.data.slice(m[0].length);
}

function filterIndex() {
  const table = document.getElementById("questions");
  if (!table) return;
  const topic = document.getElementById("topic");
  const tag = document.getElementById("tag");
  const search = document.getElementById("search");
  const count = document.getElementById("count");
  const rows = Array.from(table.tBodies[0].rows);
  const apply = () => {
    const words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const row of rows) {
      const tags = row.dataset.tags.split(" ");
      const ok = (!topic.value || row.dataset.topic === topic.value)
        && (!tag.value || tags.includes(tag.value))
        && words.every((w) => row.dataset.text.includes(w));
      row.hidden = !ok;
      if (ok) shown += 1;
    }
    count.textContent = `${shown} of ${rows.length} shown`;
  };
  for (const el of [topic, tag, search]) el.addEventListener("input", apply);
  apply();
}

document.addEventListener("DOMContentLoaded", () => {
  renderMath();
  filterIndex();
});
