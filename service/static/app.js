// semsearch search page: plain JS, no build step. Every piece of text from the API is
// inserted with textContent; highlights come as offsets, never as HTML, so hits that
// contain markup cannot inject anything. A stored url becomes a link only when it is
// http(s) or relative (safeHref), so a javascript: url is shown as text, never run.
"use strict";

const $ = (id) => document.getElementById(id);
const form = $("search-form");
const statusLine = $("status");
const queryNote = $("query-note");
const resultsBox = $("results");
const moreButton = $("more");
const articleBox = $("article");
const FILTER_FIELDS = ["mode", "sort", "date_from", "date_to", "source", "section"];
const FIELD_DEFAULTS = { mode: "hybrid", sort: "relevance" };
const PAGE_SIZE = 10;
let current = null; // {kind: "search"|"similar", params: URLSearchParams, offset}

function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "text") node.textContent = value;
    else if (key === "className") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

// Text with [start, end) ranges wrapped in <mark>, built from text nodes only.
function highlighted(text, ranges) {
  const frag = document.createDocumentFragment();
  let cursor = 0;
  for (const [start, end] of ranges) {
    if (start < cursor) continue;
    frag.append(document.createTextNode(text.slice(cursor, start)));
    frag.append(el("mark", { text: text.slice(start, end) }));
    cursor = end;
  }
  frag.append(document.createTextNode(text.slice(cursor)));
  return frag;
}

function setStatus(message, isError = false) {
  statusLine.textContent = message;
  statusLine.classList.toggle("error", isError);
}

// Where the query was read leniently (a pasted sentence's unbalanced “ searched as text,
// a lone -, an OR at an edge), so a reader knows why no phrase constrained the hits.
function setQueryNote(parsed) {
  const notes = parsed && parsed.notes ? parsed.notes : [];
  queryNote.textContent = notes.length ? `Note 提示: ${notes.join("; ")}` : "";
  queryNote.hidden = !notes.length;
}

async function getJSON(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const message = body && body.error ? body.error.message : response.statusText;
    throw new Error(message || `HTTP ${response.status}`);
  }
  return body;
}

// The url as an http(s) href (relative ones resolved against this page), or null for any
// other scheme (javascript:, data:, vbscript:, ...). The browser's own URL parser decides,
// so tricks it would ignore (leading spaces, tabs inside the scheme, case) cannot pass.
function safeHref(url) {
  try {
    const parsed = new URL(url, window.location.href);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}

function articleLink(articleId, passageId) {
  const params = new URLSearchParams({ article: articleId });
  if (passageId !== undefined) params.set("passage", String(passageId));
  return "/?" + params.toString();
}

function renderHit(hit) {
  const a = hit.article;
  const meta = [a.date, a.source, a.section].filter(Boolean).join(" · ");
  const title = el("a", { href: articleLink(a.id, hit.passage.id), text: a.title || "(untitled 无标题)" });
  title.addEventListener("click", (event) => {
    event.preventDefault();
    navigate(title.getAttribute("href"));
  });
  const similar = el("button", { type: "button", className: "link more-like-this", text: "More like this 相似内容" });
  similar.addEventListener("click", () => {
    navigate("/?" + new URLSearchParams({ like: String(hit.passage.id) }).toString());
  });
  const extra = hit.matched_passages ? ` · +${hit.matched_passages} passages` : "";
  return el("div", { className: "hit" }, [
    el("h2", {}, [title]),
    el("div", { className: "meta", text: meta + extra }),
    el("p", { className: "snippet" }, [highlighted(hit.snippet_text, hit.highlights)]),
    el("div", { className: "actions" }, [similar]),
  ]);
}

async function runPage(append) {
  const params = new URLSearchParams(current.params);
  params.set("k", String(PAGE_SIZE));
  params.set("offset", String(current.offset));
  const endpoint = current.kind === "similar" ? "/similar" : "/search";
  if (current.kind === "search") params.set("facets", FACETS_ASKED); // facets.js
  setStatus("Searching… 检索中…");
  if (!append) setQueryNote(null);
  moreButton.hidden = true;
  try {
    const page = await getJSON(endpoint + "?" + params.toString());
    if (!append) resultsBox.replaceChildren();
    setQueryNote(page.parsed);
    for (const hit of page.results) resultsBox.append(renderHit(hit));
    const shown = resultsBox.childElementCount;
    const bound = { gte: "≥ ", approx: "≈ " }[page.total_relation] || "";
    const of = current.kind === "search" ? ` of ${bound}${page.total} articles 篇` : "";
    setStatus(shown ? `${shown} results 条结果${of} (${Math.round(page.took_ms)} ms)` : "No results 无结果");
    renderFacets(current.kind === "search" ? page : {}, current.params, navigate);
    moreButton.hidden = !page.has_more;
    current.offset += page.results.length;
  } catch (error) {
    setStatus(`Error 错误: ${error.message}`, true);
  }
}

// Most shared spans quoted per link; the paragraphs holding any are marked too.
const REUSE_QUOTES = 3;

// The article's copies, text-reuse and translation links (GET /articles/{id}/reuse), each
// with the shared text (a translation: the aligned passages) quoted and marked; the article's paragraphs that hold shared text get a side bar.
async function showReuse(articleId, article, paragraphNodes, box) {
  let found;
  try {
    found = await getJSON("/articles/" + encodeURIComponent(articleId) + "/reuse");
  } catch (error) {
    return; // reuse is extra: the article itself is already shown
  }
  if (!found.links.length) return;
  box.append(el("h3", { text: "Copies, reuse and translations 转载、文本复用与译文" }));
  for (const link of found.links) {
    const level = { copy: "copy 转载", reuse: "reuse 复用", translation: "translation 译文" }[link.level] || link.level;
    const share = `${Math.round(link.share * 100)}% of this text 本文${Math.round(link.share * 100)}%`;
    const head = el("div", { className: "reuse-link" }, [
      el("span", { className: "reuse-level", text: level }),
      el("a", { href: articleLink(link.other.id), text: link.other.title || link.other.id }),
      el("span", { className: "meta", text: [link.other.date, link.other.source, share].filter(Boolean).join(" · ") }),
    ]);
    box.append(head);
    for (const span of link.spans.slice(0, REUSE_QUOTES)) {
      const quote = el("blockquote", {}, [el("mark", { className: "reused", text: article.text.slice(span.start, span.end) })]);
      box.append(quote);
    }
    for (const [paragraph, node] of paragraphNodes) {
      if (link.spans.some((span) => span.start < paragraph.end && span.end > paragraph.start)) node.classList.add("reused-paragraph");
    }
  }
}

// Links to the printed pages of an article read from a PDF or page image; the hit's
// passage is marked on its page. Other articles (no page file, or one outside the
// directories the operator allowed) get no links.
function pageLinks(articleId, article, passage) {
  if (!article.has_pages) return [];
  const marked = passage && passage.layout ? passage.layout.map((r) => r.page) : [];
  const pages = new Set(article.passages.flatMap((p) => (p.layout || []).map((r) => r.page)));
  return [...pages].sort((a, b) => a - b).map((page) => {
    const params = marked.includes(page) ? "?" + new URLSearchParams({ passage: String(passage.id) }).toString() : "";
    const href = "/articles/" + encodeURIComponent(articleId) + "/pages/" + page + params;
    const label = marked.includes(page) ? `Page ${page} 第${page}版 (hit marked 标出命中)` : `Page ${page} 第${page}版`;
    return el("a", { href, target: "_blank", rel: "noopener", className: "page-link", text: label });
  });
}

// An article or an entity takes the place of the results list while it loads.
function openDetailView() {
  articleBox.replaceChildren();
  articleBox.hidden = false;
  resultsBox.replaceChildren();
  setQueryNote(null);
  renderFacets({}, new URLSearchParams(), navigate);
  moreButton.hidden = true;
  setStatus("Loading… 加载中…");
}

async function showArticle(articleId, passageId) {
  openDetailView();
  try {
    const article = await getJSON("/articles/" + encodeURIComponent(articleId));
    const passage = article.passages.find((p) => p.id === passageId);
    const meta = [article.date, article.source, article.section, article.author].filter(Boolean).join(" · ");
    articleBox.append(el("h2", { text: article.title || "(untitled 无标题)" }), el("div", { className: "meta", text: meta }));
    if (article.url) {
      const href = safeHref(article.url);
      articleBox.append(
        href
          ? el("a", { href, rel: "noopener noreferrer", className: "source-url", text: article.url })
          : el("span", { className: "source-url", text: article.url }),
      );
    }
    let target = null;
    const paragraphNodes = [];
    for (const paragraph of article.paragraphs) {
      const ranges = [];
      if (passage && passage.start < paragraph.end && passage.end > paragraph.start) {
        ranges.push([Math.max(passage.start, paragraph.start) - paragraph.start, Math.min(passage.end, paragraph.end) - paragraph.start]);
      }
      const p = el("p", {}, [highlighted(paragraph.text, ranges)]);
      if (ranges.length) {
        p.className = "hit-paragraph";
        target = target || p;
      }
      articleBox.append(p);
      paragraphNodes.push([paragraph, p]);
    }
    const reuseBox = el("section", { className: "reuse" });
    articleBox.append(reuseBox);
    showReuse(articleId, article, paragraphNodes, reuseBox);
    const pages = pageLinks(articleId, article, passage);
    if (pages.length) articleBox.append(el("div", { className: "pages" }, pages));
    const similar = el("button", { type: "button", className: "link more-like-this", text: "More like this article 相似文章" });
    similar.addEventListener("click", () => navigate("/?" + new URLSearchParams({ like_article: articleId }).toString()));
    articleBox.append(el("div", { className: "actions" }, [similar]));
    setStatus("");
    if (target) target.scrollIntoView({ block: "center" });
  } catch (error) {
    setStatus(`Error 错误: ${error.message}`, true);
  }
}

async function showEntity(value) {
  openDetailView();
  const split = value.indexOf(":");
  const type = value.slice(0, split);
  const name = value.slice(split + 1);
  try {
    const entity = await getJSON("/entities/" + encodeURIComponent(type) + "/" + encodeURIComponent(name));
    articleBox.classList.add("entity-page");
    renderEntityPage(articleBox, entity, navigate, (id) => articleLink(id)); // facets.js
    setStatus("");
  } catch (error) {
    setStatus(`Error 错误: ${error.message}`, true);
  }
}

function formParams() {
  const params = new URLSearchParams({ q: $("q").value.trim() });
  for (const name of FILTER_FIELDS) {
    const value = $(name).value.trim();
    if (value && value !== FIELD_DEFAULTS[name]) params.set(name, value);
  }
  if ($("collapse").checked) params.set("collapse", "true");
  // Entity filters chosen in the sidebar stay for the next query (the sidebar drops them).
  for (const value of new URLSearchParams(location.search).getAll("entity")) params.append("entity", value);
  return params;
}

function fillForm(params) {
  $("q").value = params.get("q") || "";
  for (const name of FILTER_FIELDS) $(name).value = params.get(name) || FIELD_DEFAULTS[name] || "";
  $("collapse").checked = params.get("collapse") === "true";
}

function route() {
  const params = new URLSearchParams(location.search);
  articleBox.hidden = true;
  articleBox.classList.remove("entity-page");
  if (params.has("article")) {
    const passage = params.has("passage") ? Number(params.get("passage")) : undefined;
    return showArticle(params.get("article"), passage);
  }
  if (params.has("entity_page")) return showEntity(params.get("entity_page"));
  if (params.has("like") || params.has("like_article")) {
    const query = params.has("like")
      ? { passage_id: params.get("like"), collapse: "true" }
      : { article_id: params.get("like_article"), collapse: "true" };
    current = { kind: "similar", params: new URLSearchParams(query), offset: 0 };
    return runPage(false);
  }
  fillForm(params);
  if (params.get("q")) {
    const search = new URLSearchParams(params);
    current = { kind: "search", params: search, offset: 0 };
    return runPage(false);
  }
  resultsBox.replaceChildren();
  renderFacets({}, params, navigate);
  setQueryNote(null);
  setStatus("");
}

function navigate(url) {
  history.pushState(null, "", url);
  window.scrollTo(0, 0);
  route();
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  if (!$("q").value.trim()) return;
  navigate("/?" + formParams().toString());
});
moreButton.addEventListener("click", () => runPage(true));
$("home").addEventListener("click", (event) => {
  event.preventDefault();
  navigate("/");
});
window.addEventListener("popstate", route);
route();
