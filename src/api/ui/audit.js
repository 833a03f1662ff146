// The auditor's page: reads histories and as-of decisions from the ledger's API with
// the pasted token. Everything shown is set with textContent: nothing from the ledger
// is ever interpreted as HTML.
"use strict";

const $ = (id) => document.getElementById(id);

// By type without its version: a record of any version reads the same.
const LABELS = {
  "ledger.party.registered": "party registered",
  "ledger.accesspackage.defined": "access package defined",
  "ledger.resourcepolicy.published": "resource policy published",
  "ledger.system.registered": "system registered",
  "ledger.system.updated": "system updated",
  "ledger.system.deleted": "system deleted",
  "ledger.systemuserrequest.created": "system user requested",
  "ledger.systemuserrequest.approved": "request approved",
  "ledger.systemuserrequest.rejected": "request rejected",
  "ledger.systemuserrequest.withdrawn": "request withdrawn",
  "ledger.systemuserrequest.escalated": "request escalated to the access managers",
  "ledger.systemuser.created": "system user created",
  "ledger.systemuser.deleted": "system user deleted",
  "ledger.systemuser.rightschanged": "system user's rights changed",
  "ledger.systemuser.createdbyowner": "system user created by its organisation",
  "ledger.systemuser.selfdelegated": "agent acts for its own organisation",
  "ledger.systemuser.selfrevoked": "agent no longer acts for its own organisation",
  "ledger.systemuserchangerequest.created": "change requested",
  "ledger.systemuserchangerequest.approved": "change approved",
  "ledger.systemuserchangerequest.rejected": "change rejected",
  "ledger.systemuserchangerequest.withdrawn": "change withdrawn",
  "ledger.clientrelationship.granted": "client relationship granted",
  "ledger.clientrelationship.revoked": "client relationship revoked",
  "ledger.client.linked": "client linked",
  "ledger.client.unlinked": "client unlinked",
  "ledger.ledger.sealed": "ledger sealed",
};

function label(type) {
  return LABELS[type.replace(/\.v[0-9]+$/, "")] || type;
}

function token() {
  return $("token").value.trim();
}

async function api(method, path, body) {
  const headers = { Authorization: "Bearer " + token() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error((data.code ? data.code + ": " : "") + (data.detail || res.statusText));
  return data;
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function changeSummary(entry) {
  const c = entry.changed || {};
  const parts = [];
  if (c.clientOrgNo) parts.push("client " + c.clientOrgNo);
  if (c.facilitatorOrgNo) parts.push("facilitator " + c.facilitatorOrgNo);
  if (c.role) parts.push("role " + c.role);
  if (c.accessPackages && c.accessPackages.length) parts.push(c.accessPackages.map((p) => p.replace("urn:altinn:accesspackage:", "")).join(", "));
  if (c.accessPackage) parts.push(c.accessPackage.replace("urn:altinn:accesspackage:", ""));
  if (c.reason) parts.push("reason: " + c.reason);
  return parts.join(" · ");
}

async function showHistory(kind, id) {
  $("history-status").textContent = "Loading…";
  $("timeline").replaceChildren();
  try {
    const page = await api("GET", `/v1/audit/${kind}/${encodeURIComponent(id)}/history?limit=1000`);
    const items = page.data.map((entry) => {
      const li = el("li", entry.outcome === "void" ? "void" : "");
      li.append(el("span", "when", `${entry.effectiveTime} · position ${entry.position}`), document.createElement("br"));
      li.append(el("span", "what", label(entry.type)));
      const summary = changeSummary(entry);
      if (summary) li.append(el("span", "detail", " — " + summary));
      const who = `by ${entry.actor.kind} ${entry.actor.id}` + (entry.onBehalfOf ? ` for ${entry.onBehalfOf}` : "");
      li.append(el("span", "who", who));
      if (entry.cause) {
        const c = entry.cause;
        li.append(el("span", "cause", `because ${label(c.type)} by ${c.actor.kind} ${c.actor.id} at ${c.effectiveTime}`));
      }
      if (entry.voidReason) li.append(el("span", "void-reason", `void: ${entry.voidReason.code} — ${entry.voidReason.message}`));
      return li;
    });
    $("timeline").replaceChildren(...items);
    $("history-status").textContent = `${page.history}: ${page.data.length} change(s)` + (page.next ? " (more available)" : "");
  } catch (e) {
    $("history-status").replaceChildren(el("span", "error", "Could not load the history: " + e.message));
  }
}

async function decide(q) {
  const out = $("decision");
  out.textContent = "Deciding…";
  const body = { systemUser: q.systemUser, action: q.action, resource: q.resource, party: q.party };
  if (q.at) body.at = q.at;
  try {
    const d = await api("POST", "/v1/decisions", body);
    const head = el("p");
    head.append(el("span", "decision-" + d.decision, d.decision), el("span", "", ` as of position ${d.position}` + (d.asOf ? ` (${d.asOf})` : "")));
    const parts = [head];
    if (d.grantedBy) {
      const list = el("ol");
      for (const g of d.grantedBy) list.append(el("li", "", `${g.fact} (event ${g.eventId})`));
      parts.push(el("p", "", "Granted by:"), list);
    }
    if (d.missing) parts.push(el("p", "", "Missing: " + d.missing));
    out.replaceChildren(...parts);
  } catch (e) {
    out.replaceChildren(el("span", "error", "Could not decide: " + e.message));
  }
}

$("token").value = sessionStorage.getItem("ledger-token") || "";
$("token").addEventListener("change", () => sessionStorage.setItem("ledger-token", token()));

$("history-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  showHistory($("history-kind").value, $("history-id").value.trim());
});

$("decide-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  decide({
    systemUser: $("d-system-user").value.trim(),
    action: $("d-action").value.trim(),
    resource: $("d-resource").value.trim(),
    party: $("d-party").value.trim(),
    at: $("d-at").value.trim(),
  });
});

// Deep links: #token=…&systemUser=…|client=…|actor=… and, for a decision,
// &decide=1&action=…&resource=…&party=…&at=… (the fragment never reaches the server).
(function fromFragment() {
  const p = new URLSearchParams(location.hash.slice(1));
  if (p.get("token")) {
    $("token").value = p.get("token");
    sessionStorage.setItem("ledger-token", p.get("token"));
  }
  for (const [param, kind] of [["systemUser", "system-users"], ["client", "clients"], ["actor", "actors"]]) {
    if (p.get(param) && !p.get("decide")) {
      $("history-kind").value = kind;
      $("history-id").value = p.get(param);
      showHistory(kind, p.get(param));
    }
  }
  if (p.get("decide")) {
    const q = { systemUser: p.get("systemUser") || "", action: p.get("action") || "write", resource: p.get("resource") || "", party: p.get("party") || "", at: p.get("at") || "" };
    $("d-system-user").value = q.systemUser;
    $("d-action").value = q.action;
    $("d-resource").value = q.resource;
    $("d-party").value = q.party;
    $("d-at").value = q.at;
    decide(q);
  }
})();
