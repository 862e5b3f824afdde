// qbgen accessible paper: the math pandoc left as \(...\) and \[...\], rendered by the
// bundled KaTeX as HTML for the eye and MathML for screen readers. No network.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  for (const el of document.querySelectorAll("span.math")) {
    const display = el.classList.contains("display");
    const tex = el.textContent.trim().replace(/^\\[([]/, "").replace(/\\[)\]]$/, "");
    katex.render(tex, el, { displayMode: display, output: "htmlAndMathml", throwOnError: false });
  }
  document.body.dataset.math = "done";
});
