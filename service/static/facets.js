// Facet sidebar and month timeline of the search page. Kept apart from app.js, which
// calls renderFacets(page, params, navigate) after each search page. Values from the
// archive are inserted with textContent only.
"use strict";

const FACETS_ASKED = "source,section,year,month,person,place,org";
const FACET_LABELS = { source: "Source 来源", section: "Section 版面", year: "Year 年份" };
const ENTITY_LABELS = { person: "People 人物", place: "Places 地点", org: "Organisations 机构" };
// Entity values listed per group before "more" (the API sends up to 100).
const ENTITY_SHOWN = 10;

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
  renderEntityFacets(box, facets, params, navigate);
  const months = facets.month || [];
  if (!months.length) return;
  renderTimeline(timeline, months, params, navigate);
}

// The search link with one entity filter (TYPE:NAME) added or, when present, removed.
function toggledEntity(params, value) {
  const next = new URLSearchParams(params);
  const kept = next.getAll("entity").filter((v) => v !== value);
  const adding = kept.length === next.getAll("entity").length;
  next.delete("entity");
  for (const v of adding ? [...kept, value] : kept) next.append("entity", v);
  next.delete("offset");
  return "/?" + next.toString();
}

function entityPageLink(type, name) {
  return "/?" + new URLSearchParams({ entity_page: `${type}:${name}` }).toString();
}

// One sidebar group per entity type: a click filters to articles naming it (again:
// drops the filter); the arrow opens the entity's page. Active filters are listed first,
// so one can be dropped even when the page shows no results.
function renderEntityFacets(box, facets, params, navigate) {
  const active = params.getAll("entity");
  if (active.length) {
    const group = facetNode("div", "facet-group entity-filters");
    group.append(facetNode("h3", "", "Named 提及"));
    for (const value of active) {
      const chip = facetNode("button", "link facet-value active", `× ${value}`);
      chip.type = "button";
      chip.addEventListener("click", () => navigate(toggledEntity(params, value)));
      group.append(chip);
    }
    box.append(group);
  }
  for (const type of ["person", "place", "org"]) {
    const values = facets[type] || [];
    if (!values.length) continue;
    const group = facetNode("div", "facet-group");
    group.dataset.facet = type;
    group.append(facetNode("h3", "", ENTITY_LABELS[type]));
    values.forEach(({ value, count }, index) => {
      const name = String(value);
      const filter = `${type}:${name}`;
      const row = facetNode("div", "entity-row");
      if (index >= ENTITY_SHOWN) row.hidden = true;
      row.append(facetButton(name, count, active.includes(filter), toggledEntity(params, filter), navigate));
      const open = facetNode("a", "entity-open", "→");
      open.href = entityPageLink(type, name);
      open.title = `${name}: entity page 实体页面`;
      open.setAttribute("aria-label", `${name}: entity page`);
      open.addEventListener("click", (event) => {
        event.preventDefault();
        navigate(open.getAttribute("href"));
      });
      row.append(open);
      group.append(row);
    });
    if (values.length > ENTITY_SHOWN) {
      const more = facetNode("button", "link facet-more", `+${values.length - ENTITY_SHOWN} more 更多`);
      more.type = "button";
      more.addEventListener("click", () => {
        for (const row of group.querySelectorAll(".entity-row")) row.hidden = false;
        more.remove();
      });
      group.append(more);
    }
    box.append(group);
  }
}

// The page of one entity (GET /entities/TYPE/NAME): articles per month (a bar searches
// that month's articles naming it), the entities named with it, the latest articles.
function renderEntityPage(container, entity, navigate, articleHref) {
  const label = ENTITY_LABELS[entity.type] || entity.type;
  // The folded name is what facets and filters show; a printed form that differs (市委
  // for 郑州市委, traditional script) follows it.
  const title = entity.printed === entity.name ? entity.name : `${entity.name} (${entity.printed})`;
  container.append(facetNode("h2", "entity-title", title));
  container.append(facetNode("div", "meta", `${label} · ${entity.articles} articles 篇`));
  const search = new URLSearchParams({ q: entity.name, entity: `${entity.type}:${entity.name}`, sort: "date-desc" });
  const all = facetNode("button", "link entity-search", "Search its articles 检索相关文章");
  all.type = "button";
  all.addEventListener("click", () => navigate("/?" + search.toString()));
  container.append(all);
  if (entity.months.length) {
    const timeline = facetNode("div", "entity-timeline");
    const months = entity.months.map(({ month, articles }) => ({ value: month, count: articles }));
    renderTimeline(timeline, months, search, navigate);
    container.append(timeline);
  }
  if (entity.cooccurring.length) {
    const group = facetNode("section", "entity-cooccurring");
    group.append(facetNode("h3", "", "Named with 共同出现"));
    for (const other of entity.cooccurring) {
      const text = `${other.name} (${ENTITY_LABELS[other.type] || other.type})`;
      group.append(facetButton(text, other.articles, false, entityPageLink(other.type, other.name), navigate));
    }
    container.append(group);
  }
  const latest = facetNode("section", "entity-latest");
  latest.append(facetNode("h3", "", "Latest articles 最新文章"));
  const list = facetNode("ol", "");
  for (const article of entity.latest) {
    const item = facetNode("li", "");
    const link = facetNode("a", "", article.title || "(untitled 无标题)");
    link.href = articleHref(article.id);
    link.addEventListener("click", (event) => {
      event.preventDefault();
      navigate(link.getAttribute("href"));
    });
    const where = [article.date, article.source].filter(Boolean).join(" · ");
    item.append(link, facetNode("span", "meta", ` ${where} · ${article.mentions}×`));
    list.append(item);
  }
  latest.append(list);
  container.append(latest);
}

// The dates from the first day of one month to the last day of another (either order).
function monthRange(params, first, last) {
  const [from, to] = first <= last ? [first, last] : [last, first];
  return narrowed(params, { date_from: `${from}-01`, date_to: lastDayOf(to) });
}

// Bars of matching articles per month. A click (Enter) narrows the dates to its month;
// pressing on one bar and releasing on another narrows them to the months between; for
// the keyboard, Shift+Enter (or Shift+click) marks where a range starts, then Enter
// (click) on another bar ends it. Escape drops a marked start.
function renderTimeline(timeline, months, params, navigate) {
  const most = Math.max(...months.map((m) => m.count));
  const heading = facetNode("h3", "", "Timeline 时间分布 (articles per month)");
  heading.append(facetNode("span", "timeline-hint", " · drag or Shift+click for a range 拖动选择时间段"));
  timeline.append(heading);
  const bars = facetNode("div", "timeline-bars");
  let dragFrom = null; // month pressed with the pointer, until it is released
  let anchor = null; // month marked by Shift+Enter / Shift+click
  const mark = (first, last) => {
    const [lo, hi] = first <= last ? [first, last] : [last, first];
    for (const bar of bars.children) {
      bar.classList.toggle("in-range", first !== null && last !== null && bar.dataset.month >= lo && bar.dataset.month <= hi);
    }
  };
  const monthAt = (event) => {
    const under = document.elementFromPoint(event.clientX, event.clientY);
    const bar = under && under.closest(".timeline-bar");
    return bar && bars.contains(bar) ? bar.dataset.month : null;
  };
  const finish = (event) => {
    const from = dragFrom;
    const to = event.type === "pointerup" ? monthAt(event) : null;
    dragFrom = null;
    mark(anchor, anchor);
    // Released on the bar it was pressed on: that is a click, handled below.
    if (from !== null && to !== null && to !== from) navigate(monthRange(params, from, to));
  };
  bars.addEventListener("pointerdown", (event) => {
    const month = monthAt(event);
    if (event.button !== 0 || month === null) return;
    event.preventDefault(); // no text selection while dragging
    dragFrom = month;
    mark(month, month);
    document.addEventListener("pointerup", finish, { once: true });
    document.addEventListener("pointercancel", finish, { once: true });
  });
  bars.addEventListener("pointermove", (event) => {
    const month = dragFrom === null ? null : monthAt(event);
    if (month !== null) mark(dragFrom, month);
  });
  const start = (month) => {
    anchor = month;
    mark(month, month);
  };
  const from = params.get("date_from") || "";
  const to = params.get("date_to") || "";
  for (const { value, count } of months) {
    const month = String(value);
    const bar = facetNode("button", "timeline-bar");
    bar.type = "button";
    bar.dataset.month = month;
    bar.title = `${month}: ${count}`;
    bar.setAttribute("aria-label", `${month}: ${count} articles`);
    if (from && to && from.slice(0, 7) <= month && month <= to.slice(0, 7)) bar.classList.add("active");
    const fill = facetNode("span", "timeline-fill");
    fill.style.height = `${Math.max(8, Math.round((100 * count) / most))}%`;
    bar.append(fill, facetNode("span", "timeline-label", month));
    bar.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && event.shiftKey) {
        event.preventDefault(); // marks the start, no click
        start(month);
      } else if (event.key === "Escape") {
        start(null);
      }
    });
    bar.addEventListener("click", (event) => {
      if (event.shiftKey) return start(month);
      navigate(anchor !== null ? monthRange(params, anchor, month) : monthRange(params, month, month));
    });
    bars.append(bar);
  }
  timeline.append(bars);
}
