// The page a request's confirmUrl points at: it reads the request from the ledger with
// the pasted token and says how the organisation answers it. Everything shown is set with
// textContent: nothing from the ledger or the address is ever parsed as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const API = "/authentication/api/v1/systemuser";

// Which page this is (Altinn's three confirm pages), and what the ledger calls it.
const KINDS = {
  request: { title: "A system user is requested", read: (id) => `${API}/request/${id}`, answer: "request" },
  agentrequest: { title: "An agent system user is requested", read: (id) => `${API}/request/agent/${id}`, answer: "request/agent" },
  changerequest: { title: "A change to a system user is requested", read: (id) => `${API}/changerequest/${id}`, answer: "changerequest" },
};

const page = location.pathname.split("/").filter(Boolean).pop();
const kind = KINDS[page];
const id = new URLSearchParams(location.search).get("id") || "";

function token() {
  return $("token").value.trim();
}

function row(term, value) {
  const dt = document.createElement("dt");
  dt.textContent = term;
  const dd = document.createElement("dd");
  dd.textContent = value;
  $("details").append(dt, dd);
}

function rights(list) {
  return (list || []).map((r) => (r.resource || []).map((a) => a.value).join(", ")).join("; ") || "none";
}

function packages(list) {
  return (list || []).map((p) => p.urn).join("; ") || "none";
}

// The answering calls, with the party id once the request is read.
function explain(request) {
  const party = request ? request.partyId : "{party id}";
  const base = `${location.origin}${API}/${kind.answer}/${party}/${id}`;
  const lines = [
    `curl -X POST ${base}/approve -H "Authorization: Bearer $TOKEN"`,
    `curl -X POST ${base}/reject -H "Authorization: Bearer $TOKEN"`,
  ];
  if (request && request.userMayEscalateButNotApprove) {
    $("who").textContent =
      "You may not approve it yourself: your organisation's access manager does. You can pass it on to them:";
    lines.unshift(`curl -X POST ${base}/escalate -H "Authorization: Bearer $TOKEN"`, "", "Your access manager then answers:");
  } else {
    $("who").textContent = "Your organisation's access manager (role admin) answers it with their token:";
  }
  $("how").textContent = lines.join("\n");
}

function show(r) {
  $("details").replaceChildren();
  row("Request", r.id);
  row("Status", r.status + (r.escalated ? " (escalated to the access managers)" : ""));
  row("System", r.systemId);
  row("For organisation", r.partyOrgNo);
  if (page === "changerequest") {
    row("System user", r.systemUserId);
    row("Rights to add", rights(r.requiredRights));
    row("Rights to take away", rights(r.unwantedRights));
    row("Access packages to add", packages(r.requiredAccessPackages));
    row("Access packages to take away", packages(r.unwantedAccessPackages));
  } else {
    if (page === "request") row("Rights", rights(r.rights));
    row("Access packages", packages(r.accessPackages));
  }
  if (r.redirectUrl) row("You are sent back to", r.redirectUrl);
}

async function load() {
  if (!kind || !id) {
    $("status").textContent = "This address names no request: it needs ?id=<request id>.";
    $("status").className = "error";
    return;
  }
  $("title").textContent = kind.title;
  explain(null);
  if (!token()) {
    $("status").textContent = `Request ${id}: paste your token above to read it.`;
    return;
  }
  $("status").textContent = "Reading the request…";
  try {
    const res = await fetch(kind.read(encodeURIComponent(id)), { headers: { Authorization: "Bearer " + token() } });
    const text = await res.text();
    const body = text ? JSON.parse(text) : null;
    if (!res.ok) {
      const why = (body && (body.title || body.code)) || res.statusText || "refused";
      $("status").textContent = `Could not read request ${id}: ${res.status} ${why}`;
      $("status").className = "error";
      return;
    }
    $("status").textContent = "";
    $("status").className = "";
    show(body);
    explain(body);
  } catch (e) {
    $("status").textContent = `Could not read request ${id}: ${e.message}`;
    $("status").className = "error";
  }
}

// A token may come in the fragment (never sent to a server) or from this tab's storage.
const fragment = new URLSearchParams(location.hash.slice(1));
if (fragment.get("token")) sessionStorage.setItem("ledger-token", fragment.get("token"));
$("token").value = sessionStorage.getItem("ledger-token") || "";
$("token").addEventListener("change", () => {
  sessionStorage.setItem("ledger-token", token());
  load();
});
load();
