// Facet sidebar and month timeline of the search page. Kept apart from app.js, which
// calls renderFacets(page, params, navigate) after each search page. Values from the
// archive are inserted with textContent only.
"use strict";

const FACETS_ASKED = "source,section,year,month";
const FACET_LABELS = { source: "Source 来源", section: "Section 版面", year: "Year 年份" };

function facetNode(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// The search link with one filter replaced (and paging reset).
function narrowed(params, changes) {
  const next = new URLSearchParams(params);
  for (const [name, value] of Object.entries(changes)) {
    if (value === null) next.delete(name);
    else next.set(name, value);
  }
  next.delete("offset");
  return "/?" + next.toString();
}

function lastDayOf(month) {
  const [year, mm] = month.split("-").map(Number);
  return `${month}-${String(new Date(year, mm, 0).getDate()).padStart(2, "0")}`;
}

function facetButton(label, count, active, href, navigate) {
  const button = facetNode("button", "link facet-value" + (active ? " active" : ""));
  button.type = "button";
  button.append(facetNode("span", "facet-label", label), facetNode("span", "facet-count", String(count)));
  button.addEventListener("click", () => navigate(href));
  return button;
}

function renderFacets(page, params, navigate) {
  const box = document.getElementById("facets");
  const timeline = document.getElementById("timeline");
  box.replaceChildren();
  timeline.replaceChildren();
  const facets = page.facets || {};
  box.hidden = timeline.hidden = !page.facets;
  if (!page.facets) return;
  box.append(facetNode("p", "facet-total", `${page.total} articles 篇 · ${page.total_passages} passages 段`));
  for (const name of ["source", "section", "year"]) {
    const values = facets[name] || [];
    if (!values.length) continue;
    const group = facetNode("div", "facet-group");
    group.dataset.facet = name;
    group.append(facetNode("h3", "", FACET_LABELS[name]));
    for (const { value, count } of values) {
      const text = String(value);
      let active = false;
      let href;
      if (name === "year") {
        active = params.get("date_from") === `${text}-01-01` && params.get("date_to") === `${text}-12-31`;
        href = narrowed(params, active ? { date_from: null, date_to: null } : { date_from: `${text}-01-01`, date_to: `${text}-12-31` });
      } else {
        active = params.get(name) === text;
        href = narrowed(params, { [name]: active ? null : text });
      }
      group.append(facetButton(text, count, active, href, navigate));
    }
    box.append(group);
  }
  const months = facets.month || [];
  if (!months.length) return;
  const most = Math.max(...months.map((m) => m.count));
  timeline.append(facetNode("h3", "", "Timeline 时间分布 (articles per month)"));
  const bars = facetNode("div", "timeline-bars");
  for (const { value, count } of months) {
    const month = String(value);
    const bar = facetNode("button", "timeline-bar");
    bar.type = "button";
    bar.title = `${month}: ${count}`;
    bar.setAttribute("aria-label", `${month}: ${count} articles`);
    const fill = facetNode("span", "timeline-fill");
    fill.style.height = `${Math.max(8, Math.round((100 * count) / most))}%`;
    bar.append(fill, facetNode("span", "timeline-label", month));
    bar.addEventListener("click", () => navigate(narrowed(params, { date_from: `${month}-01`, date_to: lastDayOf(month) })));
    bars.append(bar);
  }
  timeline.append(bars);
}
