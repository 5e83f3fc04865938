//! Where a request comes from. Two attacks reach a server on loopback from the user's own
//! browser: a page on another site posting to it (cross-site request forgery), and a host name
//! the attacker controls re-pointed at 127.0.0.1 (DNS rebinding), which makes the browser treat
//! Proctor as the attacker's own origin. The first is refused by `Origin`/`Sec-Fetch-Site` on
//! every write, the second by accepting only host names Proctor was told it serves.

use axum::http::{header, HeaderMap};
use shared::ProctorError;

/// The host names this server answers to besides IP literals and `localhost`.
#[derive(Debug, Clone, Default)]
pub struct AllowedHosts(Vec<String>);

impl AllowedHosts {
    /// `names` as given to `--allowed-host` (a name, with or without a port).
    pub fn new(names: &[String]) -> Self {
        AllowedHosts(names.iter().map(|n| hostname(n).to_lowercase()).collect())
    }

    /// A `Host` header is fine when it is an IP address (a rebinding attack needs a name),
    /// `localhost`, or a configured name. HTTP/1.1 requires the header.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), ProctorError> {
        let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
            return Err(ProctorError::forbidden(
                "the request has no `Host` header; send one (HTTP/1.1 requires it)",
            ));
        };
        let name = hostname(host).to_lowercase();
        let literal = name.trim_start_matches('[').trim_end_matches(']');
        if literal.parse::<std::net::IpAddr>().is_ok()
            || name == "localhost"
            || self.0.contains(&name)
        {
            return Ok(());
        }
        Err(ProctorError::forbidden(format!(
            "this server does not answer to the host name {name:?}; if it is served under that \
             name, start it with `--allowed-host {name}` (or PROCTOR_ALLOWED_HOSTS)"
        )))
    }
}

/// `host` without its port (`[::1]:3000` → `[::1]`, `example.com:80` → `example.com`).
fn hostname(host: &str) -> &str {
    let host = host.trim();
    if host.starts_with('[') {
        return host.split_inclusive(']').next().unwrap_or(host);
    }
    host.rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map_or(host, |(name, _)| name)
}

/// A write must come from a page of this same origin, or from a program (which sends neither
/// `Origin` nor `Sec-Fetch-Site`).
pub fn same_origin_write(headers: &HeaderMap) -> Result<(), ProctorError> {
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if let Some(site) = fetch_site {
        if !matches!(site, "same-origin" | "none") {
            return Err(cross_site(site));
        }
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or("null");
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let origin_host = origin
        .split_once("://")
        .map(|(_, rest)| rest.trim_end_matches('/'))
        .unwrap_or(origin);
    if origin_host.eq_ignore_ascii_case(host) {
        Ok(())
    } else {
        Err(cross_site(origin))
    }
}

fn cross_site(from: &str) -> ProctorError {
    ProctorError::forbidden(format!(
        "writes are only taken from this server's own pages or from programs, not from {from:?}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn ip_literals_localhost_and_configured_names_are_served_and_nothing_else() {
        let allowed = AllowedHosts::new(&["proctor.example.com".into()]);
        for ok in [
            "127.0.0.1:3000",
            "[::1]:3000",
            "10.1.2.3",
            "localhost:3000",
            "LOCALHOST",
            "proctor.example.com",
            "Proctor.Example.com:443",
        ] {
            assert!(allowed.check(&headers(&[("host", ok)])).is_ok(), "{ok}");
        }
        for bad in [
            "evil.example:3000",
            "localhost.evil.example",
            "127.0.0.1.nip.io",
        ] {
            let e = allowed.check(&headers(&[("host", bad)])).unwrap_err();
            assert_eq!(e.kind, shared::ErrorKind::Forbidden, "{bad}");
        }
        assert!(allowed.check(&HeaderMap::new()).is_err());
    }

    #[test]
    fn writes_from_another_site_are_refused_and_programs_pass() {
        let host = ("host", "127.0.0.1:3000");
        assert!(same_origin_write(&headers(&[host])).is_ok());
        assert!(same_origin_write(&headers(&[host, ("origin", "http://127.0.0.1:3000")])).is_ok());
        assert!(same_origin_write(&headers(&[host, ("sec-fetch-site", "same-origin")])).is_ok());
        for bad in [
            vec![host, ("origin", "http://evil.example")],
            vec![host, ("origin", "null")],
            vec![host, ("origin", "http://127.0.0.1:4000")],
            vec![host, ("sec-fetch-site", "cross-site")],
            vec![host, ("sec-fetch-site", "same-site")],
        ] {
            assert!(same_origin_write(&headers(&bad)).is_err(), "{bad:?}");
        }
    }
}
