//! Helpers for the end-to-end tests: a real `proctor serve` (in-process, on an ephemeral
//! loopback port, with a fresh SQLite file and the built dashboard), data put in through the real
//! REST API, and headless Chromium driven over WebDriver.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use server::cli::run::ExecArgs;
use server::cli::serve::{self, Running, ServeArgs};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The built dashboard the servers serve: `dist/`, or `PROCTOR_DIST`, so a test binary can be
/// run again and again against one build while the tree's `dist/` is rebuilt.
fn dist() -> PathBuf {
    std::env::var_os("PROCTOR_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("dist"))
}

pub struct Proctor {
    pub running: Running,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Proctor {
    /// `agents`: agent files whose queued runs the server executes itself.
    pub async fn start(agents: Vec<PathBuf>) -> Proctor {
        Self::start_with_token(agents, None).await
    }

    /// A server that needs `token` for everything; this helper's own requests carry it.
    pub async fn start_with_token(agents: Vec<PathBuf>, token: Option<&str>) -> Proctor {
        Self::start_on(None, agents, token).await
    }

    /// A server on the database `url` (a fresh SQLite file when `None`).
    pub async fn start_on(
        url: Option<String>,
        agents: Vec<PathBuf>,
        token: Option<&str>,
    ) -> Proctor {
        let dir = tempfile::tempdir().unwrap();
        let dist = dist();
        assert!(
            dist.join("index.html").is_file(),
            "no dashboard in {}: build it first with trunk build --release (bash .ci/test does)",
            dist.display()
        );
        let args = ServeArgs {
            api_token: token.map(String::from),
            agents,
            ..ServeArgs::local(
                url.unwrap_or_else(|| {
                    format!("sqlite://{}", dir.path().join("proctor.db").display())
                }),
                Some(dist),
                ExecArgs {
                    concurrency: 2,
                    ..ExecArgs::under(
                        dir.path(),
                        std::env::var("PROCTOR_PYTHON").unwrap_or_else(|_| "python3".into()),
                    )
                },
            )
        };
        let running = serve::start(&args).await.unwrap();
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(t) = token {
            headers.insert(
                reqwest::header::AUTHORIZATION,
                format!("Bearer {t}").parse().unwrap(),
            );
        }
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .pool_idle_timeout(server::client::POOLED_IDLE)
            .build()
            .unwrap();
        Proctor {
            running,
            http,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.url())
    }

    pub async fn get(&self, path: &str) -> Value {
        self.http
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn post(&self, path: &str, body: &Value) -> Value {
        let resp = self
            .http
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json().await.unwrap()
    }

    pub async fn agent(&self, name: &str) {
        self.post(
            "/api/v1/agents",
            &json!({"name": name, "tools": [{"name": "lookup_order"}, {"name": "verify_id"}, {"name": "refund"}]}),
        )
        .await;
    }

    /// A completed run of `n` cases; case `i` calls the tools `path(i)`, all expected to call
    /// lookup_order → verify_id → refund.
    pub async fn run_with(
        &self,
        agent: &str,
        label: &str,
        n: usize,
        path: impl Fn(usize) -> Vec<&'static str>,
    ) -> String {
        let run = self
            .post("/api/v1/runs", &json!({"agent": agent, "label": label}))
            .await;
        let id = run["run"]["id"].as_str().unwrap().to_string();
        let results: Vec<Value> = (0..n)
            .map(|i| {
                json!({
                    "scenario_key": format!("case-{i:05}"),
                    "user_message": format!("Please refund order ORD-{i}"),
                    "agent_response": "Your refund is on its way.",
                    "tool_calls": path(i),
                    "duration_ms": 500 + i % 300,
                    "expectations": {"expected_tools": [{"tool": "lookup_order"}, {"tool": "verify_id"}, {"tool": "refund"}]}
                })
            })
            .collect();
        for chunk in results.chunks(1000) {
            self.post(
                &format!("/api/v1/runs/{id}/results"),
                &json!({ "results": chunk }),
            )
            .await;
        }
        self.post(
            &format!("/api/v1/runs/{id}/status"),
            &json!({"status": "completed"}),
        )
        .await;
        id
    }
}

/// A chromedriver process and a headless Chromium session with a fresh profile.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

/// A Chrome DevTools Protocol command, sent through chromedriver's `goog/cdp/execute`.
#[derive(Debug)]
struct DevTools {
    cmd: &'static str,
    params: Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for DevTools {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({"cmd": self.cmd, "params": self.params});
        (http::Method::POST, Some(body.to_string()))
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Browser {
    pub async fn open() -> Browser {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is installed (apt-get install chromium chromium-driver; .ci/setup does it)");
        let profile = tempfile::tempdir().unwrap();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": "/usr/bin/chromium",
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         "--no-first-run", "--window-size=1280,1000", format!("--user-data-dir={}", profile.path().display())]
            }),
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(c) => break c,
                Err(e) if Instant::now() > deadline => {
                    panic!("cannot start a browser session: {e}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
        Browser {
            client,
            driver,
            _profile: profile,
        }
    }

    /// Every later page load as a first visit over a link of `bits_per_second` down and up, with
    /// 20 ms of latency: nothing cached, every file downloaded at that rate. Chromium applies it
    /// to the page's own requests (the WASM's fetch included), through DevTools.
    pub async fn first_visits_over(&self, bits_per_second: u64) {
        let bytes = bits_per_second / 8;
        self.devtools("Network.enable", json!({})).await;
        self.devtools("Network.setCacheDisabled", json!({"cacheDisabled": true}))
            .await;
        self.devtools(
            "Network.emulateNetworkConditions",
            json!({"offline": false, "latency": 20, "downloadThroughput": bytes, "uploadThroughput": bytes}),
        )
        .await;
    }

    async fn devtools(&self, cmd: &'static str, params: Value) {
        self.client
            .issue_cmd(DevTools { cmd, params })
            .await
            .unwrap_or_else(|e| panic!("chromedriver refused DevTools' {cmd}: {e}"));
    }

    /// The first element `css` matches (it must exist).
    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .find(fantoccini::Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
    }

    /// Clicks the first element `css` matches.
    pub async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("cannot click {css}: {e}"));
    }

    /// Waits until `css` matches at least `n` elements; returns their texts.
    pub async fn texts(&self, css: &str, n: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let found = self
                .client
                .find_all(Locator::Css(css))
                .await
                .unwrap_or_default();
            if found.len() >= n {
                let mut out = Vec::new();
                for e in found {
                    out.push(e.text().await.unwrap_or_default());
                }
                return out;
            }
            if Instant::now() > deadline {
                let body = self.client.source().await.unwrap_or_default();
                panic!(
                    "`{css}` never matched {n} element(s); the page was:\n{}",
                    &body[..body.len().min(3000)]
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Milliseconds from the start of the current page's navigation until `n` elements match
    /// `css`, by the page's own clock (checked every 5 ms in the page). Reading the elements'
    /// text over WebDriver, as [`Browser::texts`] does, costs a round trip per element: for a
    /// hundred rows that is over a second that the page itself did not take.
    pub async fn shown_after_ms(&self, css: &str, n: usize) -> f64 {
        let script = "const [css, n, done] = arguments;
            const deadline = performance.now() + 15000;
            (function check() {
                if (document.querySelectorAll(css).length >= n) done(performance.now());
                else if (performance.now() > deadline) done(null);
                else setTimeout(check, 5);
            })();";
        let shown = self
            .client
            .execute_async(script, vec![css.into(), n.into()])
            .await
            .unwrap();
        shown.as_f64().unwrap_or_else(|| {
            panic!("`{css}` never matched {n} element(s) within 15 s of navigation")
        })
    }

    /// What `script` (a function body that returns a value) returns in the page, decoded.
    pub async fn js<T: serde::de::DeserializeOwned>(&self, script: &str) -> T {
        let value = self
            .client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("{script} failed: {e}"));
        serde_json::from_value(value.clone())
            .unwrap_or_else(|e| panic!("{script} returned {value}: {e}"))
    }

    /// The accessibility violations of impact "serious" or "critical" that axe-core finds on the
    /// page as it is now (axe-core from `tests/axe`, installed by `.ci/setup`), each as
    /// "rule (impact): help — the offending elements".
    pub async fn serious_violations(&self) -> Vec<String> {
        let axe = repo().join("tests/axe/node_modules/axe-core/axe.min.js");
        let source = std::fs::read_to_string(&axe).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run `. .ci/setup` (npm ci in tests/axe)",
                axe.display()
            )
        });
        self.client.execute(&source, vec![]).await.unwrap();
        let script = "const done = arguments[0];
            axe.run(document, { resultTypes: ['violations'] }).then(r => done(
                r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                    .map(v => `${v.id} (${v.impact}): ${v.help} — ` +
                        v.nodes.slice(0, 5).map(n => n.target.join(' ')).join(', ') +
                        ` — ${v.nodes[0].failureSummary}`)),
                e => done([`axe failed: ${e}`]));";
        let found = self.client.execute_async(script, vec![]).await.unwrap();
        serde_json::from_value(found).unwrap()
    }

    /// Waits (up to 10 s) until `script`, a function body, returns true in the page.
    pub async fn wait_for(&self, script: &str, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.js::<bool>(script).await {
            assert!(Instant::now() < deadline, "{what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Presses Tab from the top of the page until focus has visited every visible control (links,
    /// SVG links included, buttons, fields, `<summary>`s), or four times as often as there are
    /// controls; asserts none was skipped, naming those that were and where focus went.
    pub async fn assert_keyboard_reachable(&self, page: &str) {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        let controls: usize = self
            .js(
                "const wanted = 'a[href], button:not([disabled]), input:not([disabled]), '
                    + 'select:not([disabled]), textarea:not([disabled]), summary';
                 const shown = [...document.querySelectorAll(wanted)]
                     .filter(e => e.checkVisibility() && !e.closest('[aria-hidden=true]'));
                 shown.forEach((e, i) => e.dataset.kb = i);
                 if (document.activeElement) document.activeElement.blur();
                 window.scrollTo(0, 0);
                 return shown.length;",
            )
            .await;
        let mut reached = std::collections::BTreeSet::new();
        let mut trail = Vec::new();
        // A date field takes a Tab per part (day, month, year), so allow a few per control.
        for _ in 0..controls * 4 + 5 {
            let tab = KeyActions::new("keyboard".into())
                .then(KeyAction::Down { value: '\u{E004}' })
                .then(KeyAction::Up { value: '\u{E004}' });
            self.client.perform_actions(tab).await.unwrap();
            let (at, what): (Option<usize>, String) = self
                .js("const e = document.activeElement;
                     const k = e && e.dataset && e.dataset.kb;
                     return [k === undefined ? null : Number(k), e ? e.outerHTML.slice(0, 80) : 'none'];")
                .await;
            trail.push(what);
            if let Some(at) = at {
                reached.insert(at);
            }
            if reached.len() == controls {
                return;
            }
        }
        let reached: Vec<usize> = reached.into_iter().collect();
        let missed: Vec<String> = self
            .js(&format!(
                "const reached = {reached:?};
                 return [...document.querySelectorAll('[data-kb]')]
                     .filter(e => !reached.includes(Number(e.dataset.kb)))
                     .slice(0, 10).map(e => e.outerHTML.slice(0, 160));"
            ))
            .await;
        panic!(
            "{page}: {} of {controls} controls never took the keyboard's focus: {missed:#?}; \
             focus went: {trail:#?}",
            controls - reached.len()
        );
    }

    /// Asserts axe-core finds nothing serious or critical on the page (named in the message).
    pub async fn assert_accessible(&self, page: &str) {
        let violations = self.serious_violations().await;
        assert!(
            violations.is_empty(),
            "{page}: {} serious or critical accessibility violation(s):\n{}",
            violations.len(),
            violations.join("\n")
        );
    }

    pub async fn text(&self, css: &str) -> String {
        self.texts(css, 1).await.remove(0)
    }

    /// Saves a screenshot of the whole page (up to 4,000 px tall) under target/screenshots/, or
    /// the directory `PROCTOR_SCREENSHOTS` names (`docs/screenshots` refreshes the README's),
    /// and returns its path: the window grows to the page for the picture, then goes back.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let dir = match std::env::var_os("PROCTOR_SCREENSHOTS") {
            Some(dir) => repo().join(dir),
            None => repo().join("target/screenshots"),
        };
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        let (width, height) = self.client.get_window_size().await.unwrap();
        let page: u64 = self
            .js("return Math.ceil(document.documentElement.scrollHeight);")
            .await;
        let tall = (page as u32 + (height as u32).saturating_sub(self.viewport_height().await))
            .clamp(height as u32, 4000);
        self.client
            .set_window_size(width as u32, tall)
            .await
            .unwrap();
        let png = self.client.screenshot().await.unwrap();
        self.client
            .set_window_size(width as u32, height as u32)
            .await
            .unwrap();
        std::fs::write(&path, png).unwrap();
        path
    }

    async fn viewport_height(&self) -> u32 {
        self.js::<u32>("return window.innerHeight;").await
    }

    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Stopping chromedriver ends its Chromium too, even when a test failed half-way.
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
