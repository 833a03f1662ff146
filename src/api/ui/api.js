// The API reference page: renders /openapi.json as a list of operations by tag. No
// framework and no CDN, so the page runs under a policy that admits only this origin.
"use strict";

const METHODS = ["get", "put", "post", "delete"];

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function refName(ref) {
  return ref ? ref.split("/").pop() : "";
}

function schemaText(schema) {
  if (!schema) return "";
  if (schema.$ref) return refName(schema.$ref);
  if (schema.type === "array") return "[" + schemaText(schema.items) + "]";
  return schema.type || "object";
}

function security(op) {
  return (op.security || []).map((req) => Object.entries(req)
    .map(([scheme, roles]) => scheme + (roles.length ? ": " + roles.join(", ") : ""))
    .join(" and ")).join(" — or — ") || "no token";
}

function operation(path, method, op, doc) {
  const section = el("section");
  section.id = op.operationId;
  const h = el("h3");
  h.append(el("code", method.toUpperCase() + " " + path));
  section.append(h);
  if (op.summary) section.append(el("p", op.summary));
  if (op.description && op.description !== op.summary) section.append(el("p", op.description));
  section.append(el("p", "Who: " + security(op), "who"));
  const params = (op.parameters || []).map((p) => p.$ref ? doc.components.parameters[refName(p.$ref)] : p);
  if (params.length) {
    const ul = el("ul");
    for (const p of params) {
      ul.append(el("li", `${p.name} (${p.in}${p.required ? ", required" : ""}): ${p.description || schemaText(p.schema)}`));
    }
    section.append(el("h4", "Parameters"), ul);
  }
  const body = op.requestBody && op.requestBody.content;
  if (body) {
    const [type, media] = Object.entries(body)[0];
    section.append(el("p", `Body: ${type} ${schemaText(media.schema)}`));
  }
  const ul = el("ul");
  for (const [status, r] of Object.entries(op.responses || {})) {
    const resp = r.$ref ? doc.components.responses[refName(r.$ref)] : r;
    const content = resp.content ? Object.entries(resp.content)[0] : null;
    const shape = content ? ` — ${content[0]} ${schemaText(content[1].schema)}` : "";
    ul.append(el("li", `${status}: ${resp.description}${shape}`));
  }
  section.append(el("h4", "Answers"), ul);
  return section;
}

async function render() {
  const main = document.getElementById("operations");
  let doc;
  try {
    const response = await fetch("/openapi.json");
    doc = await response.json();
  } catch (e) {
    main.replaceChildren(el("p", "The document could not be read: " + e, "error"));
    return;
  }
  const byTag = new Map((doc.tags || []).map((t) => [t.name, []]));
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const tag = (op.tags || ["Other"])[0];
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push(operation(path, method, op, doc));
    }
  }
  const nav = document.getElementById("tags");
  main.replaceChildren();
  for (const [tag, sections] of byTag) {
    const id = "tag-" + tag.toLowerCase().replace(/[^a-z]+/g, "-");
    const a = el("a", `${tag} (${sections.length})`);
    a.href = "#" + id;
    const li = el("li");
    li.append(a);
    nav.append(li);
    const h = el("h2", tag);
    h.id = id;
    main.append(h, ...sections);
  }
}

render();
