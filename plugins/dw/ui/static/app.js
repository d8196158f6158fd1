// The Warehouse view's page: fetches the JSON endpoints (same origin: Airflow's login cookie goes
// along) and draws them. Text from the data is set with textContent, never parsed as HTML.
"use strict";

const params = new URLSearchParams(location.search);
const end = params.get("end");
const q = end ? `?end=${encodeURIComponent(end)}` : "";

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined) continue;
    if (k === "text") e.textContent = v;
    else if (k === "class") e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}
const num = (v) => (v === null || v === undefined ? "" : Number(v).toLocaleString("en-US"));
const td = (v, cls) => el("td", { class: cls, text: v === null || v === undefined ? "" : String(v) });
const tdNum = (v) => td(num(v), "num");
const badge = (text, cls) => el("span", { class: `badge ${cls || text}`, text });
// A link to an Airflow page (a task's log). Inside the Airflow UI's frame (same origin) it moves
// the UI around the frame, whose router follows the history, instead of nesting the UI in the
// frame; elsewhere, or with a modifier key, it is an ordinary link.
function link(text, href) {
  if (!href) return document.createTextNode(text);
  const a = el("a", { href, text });
  a.addEventListener("click", (ev) => {
    if (window.top === window || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
    try {
      const h = window.top.history;
      h.pushState({ usr: null, key: Math.random().toString(36).slice(2, 10), idx: ((h.state && h.state.idx) || 0) + 1 }, "", href);
      window.top.dispatchEvent(new PopStateEvent("popstate", { state: h.state }));
      ev.preventDefault();
    } catch (e) {
      // a parent of another origin: follow the link in the frame
    }
  });
  return a;
}

async function get(path) {
  const r = await fetch(`api/${path}${path.includes("?") ? "" : q}`, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (r.status === 401 || r.status === 403) {
    location.href = "./";  // the page redirects to Airflow's login
    throw new Error("not logged in");
  }
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status} ${(await r.text()).slice(0, 300)}`);
  return r.json();
}

function sparkline(canvas, points, label) {
  if (typeof Chart === "undefined") return;  // Chart.js not installed: the table still shows the numbers
  new Chart(canvas, {
    type: "bar",
    data: { labels: points.map((p) => p.date), datasets: [{ label, data: points.map((p) => p.rows), backgroundColor: "#4a7ab8" }] },
    options: {
      responsive: false, animation: false, maintainAspectRatio: false,
      plugins: { legend: { display: false }, tooltip: { callbacks: { label: (c) => `${num(c.raw)} ${label}` } } },
      scales: { x: { display: false }, y: { display: false, beginAtZero: true } },
    },
  });
}

function drawTables(data) {
  const body = document.querySelector("#tables tbody");
  body.replaceChildren();
  for (const t of data.tables) {
    const l = t.last_load || {};
    const f = t.freshness;
    const behind = f.days_behind === null ? "never loaded" : f.days_behind === 0 ? "fresh" : `${f.days_behind} d behind`;
    const points = t.rows_per_day.filter((p) => p.rows !== null).length;
    const canvas = el("canvas", { class: "chart", width: 240, height: 48, "data-table": t.table, "data-points": points,
                                  "aria-label": `${t.table}: ${t.rows_label} per day` });
    body.append(el("tr", { "data-table": t.table },
      el("td", {}, el("strong", { text: t.table }), el("br"), el("small", { text: `${t.kind}, ${t.source}` })),
      td(t.last_date || "—"),
      el("td", { title: `expected ${f.expected}` }, badge(behind, f.status)),
      el("td", { title: t.rows_label }, canvas),
      el("td", {}, l.date ? link(l.date, l.log_url) : document.createTextNode("—")),
      tdNum(l.copied), tdNum(l.deleted), tdNum(l.inserted), tdNum(l.updated),
      td(l.duration_s === undefined || l.duration_s === null ? "" : `${l.duration_s.toFixed(1)} s`, "num"),
      el("td", { title: l.error || "" }, l.outcome ? badge(l.outcome) : null),
    ));
    sparkline(canvas, t.rows_per_day, t.rows_label);
  }
}

function drawSources(data) {
  const head = document.querySelector("#sources thead");
  const body = document.querySelector("#sources tbody");
  const days = data.sources.length ? data.sources[0].days.map((d) => d.date) : [];
  head.replaceChildren(el("tr", {}, el("th", { text: "raw table" }), el("th", { text: "min_rows" }),
    ...days.map((d) => el("th", { class: "day", text: d.slice(5) }))));
  body.replaceChildren();
  for (const s of data.sources) {
    body.append(el("tr", { "data-table": s.table },
      el("td", {}, el("strong", { text: s.table }), el("br"), el("small", { text: s.dag_id })),
      tdNum(s.min_rows),
      ...s.days.map((d) => el("td", {
        class: `cell ${d.status}`, "data-date": d.date, "data-status": d.status,
        title: `${s.table} dt=${d.date}: ${d.status}${d.rows === null ? "" : ` (${num(d.rows)} rows)`}`,
        text: d.status === "missing" ? "✕" : d.status === "empty" ? "0" : "",
      }))));
  }
}

function drawOpen(data) {
  const u = document.querySelector("#unknown tbody");
  u.replaceChildren(...(data.unknown_members.length ? data.unknown_members.map((r) => el("tr", {},
    td(r.table), td(r.date), tdNum(r.rows), td(`${r.age_days} d`, "num"), td(r.last_changed),
    el("td", {}, badge(r.healing ? "yes" : "no — backfill")), )) : [el("tr", {}, el("td", { colspan: 6, text: "none open" }))]));
  const f = document.querySelector("#failed tbody");
  f.replaceChildren(...(data.failed_loads.length ? data.failed_loads.map((r) => el("tr", {},
    td(r.table), el("td", {}, link(r.date, r.log_url)), td(r.started_at), td(r.error, "error"),
    el("td", {}, badge(r.resolved ? "yes" : "no")))) : [el("tr", {}, el("td", { colspan: 5, text: "none" }))]));
  const q = document.querySelector("#quarantine tbody");
  q.replaceChildren(...(data.quarantined.length ? data.quarantined.map((r) => el("tr", { "data-table": r.table, "data-date": r.date },
    td(r.date), td(r.table), td(r.reason), tdNum(r.rows), td(r.since))) :
    [el("tr", {}, el("td", { colspan: 5, text: "none" }))]));
  const c = document.querySelector("#changes tbody");
  c.replaceChildren(...(data.schema_changes.length ? data.schema_changes.map((r) => el("tr", { "data-entity": r.entity, "data-date": r.date },
    td(r.date), td(`${r.source}.${r.entity}.${r.column}`), td(r.change), td(r.detail), tdNum(r.rows),
    el("td", {}, badge(r.action, r.action === "freeze" ? "no" : "")), td(r.new ? `${r.first_seen} (new)` : r.first_seen))) :
    [el("tr", {}, el("td", { colspan: 7, text: "none" }))]));
}

function drawAgreement(data) {
  const body = document.querySelector("#agreement tbody");
  body.replaceChildren(...(data.agreement.length ? data.agreement.map((r) => el("tr", { "data-table": r.table, "data-date": r.date },
    td(r.table), td(r.date), tdNum(r.extract_rows), tdNum(r.warehouse_rows),
    el("td", {}, ...r.measures.map((m) => el("div", { class: m.agrees ? "" : "no",
      text: `${m.measure}: ${m.extract ?? "∅"} / ${m.warehouse ?? "∅"}` }))),
    el("td", {}, badge(r.agrees ? "agrees" : "differs", r.agrees ? "yes" : "no")))) :
    [el("tr", {}, el("td", { colspan: 6, text: "no fact loads recorded in the window" }))]));
}

async function main() {
  const status = document.getElementById("status");
  const form = document.getElementById("window");
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const v = document.getElementById("end").value;
    location.search = v ? `?end=${v}` : "";
  });
  status.textContent = "loading…";
  const jobs = [
    get("tables").then((d) => { document.getElementById("end").value = d.end; drawTables(d); }),
    get("sources").then(drawSources),
    get("open?").then(drawOpen),
    get("agreement").then(drawAgreement),
  ];
  const results = await Promise.allSettled(jobs);
  const errors = results.filter((r) => r.status === "rejected").map((r) => r.reason.message);
  status.textContent = errors.length ? `errors: ${errors.join("; ")}` : "";
  document.body.dataset.ready = errors.length ? "error" : "yes";
}

document.addEventListener("DOMContentLoaded", main);
