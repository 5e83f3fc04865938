//! Who may use this server. With no token (the default on loopback) everyone may; with one,
//! every request to the data needs it — reads too, unless the operator opened them with
//! `--public-read` — except the health check and the sign-in itself.
//!
//! Scripts send the token as `Authorization: Bearer <token>`. The dashboard, which cannot hold a
//! secret in its code, trades it once for a session (`POST /api/v1/session`): an opaque random
//! id in an HttpOnly, SameSite=Strict cookie, so the token itself never sits in the browser.
//! Failed sign-ins and wrong bearer tokens are counted together per client address, and the
//! address is refused for a while past a limit.
//!
//! A session also carries the name of the person using the dashboard, given when signing in
//! (or later, on a live session; on a server with no token a session holds just the name): a
//! review is stored under the session's name, not under whatever a request claims.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap, Method};
use shared::ProctorError;
use uuid::Uuid;

use super::origin::AllowedHosts;

/// The cookie that carries a dashboard session id.
pub const SESSION_COOKIE: &str = "proctor_session";
/// How long a dashboard session lasts.
const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);
/// Failed sign-ins one address may make per [`FAILURE_WINDOW`].
const MAX_FAILURES: u32 = 10;
const FAILURE_WINDOW: Duration = Duration::from_secs(10 * 60);
/// The shortest token accepted when the server listens beyond loopback.
pub const MIN_TOKEN_LEN: usize = 16;

/// One dashboard session: until when it holds, and who is using it.
struct Session {
    expires: Instant,
    reviewer: Option<String>,
}

/// The server's access rules and the state they keep (sessions, failed sign-ins). The maps sit
/// behind std mutexes: no `.await` happens while one is held.
pub struct Access {
    token: Option<String>,
    public_read: bool,
    pub hosts: AllowedHosts,
    sessions: Mutex<HashMap<String, Session>>,
    failures: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl Access {
    pub fn new(token: Option<String>, public_read: bool, hosts: AllowedHosts) -> Self {
        Access {
            token,
            public_read,
            hosts,
            sessions: Mutex::default(),
            failures: Mutex::default(),
        }
    }

    /// No token: everything open (a server on loopback for one user).
    pub fn open() -> Self {
        Self::new(None, false, AllowedHosts::default())
    }

    /// Whether the server has a token at all.
    pub fn required(&self) -> bool {
        self.token.is_some()
    }

    /// Whether a request to `path` may go without a credential: the health check and sign-in
    /// always; reads (REST GETs, the server functions the dashboard declares read-only) only
    /// with `--public-read`. MCP always needs it, because its tools write.
    pub fn is_open(&self, method: &Method, path: &str) -> bool {
        if matches!(
            path,
            "/api/v1/health" | "/api/v1/session" | "/api/v1/openapi.json"
        ) {
            return true;
        }
        if !self.public_read {
            return false;
        }
        if let Some(name) = path.strip_prefix("/api/fn/") {
            return app::api::READ_ONLY.contains(&name);
        }
        path.starts_with("/api/v1/") && matches!(*method, Method::GET | Method::HEAD)
    }

    /// Whether `headers` carry the token or a live session; always when there is no token.
    pub fn authorize(&self, headers: &HeaderMap) -> Result<(), ProctorError> {
        let Some(expected) = &self.token else {
            return Ok(());
        };
        if let Some(given) = bearer(headers) {
            return if constant_time_eq(given.as_bytes(), expected.as_bytes()) {
                Ok(())
            } else {
                Err(ProctorError::unauthorized(
                    "the token does not match PROCTOR_API_TOKEN on the server",
                ))
            };
        }
        if let Some(id) = session_id(headers) {
            if self.session_alive(id) {
                return Ok(());
            }
            return Err(ProctorError::unauthorized(
                "the dashboard session has expired; enter the token again",
            ));
        }
        Err(ProctorError::unauthorized(
            "this server requires its token: send `Authorization: Bearer <PROCTOR_API_TOKEN>` \
             (in the dashboard, enter the token when asked)",
        ))
    }

    /// [`Access::authorize`] for a request from `client`: a wrong bearer token counts toward
    /// the same per-address lockout as a wrong sign-in, and an address locked out is refused
    /// whatever it sends, so a token cannot be guessed at any faster than a sign-in.
    pub fn admit(&self, client: Option<IpAddr>, headers: &HeaderMap) -> Result<(), ProctorError> {
        if !self.required() {
            return Ok(());
        }
        let client = client.unwrap_or(IpAddr::from([0, 0, 0, 0]));
        self.refuse_if_locked_out(client)?;
        let admitted = self.authorize(headers);
        if admitted.is_err() && bearer(headers).is_some() {
            self.count_failure(client);
        }
        admitted
    }

    fn session_alive(&self, id: &str) -> bool {
        let sessions = self.sessions.lock().expect("sessions lock");
        sessions.get(id).is_some_and(|s| s.expires > Instant::now())
    }

    /// The name of the person whose live session sent these headers, if they gave one.
    pub fn reviewer(&self, headers: &HeaderMap) -> Option<String> {
        let id = session_id(headers)?;
        let sessions = self.sessions.lock().expect("sessions lock");
        sessions
            .get(id)
            .filter(|s| s.expires > Instant::now())
            .and_then(|s| s.reviewer.clone())
    }

    /// Names the person of the live session these headers carry; `false` when there is none.
    pub fn rename(&self, headers: &HeaderMap, reviewer: String) -> bool {
        let Some(id) = session_id(headers) else {
            return false;
        };
        let mut sessions = self.sessions.lock().expect("sessions lock");
        match sessions.get_mut(id).filter(|s| s.expires > Instant::now()) {
            Some(session) => {
                session.reviewer = Some(reviewer);
                true
            }
            None => false,
        }
    }

    /// Opens a session for `reviewer`, checking the token a client signs in with when the server
    /// has one; too many failures from one address (here or as bearer tokens) are refused for a
    /// while.
    pub fn sign_in(
        &self,
        client: Option<IpAddr>,
        token: &str,
        reviewer: Option<String>,
    ) -> Result<String, ProctorError> {
        if self.required() {
            let client = client.unwrap_or(IpAddr::from([0, 0, 0, 0]));
            self.refuse_if_locked_out(client)?;
            let expected = self.token.as_deref().unwrap_or_default();
            if !constant_time_eq(token.trim().as_bytes(), expected.as_bytes()) {
                self.count_failure(client);
                return Err(ProctorError::unauthorized(
                    "the token does not match PROCTOR_API_TOKEN on the server",
                ));
            }
        }
        let id = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
        let now = Instant::now();
        let mut sessions = self.sessions.lock().expect("sessions lock");
        sessions.retain(|_, s| s.expires > now);
        sessions.insert(
            id.clone(),
            Session {
                expires: now + SESSION_LIFETIME,
                reviewer,
            },
        );
        Ok(id)
    }

    fn refuse_if_locked_out(&self, client: IpAddr) -> Result<(), ProctorError> {
        let failures = self.failures.lock().expect("failures lock");
        match failures.get(&client) {
            Some((since, n)) if *n >= MAX_FAILURES && since.elapsed() < FAILURE_WINDOW => {
                let wait = FAILURE_WINDOW.saturating_sub(since.elapsed()).as_secs() / 60 + 1;
                Err(ProctorError::new(
                    shared::ErrorKind::RateLimited,
                    format!(
                        "too many wrong tokens from this address; try again in {wait} minute(s)"
                    ),
                ))
            }
            _ => Ok(()),
        }
    }

    fn count_failure(&self, client: IpAddr) {
        let mut failures = self.failures.lock().expect("failures lock");
        let entry = failures.entry(client).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= FAILURE_WINDOW {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

fn session_id(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            c.trim()
                .strip_prefix(SESSION_COOKIE)
                .and_then(|rest| rest.strip_prefix('='))
        })
}

/// Compares without an early exit, so response timing does not reveal how much of a guess was
/// right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_header(name: header::HeaderName, value: String) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, value.parse().unwrap());
        h
    }

    fn with_cookie(id: &str) -> HeaderMap {
        with_header(header::COOKIE, format!("{SESSION_COOKIE}={id}"))
    }

    fn with_bearer(token: &str) -> HeaderMap {
        with_header(header::AUTHORIZATION, format!("Bearer {token}"))
    }

    /// A server whose token is `a-long-enough-token`.
    fn guarded() -> Access {
        Access::new(
            Some("a-long-enough-token".into()),
            false,
            AllowedHosts::default(),
        )
    }

    #[test]
    fn a_session_is_an_opaque_id_not_the_token() {
        let access = guarded();
        let id = access
            .sign_in(None, "a-long-enough-token", Some("Dana".into()))
            .unwrap();
        assert_eq!(access.reviewer(&with_cookie(&id)).as_deref(), Some("Dana"));
        assert!(access.rename(&with_cookie(&id), "Dana K.".into()));
        assert_eq!(
            access.reviewer(&with_cookie(&id)).as_deref(),
            Some("Dana K.")
        );
        assert!(!access.rename(&with_cookie("forged"), "Eve".into()));
        assert!(!id.contains("a-long-enough-token"));
        assert!(access.authorize(&with_cookie(&id)).is_ok());
        assert!(access
            .authorize(&with_cookie("a-long-enough-token"))
            .is_err());
        assert!(access.authorize(&with_cookie("forged")).is_err());
    }

    #[test]
    fn wrong_tokens_are_refused_for_a_while_past_the_limit() {
        let access = guarded();
        let ip: IpAddr = "10.0.0.7".parse().unwrap();
        for _ in 0..MAX_FAILURES {
            let e = access.sign_in(Some(ip), "guess", None).unwrap_err();
            assert_eq!(e.kind, shared::ErrorKind::Unauthorized);
        }
        let e = access
            .sign_in(Some(ip), "a-long-enough-token", None)
            .unwrap_err();
        assert_eq!(
            e.kind,
            shared::ErrorKind::RateLimited,
            "even the right token waits"
        );
        let other: IpAddr = "10.0.0.8".parse().unwrap();
        assert!(access
            .sign_in(Some(other), "a-long-enough-token", None)
            .is_ok());
    }

    #[test]
    fn wrong_bearer_tokens_count_toward_the_same_lockout_as_sign_ins() {
        let access = guarded();
        let ip: IpAddr = "10.0.0.9".parse().unwrap();
        assert!(access
            .admit(Some(ip), &with_bearer("a-long-enough-token"))
            .is_ok());
        for _ in 0..MAX_FAILURES - 1 {
            let e = access.admit(Some(ip), &with_bearer("guess")).unwrap_err();
            assert_eq!(e.kind, shared::ErrorKind::Unauthorized);
        }
        let e = access.sign_in(Some(ip), "guess", None).unwrap_err();
        assert_eq!(e.kind, shared::ErrorKind::Unauthorized, "the tenth failure");
        for headers in [with_bearer("guess"), with_bearer("a-long-enough-token")] {
            let e = access.admit(Some(ip), &headers).unwrap_err();
            assert_eq!(e.kind, shared::ErrorKind::RateLimited);
        }
        let other: IpAddr = "10.0.0.10".parse().unwrap();
        assert!(access
            .admit(Some(other), &with_bearer("a-long-enough-token"))
            .is_ok());
        assert!(
            access.admit(Some(other), &HeaderMap::new()).is_err(),
            "no credential is refused but is no guess"
        );
        for _ in 0..2 * MAX_FAILURES {
            let _ = access.admit(Some(other), &HeaderMap::new());
        }
        assert!(access
            .admit(Some(other), &with_bearer("a-long-enough-token"))
            .is_ok());
    }
}
