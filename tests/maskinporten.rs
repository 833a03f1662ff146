//! A vendor's integration authenticates as it does against Altinn: with a Maskinporten
//! token (RS256, `scope`, `consumer`). Given a ledger that trusts Maskinporten's keys,
//! each route admits exactly the scopes Altinn's policies name, the consumer is the
//! vendor, the integration's client id is the actor on the log, and a token that is
//! wrong in any way is refused and writes nothing.
//!
//! The RSA key standing in for Maskinporten's is made at run time with `openssl` (the
//! test command installs it where it is missing).

mod common;

use axum::http::Method;
use base64::Engine as _;
use common::*;
use jsonwebtoken::{jwk::JwkSet, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;

use ledger::auth::maskinporten::{
    AUTHORIZE, ISSUER_DEFAULT, REQUEST_READ, REQUEST_WRITE, SYSTEMREGISTER_WRITE, SYSTEMUSER_ADMIN, SYSTEMUSER_LOOKUP,
};

/// An RSA key as Maskinporten's: the private half to sign with, the JWKS to trust.
struct Maskinporten {
    key: EncodingKey,
    jwks: Value,
}

fn openssl(args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("openssl is needed to make a test RSA key ({e}); ./scripts/test installs it"));
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

impl Maskinporten {
    fn new(dir: &Path) -> Maskinporten {
        let pem = dir.join("maskinporten.pem");
        let pem = pem.to_str().unwrap();
        openssl(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", pem]);
        let der = openssl(&["rsa", "-in", pem, "-traditional", "-outform", "DER"]);
        let modulus = String::from_utf8(openssl(&["rsa", "-in", pem, "-noout", "-modulus"])).unwrap();
        let hex = modulus.trim().strip_prefix("Modulus=").expect("openssl prints Modulus=");
        let n: Vec<u8> = (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let jwks = json!({"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": "mp-test",
            "n": b64(&n), "e": b64(&[1, 0, 1])}]});
        Maskinporten { key: EncodingKey::from_rsa_der(&der), jwks }
    }

    fn jwks(&self) -> JwkSet {
        serde_json::from_value(self.jwks.clone()).unwrap()
    }

    /// A token as Maskinporten issues it, with `claims` over the usual ones.
    fn token_with(&self, claims: Value) -> String {
        let now = chrono::Utc::now().timestamp();
        let mut all = json!({"iss": ISSUER_DEFAULT, "client_amr": "private_key_jwt", "token_type": "Bearer",
            "client_id": "maestro-integration", "iat": now, "exp": now + 120, "jti": "j",
            "consumer": {"authority": "iso6523-actorid-upis", "ID": format!("0192:{MAESTRO}")}});
        all.as_object_mut().unwrap().extend(claims.as_object().unwrap().clone());
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some("mp-test".to_owned());
        jsonwebtoken::encode(&header, &all, &self.key).unwrap()
    }

    fn token(&self, scope: &str) -> String {
        self.token_with(json!({"scope": scope}))
    }
}

fn system() -> Value {
    json!({"Id": "310000019_maestro", "Vendor": {"authority": "iso6523-actorid-upis", "ID": "0192:310000019"},
        "Name": {"nb": "Maestro"}, "Description": {"nb": "Regnskap"},
        "Rights": [{"resource": [{"id": "urn:altinn:resource", "value": "ske-mva-rapportering"}]}],
        "ClientId": ["maestro-client"], "AllowedRedirectUrls": ["https://maestro.example/done"], "IsVisible": true})
}

#[tokio::test]
async fn a_vendor_integration_runs_on_its_maskinporten_token() {
    let keys = tempfile::tempdir().unwrap();
    let mp = Maskinporten::new(keys.path());
    let jwks = mp.jwks();
    let t = TestLedger::trusting(|v| v.with_maskinporten(&jwks, ISSUER_DEFAULT, None).unwrap());
    let register = mp.token(&format!("openid {SYSTEMREGISTER_WRITE}"));
    let write = mp.token(REQUEST_WRITE);
    let read = mp.token(REQUEST_READ);

    // Given Maskinporten tokens for Maestro, when its integration registers its system
    // and asks Kunde A for a system user, then both are written, with the integration's
    // client id as the actor.
    let made = t.call(Method::POST, &format!("{AUTHN}/systemregister/vendor"), Some(&register), Some(system())).await;
    made.assert_ok();
    let request = json!({"systemId": "310000019_maestro", "partyOrgNo": KUNDE_A, "externalRef": "mp",
        "rights": [{"resource": [{"id": "urn:altinn:resource", "value": "ske-mva-rapportering"}]}]});
    let asked = t.call(Method::POST, &format!("{AUTHN}/systemuser/request/vendor"), Some(&write), Some(request)).await;
    assert_eq!(asked.status.as_u16(), 201, "{}", asked.body);
    let id = asked.body["id"].as_str().unwrap().to_owned();
    let auditor = t.token(ledger::auth::Role::Auditor, None);
    let actor = t.call(Method::GET, "/v1/audit/actors/maskinporten:maestro-integration/history", Some(&auditor), None);
    let actor = actor.await;
    let types: Vec<&str> =
        actor.assert_ok()["data"].as_array().unwrap().iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(types, ["ledger.system.registered.v2", "ledger.systemuserrequest.created.v2"], "{}", actor.body);

    // Each route admits the scopes Altinn's policy names, no other.
    let by_id = format!("{AUTHN}/systemuser/request/vendor/{id}");
    assert_eq!(t.call(Method::GET, &by_id, Some(&read), None).await.assert_ok()["status"], "New");
    let before = (t.position(), t.digest());
    for (method, path, token) in [
        (Method::GET, by_id.clone(), &write),
        (Method::DELETE, by_id.clone(), &read),
        (Method::GET, format!("{AUTHN}/systemregister/vendor"), &write),
        (Method::POST, format!("{AUTHN}/systemuser/request/{}/{id}/approve", p(KUNDE_A)), &write),
        (Method::GET, format!("{AUTHN}/systemuser/{}", p(KUNDE_A)), &register),
        (Method::POST, "/authorization/api/v1/decision".to_owned(), &mp.token(SYSTEMUSER_LOOKUP)),
        (Method::GET, "/v1/ledger/status".to_owned(), &mp.token(SYSTEMUSER_ADMIN)),
        (Method::POST, "/authorization/api/v1/decision".to_owned(), &mp.token(AUTHORIZE)),
        (Method::POST, "/authorization/api/v1/authorize".to_owned(), &mp.token(SYSTEMUSER_LOOKUP)),
        (Method::PUT, "/v1/resources/ske-mva-rapportering/policy".to_owned(), &mp.token(AUTHORIZE)),
    ] {
        let reply = t.call(method.clone(), &path, Some(token), Some(json!({}))).await;
        assert_eq!((reply.status.as_u16(), &reply.body["code"]), (403, &json!("role_not_allowed")), "{method} {path}");
    }
    assert_eq!((t.position(), t.digest()), before, "refused tokens wrote nothing");

    // When Kunde A approves, Maskinporten's lookup finds the system user, and Register
    // reads the stream with Altinn's internal scope.
    t.approve(KUNDE_A, &id, false).await.assert_ok();
    let lookup = format!(
        "{AUTHN}/systemuser/byExternalId?clientId=maestro-client&systemProviderOrgNo={MAESTRO}&systemUserOwnerOrgNo={KUNDE_A}&externalRef=mp"
    );
    let found = t.call(Method::GET, &lookup, Some(&mp.token(SYSTEMUSER_LOOKUP)), None).await;
    assert_eq!(found.assert_ok()["id"], id.as_str());
    let stream = format!("{AUTHN}/systemuser/internal/systemusers/stream");
    let stream = t.call(Method::GET, &stream, Some(&mp.token(SYSTEMUSER_ADMIN)), None).await;
    assert_eq!(stream.assert_ok()["data"][0]["id"], id.as_str());

    // Skatteetaten's PEP asks Altinn's external PDP with its own Maskinporten token.
    let skatteetaten = mp.token_with(json!({"scope": AUTHORIZE,
        "consumer": {"authority": "iso6523-actorid-upis", "ID": format!("0192:{SKATTEETATEN}")}}));
    let body = xacml_request(&id, "read", "ske-mva-rapportering", KUNDE_A);
    let decided = t.call(Method::POST, "/authorization/api/v1/authorize", Some(&skatteetaten), Some(body)).await;
    assert_eq!(decided.assert_ok()["response"][0]["decision"], "Permit", "{}", decided.body);
}

#[tokio::test]
async fn a_token_that_is_not_maskinporten_s_for_this_service_is_refused() {
    let keys = tempfile::tempdir().unwrap();
    let mp = Maskinporten::new(keys.path());
    let other = Maskinporten::new(keys.path());
    let jwks = mp.jwks();
    let t =
        TestLedger::trusting(|v| v.with_maskinporten(&jwks, ISSUER_DEFAULT, Some("https://ledger.example")).unwrap());
    let aud = "https://ledger.example";
    let list = format!("{AUTHN}/systemregister/vendor");
    let now = chrono::Utc::now().timestamp();
    let good = mp.token_with(json!({"scope": SYSTEMREGISTER_WRITE, "aud": aud}));
    assert_eq!(t.call(Method::GET, &list, Some(&good), None).await.assert_ok(), &json!([]));
    let refused = [
        ("no audience", mp.token(SYSTEMREGISTER_WRITE)),
        ("another audience", mp.token_with(json!({"scope": SYSTEMREGISTER_WRITE, "aud": "https://other.example"}))),
        (
            "another issuer",
            mp.token_with(json!({"scope": SYSTEMREGISTER_WRITE, "aud": aud, "iss": "https://evil.example/"})),
        ),
        ("expired", mp.token_with(json!({"scope": SYSTEMREGISTER_WRITE, "aud": aud, "exp": now - 3600}))),
        ("another key", other.token_with(json!({"scope": SYSTEMREGISTER_WRITE, "aud": aud}))),
        (
            "scopes of two roles",
            mp.token_with(json!({"scope": format!("{SYSTEMREGISTER_WRITE} {SYSTEMUSER_ADMIN}"), "aud": aud})),
        ),
        ("no scope of this service", mp.token_with(json!({"scope": "openid altinn:instances.read", "aud": aud}))),
        (
            "another authority",
            mp.token_with(json!({"scope": SYSTEMREGISTER_WRITE, "aud": aud,
            "consumer": {"authority": "x", "ID": format!("0192:{MAESTRO}")}})),
        ),
        (
            "a foreign consumer",
            mp.token_with(json!({"scope": SYSTEMREGISTER_WRITE, "aud": aud,
            "consumer": {"authority": "iso6523-actorid-upis", "ID": "0088:310000019"}})),
        ),
        ("no consumer", {
            let mut c = json!({"scope": SYSTEMREGISTER_WRITE, "aud": aud});
            c["consumer"] = Value::Null;
            mp.token_with(c)
        }),
    ];
    for (what, token) in refused {
        let reply = t.call(Method::GET, &list, Some(&token), None).await;
        assert_eq!(reply.status.as_u16(), 401, "{what}: {}", reply.body);
    }
    // The ledger's own tokens still work beside Maskinporten's.
    assert_eq!(t.call(Method::GET, &list, Some(&t.vendor(MAESTRO)), None).await.assert_ok(), &json!([]));
}

#[test]
fn ledger_serve_trusts_the_maskinporten_keys_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let mp = Maskinporten::new(dir.path());
    let jwks_path = dir.path().join("maskinporten-jwks.json");
    std::fs::write(&jwks_path, mp.jwks.to_string()).unwrap();
    let data = dir.path().join("data");
    let args: Vec<std::ffi::OsString> = vec!["--maskinporten-jwks".into(), jwks_path.into()];
    let served = common::kafka::Replica::serve(&data, &args);
    let (status, body) =
        served.call("GET", "/authentication/api/v1/systemregister/vendor", &mp.token(SYSTEMREGISTER_WRITE), None, None);
    assert_eq!((status, body), (200, json!([])));
    let (status, _) =
        served.call("GET", "/authentication/api/v1/systemregister/vendor", &mp.token(REQUEST_READ), None, None);
    assert_eq!(status, 403, "the request scope does not open the system register");
}
