//! A real browser for the page tests: headless Chromium driven over the DevTools
//! protocol on a pipe (`--remote-debugging-pipe`: JSON messages ended by NUL on the
//! child's fds 3 and 4), so a test clicks, types, follows redirects with cookies, takes
//! screenshots and runs axe-core in the page as a person's browser would.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{FromRawFd, IntoRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

const HOW_TO_GET_CHROMIUM: &str = "The page tests need Chromium. ./scripts/test installs Debian's `chromium` \
package (apt-get install chromium); or set LEDGER_TEST_CHROMIUM to a Chromium binary.";
const HOW_TO_GET_AXE: &str = "The page tests need axe-core (npm). ./scripts/test installs it into target/node \
and sets LEDGER_TEST_AXE to its axe.min.js.";
/// Headless Chromium on this machine's closed network: no sandbox (tests run as root
/// here), no GPU, shared memory in /tmp rather than a container's small /dev/shm (several
/// browsers run at once), and none of the background connections it would try (and be
/// refused).
pub const HEADLESS_ARGS: &[&str] = &[
    "--headless",
    "--disable-dev-shm-usage",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];
/// Longest a page may take to load after a navigation or a click.
const PAGE_LOAD_TIMEOUT_MS: u64 = 15_000;

pub fn chromium() -> PathBuf {
    let path =
        std::env::var("LEDGER_TEST_CHROMIUM").map(PathBuf::from).unwrap_or_else(|_| PathBuf::from("/usr/bin/chromium"));
    assert!(path.exists(), "{} not found. {HOW_TO_GET_CHROMIUM}", path.display());
    path
}

/// Where the page tests keep their screenshots (artefacts of the run).
pub fn screenshot_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/ui-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub struct Browser {
    child: Child,
    to: File,
    from: BufReader<File>,
    next_id: u64,
    session: String,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: `pipe2` writes two new descriptors into `fds`, which we then own.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "pipe2: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just created and are owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

impl Browser {
    /// A fresh headless Chromium (its own empty profile) with one open tab.
    pub fn launch() -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let (child_reads, we_write) = pipe();
        let (we_read, child_writes) = pipe();
        let (r, w) = (child_reads.into_raw_fd(), child_writes.into_raw_fd());
        let mut command = Command::new(chromium());
        command
            .args(HEADLESS_ARGS)
            .args(["--remote-debugging-pipe", "--window-size=1280,1000"])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: only async-signal-safe calls (fcntl, dup2, close) between fork and exec.
        unsafe {
            command.pre_exec(move || {
                // Chromium reads fd 3 and writes fd 4. Our ends may themselves be 3 or 4
                // (numbers are reused while other tests open and close theirs): a
                // `dup2(3, 3)` keeps close-on-exec, and `dup2(r, 3)` may overwrite `w`.
                // So copy both above the range first; `dup2` onto a different number
                // clears close-on-exec.
                let (high_r, high_w) = (libc::fcntl(r, libc::F_DUPFD, 10), libc::fcntl(w, libc::F_DUPFD, 10));
                if high_r < 0 || high_w < 0 || libc::dup2(high_r, 3) < 0 || libc::dup2(high_w, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                libc::close(high_r);
                libc::close(high_w);
                Ok(())
            });
        }
        let child = command.spawn().unwrap_or_else(|e| panic!("cannot start chromium: {e}. {HOW_TO_GET_CHROMIUM}"));
        // SAFETY: the child has its copies; ours of its ends are closed here.
        unsafe {
            libc::close(r);
            libc::close(w);
        }
        let mut browser = Browser {
            child,
            to: File::from(we_write),
            from: BufReader::new(File::from(we_read)),
            next_id: 0,
            session: String::new(),
            _profile: profile,
        };
        let target = browser.send(None, "Target.createTarget", json!({"url": "about:blank"}));
        let target_id = target["targetId"].as_str().expect("a target id").to_owned();
        let attached = browser.send(None, "Target.attachToTarget", json!({"targetId": target_id, "flatten": true}));
        browser.session = attached["sessionId"].as_str().expect("a session id").to_owned();
        browser.call("Page.enable", json!({}));
        // A headless tab has no window focus; emulate one so `:focus` styles apply as
        // they do for a person at the keyboard.
        browser.call("Emulation.setFocusEmulationEnabled", json!({"enabled": true}));
        // A Norwegian person's browser: bokmål first.
        let version = browser.send(None, "Browser.getVersion", json!({}));
        let agent = version["userAgent"].as_str().unwrap_or("Chromium").to_owned();
        browser.call("Network.enable", json!({}));
        browser.call(
            "Network.setUserAgentOverride",
            json!({"userAgent": agent, "acceptLanguage": "nb-NO,nb;q=0.9,en;q=0.5"}),
        );
        browser
    }

    fn send(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.try_send(session, method, params).unwrap_or_else(|e| panic!("{method}: {e}"))
    }

    /// A DevTools call; its error (e.g. a context destroyed by a navigation) as `Err`.
    fn try_send(&mut self, session: Option<&str>, method: &str, params: Value) -> Result<Value, Value> {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            message["sessionId"] = json!(s);
        }
        let mut bytes = serde_json::to_vec(&message).unwrap();
        bytes.push(0);
        self.to.write_all(&bytes).expect("chromium reads its pipe");
        loop {
            let mut buf = Vec::new();
            let n = self.from.read_until(0, &mut buf).expect("chromium answers on its pipe");
            assert!(n > 0, "chromium closed its pipe during {method}");
            buf.pop();
            let reply: Value = serde_json::from_slice(&buf).expect("DevTools messages are JSON");
            if reply["id"] == json!(id) {
                return match reply.get("error") {
                    Some(e) => Err(e.clone()),
                    None => Ok(reply["result"].clone()),
                };
            }
        }
    }

    /// A DevTools method on the tab.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let session = self.session.clone();
        self.send(Some(&session), method, params)
    }

    /// The value of a JavaScript expression in the page (awaiting a promise).
    pub fn eval(&mut self, expression: &str) -> Value {
        let result = self
            .call("Runtime.evaluate", json!({"expression": expression, "awaitPromise": true, "returnByValue": true}));
        assert!(result.get("exceptionDetails").is_none(), "{expression}: {}", result["exceptionDetails"]);
        result["result"]["value"].clone()
    }

    pub fn url(&mut self) -> String {
        self.eval("location.href").as_str().unwrap_or_default().to_owned()
    }

    pub fn text(&mut self) -> String {
        self.eval("document.body ? document.body.innerText : ''").as_str().unwrap_or_default().to_owned()
    }

    /// Presses Tab as a keyboard user does; what has the focus then (its tag, and its
    /// text or value).
    pub fn tab(&mut self) -> String {
        for kind in ["keyDown", "keyUp"] {
            self.call(
                "Input.dispatchKeyEvent",
                json!({"type": kind, "key": "Tab", "code": "Tab", "windowsVirtualKeyCode": 9}),
            );
        }
        let focused = self.eval(
            "(() => { const e = document.activeElement; if (!e) return ''; \
             return e.tagName.toLowerCase() + ':' + (e.value || e.innerText || '').trim(); })()",
        );
        focused.as_str().unwrap_or_default().to_owned()
    }

    /// Where the tab's last navigation went (also when the site could not be reached,
    /// where `location` names the browser's error page).
    pub fn navigated_to(&mut self) -> String {
        let history = self.call("Page.getNavigationHistory", json!({}));
        let current = history["currentIndex"].as_u64().unwrap_or(0) as usize;
        history["entries"][current]["url"].as_str().unwrap_or_default().to_owned()
    }

    /// Opens `url` and waits for the page to load.
    pub fn goto(&mut self, url: &str) {
        self.eval("window.__stale = true");
        self.call("Page.navigate", json!({"url": url}));
        self.wait_for_new_page();
    }

    /// Clicks the element `selector` names (which must exist) and waits for the page it
    /// leads to.
    pub fn click_and_wait(&mut self, selector: &str) {
        self.eval("window.__stale = true");
        let js = format!(
            "(() => {{ const e = document.querySelector({s}); if (!e) return false; e.click(); return true; }})()",
            s = serde_json::to_string(selector).unwrap()
        );
        assert_eq!(self.eval(&js), json!(true), "no element {selector} on {}", self.url());
        self.wait_for_new_page();
    }

    /// Sets a form field's value (or ticks a checkbox) as typing would.
    pub fn fill(&mut self, selector: &str, value: &str) {
        let js = format!(
            "(() => {{ const e = document.querySelector({s}); if (!e) return false; \
             if (e.type === 'checkbox' || e.type === 'radio') e.checked = true; else e.value = {v}; return true; }})()",
            s = serde_json::to_string(selector).unwrap(),
            v = serde_json::to_string(value).unwrap()
        );
        assert_eq!(self.eval(&js), json!(true), "no field {selector} on {}", self.url());
    }

    /// Waits until the old document (marked `__stale`) is replaced by a loaded new one.
    fn wait_for_new_page(&mut self) {
        let deadline = Instant::now() + Duration::from_millis(PAGE_LOAD_TIMEOUT_MS);
        let session = self.session.clone();
        let probe = json!({"expression": "[document.readyState, typeof window.__stale]", "returnByValue": true});
        loop {
            // While the tab navigates, its context may be gone: that is "not yet".
            if let Ok(state) = self.try_send(Some(&session), "Runtime.evaluate", probe.clone()) {
                if state["result"]["value"] == json!(["complete", "undefined"]) {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "the page did not load in time");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A PNG of the viewport, kept as `target/ui-screenshots/<name>.png`.
    pub fn screenshot(&mut self, name: &str) -> PathBuf {
        let shot = self.call("Page.captureScreenshot", json!({"format": "png", "captureBeyondViewport": true}));
        let png = base64::engine::general_purpose::STANDARD.decode(shot["data"].as_str().unwrap()).unwrap();
        let path = screenshot_dir().join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    /// axe-core's WCAG 2.1 A and AA checks on the page: the serious and critical
    /// violations (id, impact, how many nodes).
    pub fn serious_accessibility_violations(&mut self) -> Vec<Value> {
        let axe =
            std::env::var("LEDGER_TEST_AXE").unwrap_or_else(|_| panic!("LEDGER_TEST_AXE is not set. {HOW_TO_GET_AXE}"));
        let source = std::fs::read_to_string(&axe).unwrap_or_else(|e| panic!("{axe}: {e}. {HOW_TO_GET_AXE}"));
        self.eval(&format!("{source};true"));
        let found = self.eval(
            "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})\
             .then(r => ({passes: r.passes.length, violations: r.violations.map(v => \
               ({id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help}))}))",
        );
        // A run that checked nothing would find nothing: it must have passed rules.
        assert!(found["passes"].as_u64().is_some_and(|n| n > 10), "axe checked too little: {found}");
        found["violations"]
            .as_array()
            .expect("axe answers a list")
            .iter()
            .filter(|v| matches!(v["impact"].as_str(), Some("serious") | Some("critical")))
            .cloned()
            .collect()
    }
}
