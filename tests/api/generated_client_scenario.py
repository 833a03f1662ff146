"""Scenario 1, driven by a client generated from /openapi.json (openapi-python-client).

scripts/schemathesis generates the client into target/ledger_client from the running
service's document and runs this with the base URL and one token per actor. Nothing
here knows a path, a method or a body shape: the generated modules do. It fails (exit
1) unless the PDP permits at the end, with the client link as its proof.
"""

import sys
import uuid

from ledger_client import AuthenticatedClient
from ledger_client.api.client_delegation import client_link
from ledger_client.api.decisions import decide
from ledger_client.api.register import grant_relationship
from ledger_client.api.system_register import systemregister_create
from ledger_client.api.system_user_requests import request_approve_agent, request_vendor_create_agent
from ledger_client.models import (
    AccessPackage,
    CreateAgentRequestSystemUser,
    DecisionRequest,
    LocalisedText,
    RegisterSystemRequest,
    RelationshipRequest,
    Vendor,
)

PACKAGE = "urn:altinn:accesspackage:regnskapsforer-med-signeringsrettighet"
RETT_REVISJON, RETT_REVISJON_PARTY = "310000027", "50002"
KUNDE_B, KUNDE_B_UUID = "310000043", uuid.UUID("01950000-0000-0000-0000-00000000c354")
SYSTEM = "310000175_generatedclient"


def expect(what, response, status):
    if response.status_code != status:
        sys.exit(f"{what}: expected {status}, got {response.status_code}: {response.content[:500]!r}")
    return response.parsed


def main(base_url, register, vendor, admin, client_admin, pdp):
    as_ = lambda token: AuthenticatedClient(base_url=base_url, token=token)
    # Given Rett Revisjon is Kunde B's accountant (REGN) in the register,
    grant = grant_relationship.sync_detailed(
        client=as_(register), body=RelationshipRequest(client=KUNDE_B, facilitator=RETT_REVISJON, role="REGN")
    )
    if grant.status_code not in (200, 201):
        sys.exit(f"grant: {grant.status_code} {grant.content[:300]!r}")
    # and the vendor registers a system with the accountant's package,
    name = LocalisedText.from_dict({"nb": "Generert klient", "en": "Generated client"})
    system = RegisterSystemRequest(
        id=SYSTEM,
        vendor=Vendor(id="0192:310000175"),
        name=name,
        description=name,
        access_packages=[AccessPackage(urn=PACKAGE)],
        client_id=["generated-client"],
        is_visible=False,
    )
    expect("register the system", systemregister_create.sync_detailed(client=as_(vendor), body=system), 200)
    # when the vendor asks Rett Revisjon for an agent system user,
    ask = CreateAgentRequestSystemUser(
        system_id=SYSTEM, party_org_no=RETT_REVISJON, access_packages=[AccessPackage(urn=PACKAGE)]
    )
    request = expect("ask", request_vendor_create_agent.sync_detailed(client=as_(vendor), body=ask), 201)
    # its administrator approves,
    approved = request_approve_agent.sync_detailed(RETT_REVISJON_PARTY, str(request.id), client=as_(admin))
    if expect("approve", approved, 200) is not True:
        sys.exit(f"approve answered {approved.content!r}")
    # and its client administrator links Kunde B,
    linked = expect(
        "link Kunde B", client_link.sync_detailed(client=as_(client_admin), agent=request.id, client_query=KUNDE_B_UUID), 200
    )
    # then the PDP permits the system user to report VAT for Kunde B, on the link's authority.
    question = DecisionRequest(system_user=request.id, action="write", resource="ske-mva-rapportering", party=KUNDE_B)
    decision = expect("decide", decide.sync_detailed(client=as_(pdp), body=question), 200)
    if str(decision.decision) != "Permit":
        sys.exit(f"expected Permit, got {decision.to_dict()}")
    facts = [g.fact for g in decision.granted_by]
    print(f"generated client: scenario 1 walked; agent {linked.agent} permits for Kunde B, granted by {facts}")


if __name__ == "__main__":
    main(*sys.argv[1:])
