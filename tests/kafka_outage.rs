//! Broker trouble: with the broker unreachable, writes answer 503 and write nothing,
//! reads and decisions go on from the local read model, and the service recovers by
//! itself when the broker is back. Nothing acknowledged is lost.
//!
//! The outage is made by a TCP proxy this test controls, in front of a broker of its
//! own that advertises the proxy's address: tansu's memory storage keeps nothing across
//! a restart, so stopping the broker would test tansu, not the ledger.

mod common;

use axum::http::Method;
use common::kafka::*;
use common::*;
use serde_json::json;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ledger::ledger::Ledger;
use ledger::log::kafka::{KafkaConfig, KafkaLog};
use ledger::log::EventLog;

/// A TCP proxy that can cut every connection and refuse new ones until restored.
struct Proxy {
    addr: SocketAddr,
    cut: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    fn start(listener: TcpListener, target: SocketAddr) -> Proxy {
        let addr = listener.local_addr().unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let open = Arc::new(Mutex::new(Vec::new()));
        let (cut2, open2) = (cut.clone(), open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if cut2.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(target) else { continue };
                {
                    let mut open = open2.lock().unwrap();
                    open.push(client.try_clone().unwrap());
                    open.push(server.try_clone().unwrap());
                }
                for (mut from, mut to) in [(client.try_clone().unwrap(), server.try_clone().unwrap()), (server, client)]
                {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(Shutdown::Both);
                    });
                }
            }
        });
        Proxy { addr, cut, open }
    }

    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

struct Broker(Child);
impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a broker of this test's own on `port`, advertising `advertised`.
fn start_broker(port: u16, advertised: SocketAddr) -> Broker {
    let child = Command::new(tansu_bin())
        .args(["broker", "--storage-engine", "memory://tansu/"])
        .arg("--listener-url")
        .arg(format!("tcp://127.0.0.1:{port}"))
        .arg("--advertised-listener-url")
        .arg(format!("tcp://{advertised}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tansu");
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the test broker did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    Broker(child)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_answer_503_while_the_broker_is_unreachable_and_recover_by_themselves() {
    let broker_port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let proxy_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy = Proxy::start(proxy_listener, SocketAddr::from(([127, 0, 0, 1], broker_port)));
    let _broker = start_broker(broker_port, proxy.addr);
    let config =
        KafkaConfig { brokers: proxy.addr.to_string(), topic: new_topic(), create_topic: true, replication_factor: 1 };

    let dir = tempfile::tempdir().unwrap();
    let ledger = tokio::task::spawn_blocking({
        let (path, config) = (dir.path().to_owned(), config.clone());
        move || {
            let ledger = Ledger::open_kafka(&path, &config).unwrap();
            ledger.import(&fixture_records(), chrono::Utc::now()).unwrap();
            ledger
        }
    })
    .await
    .unwrap();
    let decisions = KafkaConfig { topic: format!("{}.decisions", config.topic), ..config.clone() };
    let t = tokio::task::spawn_blocking(move || TestLedger::around_kafka(dir, ledger, &decisions)).await.unwrap();

    // Acknowledged before the outage.
    t.grant_role(KUNDE_A, RETT_REVISJON, "REVI").await;
    t.register_system("310000019_maestro", &["revisormedarbeider"], &[]).await.assert_ok();
    let agent = t.agent_user("310000019_maestro", RETT_REVISJON, None, &["revisormedarbeider"]).await;
    let linked = t.link(RETT_REVISJON, &agent, KUNDE_A).await;
    linked.assert_ok();
    let mut acknowledged = vec![linked.position_header.expect("a write answers with its Ledger-Position")];
    let before = t.ledger.status().unwrap();

    // A write load runs through the whole outage: parties registered as fast as the
    // ledger acknowledges them.
    let load_running = Arc::new(AtomicBool::new(true));
    let acknowledged_orgs = Arc::new(Mutex::new(Vec::<String>::new()));
    let refused = Arc::new(Mutex::new(0usize));
    let app = t.app.clone();
    let token = t.register();
    let load = tokio::spawn({
        let (running, acknowledged_orgs, refused) = (load_running.clone(), acknowledged_orgs.clone(), refused.clone());
        async move {
            let mut orgs = ledger::bench::org_numbers(50_000_000);
            let mut n = 0i64;
            while running.load(Ordering::SeqCst) {
                let org = orgs.next().unwrap().to_string();
                n += 1;
                let body = json!({"orgNo": org, "partyId": 800_000_000 + n, "partyUuid": uuid::Uuid::now_v7(), "name": "load"});
                let req = axum::http::Request::post("/v1/parties")
                    .header("authorization", format!("Bearer {token}"))
                    .header("content-type", "application/json")
                    .body(axum::body::Body::from(body.to_string()))
                    .unwrap();
                let status = tower::ServiceExt::oneshot(app.clone(), req).await.unwrap().status().as_u16();
                match status {
                    201 => acknowledged_orgs.lock().unwrap().push(org),
                    503 => {
                        *refused.lock().unwrap() += 1;
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    other => panic!("unexpected status {other} under load"),
                }
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;

    proxy.cut();
    let refused_write = t.grant_role_reply(KUNDE_B, RETT_REVISJON, "REGN").await;
    refused_write.assert_problem(503, "log_unavailable");
    // Reads and decisions go on from the local read model; each decision is durable on
    // the replica's own disk, to be shipped to the decision topic when it is back.
    assert_eq!(t.decision(&agent, "write", "ske-aksjonaerregister", KUNDE_A).await, "Permit");
    let users = t
        .call(
            Method::GET,
            &format!("{AUTHN}/systemuser/agent/{}", p(RETT_REVISJON)),
            Some(&t.admin(RETT_REVISJON)),
            None,
        )
        .await;
    assert_eq!(users.assert_ok().as_array().unwrap().len(), 1);
    tokio::time::sleep(Duration::from_secs(2)).await;

    proxy.restore();
    // The service reconnects by itself: no restart, the same process takes writes again.
    let deadline = Instant::now() + Duration::from_secs(60);
    let recovered = loop {
        let reply = t.grant_role_reply(KUNDE_B, RETT_REVISJON, "REGN").await;
        if reply.status.is_success() {
            break reply;
        }
        assert_eq!(reply.status.as_u16(), 503, "{}", reply.body);
        assert!(Instant::now() < deadline, "the ledger did not recover after the broker came back: {}", reply.body);
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    acknowledged.push(recovered.body["position"].as_u64().unwrap());
    // The decision given during the outage reached the decision topic.
    let auditor = t.token(ledger::auth::Role::Auditor, None);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let logged = t.call(Method::GET, "/v1/audit/decisions", Some(&auditor), None).await;
        // The topic's reader may still be reconnecting (503 log_unavailable).
        let given = if logged.status.is_success() { logged.body["data"].as_array().unwrap().clone() } else { vec![] };
        if given.iter().any(|e| e["decision"] == "Permit" && e["systemUser"] == agent.as_str()) {
            break;
        }
        assert!(Instant::now() < deadline, "the outage's decision never reached the topic: {}", logged.body);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    load_running.store(false, Ordering::SeqCst);
    load.await.unwrap();
    assert!(*refused.lock().unwrap() > 0, "the load met the outage");

    // Nothing acknowledged was lost: a fresh reader of the topic sees every write.
    let log = tokio::task::spawn_blocking(move || KafkaLog::open(&config).unwrap()).await.unwrap();
    let head = log.head().unwrap();
    assert!(acknowledged.iter().all(|p| *p <= head), "{acknowledged:?} vs head {head}");
    assert!(head > before.head_position);
    let mut bytes = Vec::new();
    let mut from = 0;
    while from < head {
        let records = log.read(from, 1000).unwrap();
        from += records.len() as u64;
        bytes.extend(records.into_iter().map(|r| r.bytes));
    }
    assert_eq!(bytes.len() as u64, head);
    let on_topic: std::collections::HashSet<String> = bytes
        .iter()
        .filter_map(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
        .filter_map(|e| e["data"]["orgNo"].as_str().map(str::to_owned))
        .collect();
    let acknowledged_orgs = acknowledged_orgs.lock().unwrap();
    assert!(acknowledged_orgs.len() > 1, "the load wrote before and after the outage");
    let lost: Vec<&String> = acknowledged_orgs.iter().filter(|o| !on_topic.contains(*o)).collect();
    assert!(lost.is_empty(), "acknowledged under load but lost: {lost:?}");
    let status = t.ledger.status().unwrap();
    assert_eq!(status.projected_position, head);
}
