// qbgen mark: keys and buttons post each change at once; the server answers with the
// script's state (mark, lines, progress), or one line saying why not. No network
// beyond this machine: KaTeX is served by the app.
"use strict";

const body = document.body;
const status = () => document.getElementById("status");
window.qbgenTimes = []; // each change's round trip, in ms (read by the tests and bench/)

function grader() {
  return localStorage.getItem("qbgen-grader") || "";
}

function say(text, bad) {
  const s = status();
  s.textContent = text;
  s.className = bad ? "bad" : "";
}

async function post(url, data) {
  const started = performance.now();
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", "X-Grader": grader() },
    body: new URLSearchParams({ ...data, grader: grader() }),
    credentials: "same-origin",
  });
  const answer = response.ok ? await response.json() : (await response.text()).trim();
  window.qbgenTimes.push(performance.now() - started);
  if (!response.ok) {
    say(answer, true);
    body.dataset.saved = String(window.qbgenTimes.length);
    return null;
  }
  return answer;
}

function show(state) {
  if (!state) return;
  document.getElementById("mark").textContent = state.mark === null ? "–" : state.mark;
  document.getElementById("override").hidden = state.free === null;
  document.getElementById("free").value = state.free === null ? "" : state.free;
  for (const b of document.querySelectorAll("button.line")) {
    const on = state.lines.includes(Number(b.dataset.line));
    b.classList.toggle("on", on);
    b.setAttribute("aria-pressed", on ? "true" : "false");
  }
  document.getElementById("done").textContent = state.done;
  document.getElementById("progress").value = state.done;
  say("saved", false);
  body.dataset.saved = String(window.qbgenTimes.length); // the page shows this change
}

function here(path) {
  return `/u/${body.dataset.unit}/${body.dataset.script}/${path}`;
}

// A mark the page can refuse before the server does: a number, within the item, in steps.
function markProblem(text, el = body) {
  const value = Number(text.replace(",", "."));
  const most = Number(el.dataset.most), step = Number(el.dataset.step);
  if (text.trim() === "") return "";
  if (!Number.isFinite(value)) return `${text} is not a number`;
  if (value < 0) return `${text} is negative`;
  if (value > most + 1e-9) return `${text} is more than the item's ${most} marks`;
  if (Math.abs(value / step - Math.round(value / step)) > 1e-9) return `${text} is not a whole number of steps of ${step}`;
  return "";
}

async function give(text) {
  const why = markProblem(text);
  if (why) {
    say(`mark: ${why}`, true);
    body.dataset.saved = "refused";
    return;
  }
  show(await post(here("mark"), { mark: text.trim() }));
}

async function toggle(line) {
  const b = document.querySelector(`button.line[data-line="${line}"]`);
  if (!b) return;
  show(await post(here("line"), { line: String(line), on: b.classList.contains("on") ? "0" : "1" }));
}

async function editLine(line) {
  const b = document.querySelector(`button.line[data-line="${line}"] .marks`);
  const text = window.prompt(`New marks for rubric line ${line} (every student given it is re-marked):`, b.dataset.marks);
  if (text === null) return;
  const unit = body.dataset.unit;
  const done = await post(`/u/${unit}/rubric`, { line: String(line), marks: text.trim() });
  if (!done) return;
  b.dataset.marks = done.marks;
  b.textContent = `+${done.marks}`;
  say(`line ${line} is now worth ${done.marks}: ${done.remarked} student(s) re-marked`, false);
  const now = await fetch(here("state"), { credentials: "same-origin" });
  if (now.ok) show(await now.json());
  say(`line ${line} is now worth ${done.marks}: ${done.remarked} student(s) re-marked`, false);
}

function go(url) {
  if (url) window.location.href = url;
}

function renderMath() {
  if (typeof katex === "undefined") return;
  for (const el of document.querySelectorAll("span.math")) {
    const display = el.classList.contains("display");
    const tex = el.textContent.trim().replace(/^\\[([]/, "").replace(/\\[)\]]$/, "");
    katex.render(tex, el, { displayMode: display, throwOnError: false });
  }
}

function marking() {
  const free = document.getElementById("free");
  const comment = document.getElementById("comment");
  document.getElementById("give").addEventListener("submit", (e) => {
    e.preventDefault();
    give(free.value).then(() => free.blur());
  });
  document.getElementById("zero").addEventListener("click", () => give("0"));
  document.getElementById("full").addEventListener("click", () => give(body.dataset.most));
  for (const b of document.querySelectorAll("button.line")) b.addEventListener("click", () => toggle(b.dataset.line));
  for (const b of document.querySelectorAll("button.edit")) b.addEventListener("click", () => editLine(b.dataset.line));
  comment.addEventListener("change", async () => show(await post(here("comment"), { comment: comment.value })));
  comment.addEventListener("keydown", (e) => {
    if (e.key === "Escape" || (e.key === "Enter" && (e.ctrlKey || e.metaKey))) {
      e.preventDefault();
      comment.blur(); // a change posts it
    }
  });
  free.addEventListener("keydown", (e) => {
    if (e.key === "Escape") free.blur();
  });
  document.addEventListener("keydown", (e) => {
    if (e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const k = e.key;
    if (/^[1-9]$/.test(k)) toggle(Number(k));
    else if (k === "0") give("0");
    else if (k === "a") give(body.dataset.most);
    else if (k === "m") { e.preventDefault(); free.focus(); free.select(); }
    else if (k === "c") { e.preventDefault(); comment.focus(); }
    else if (k === "j" || k === "ArrowRight") go(body.dataset.next);
    else if (k === "k" || k === "ArrowLeft") go(body.dataset.prev);
    else if (k === "n") go(body.dataset.unmarked);
    else if (k === "h") {
      const who = document.querySelector(".who");
      who.hidden = !who.hidden;
      localStorage.setItem("qbgen-names", who.hidden ? "" : "shown");
    } else return;
    e.preventDefault();
  });
  if (localStorage.getItem("qbgen-names")) document.querySelector(".who").hidden = false;
}

function table() {
  for (const input of document.querySelectorAll("input.typed")) {
    const why = input.parentElement.querySelector(".why");
    let last = input.value;
    const save = async () => {
      if (input.value.trim() === last) return;
      const problem = markProblem(input.value, input);
      why.textContent = problem;
      if (problem) return;
      const state = await post(`/u/${body.dataset.unit}/${input.dataset.script}/mark`, { mark: input.value.trim() });
      if (!state) { why.textContent = status().textContent; return; }
      last = input.value.trim();
      document.getElementById("done").textContent = state.done;
      body.dataset.saved = String(window.qbgenTimes.length);
      say("saved", false);
    };
    input.addEventListener("change", save);
    input.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); save(); } });
  }
}

function index() {
  const button = document.getElementById("export");
  if (!button) return;
  button.addEventListener("click", async () => {
    const done = await post("/export", {});
    if (done) document.getElementById("exported").textContent = `wrote ${done.file} (${done.students} students)`;
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const name = document.getElementById("grader");
  name.value = grader();
  name.addEventListener("input", () => localStorage.setItem("qbgen-grader", name.value.trim()));
  renderMath();
  if (body.classList.contains("marking")) marking();
  if (body.classList.contains("table")) table();
  index();
  body.dataset.ready = "yes";
});
