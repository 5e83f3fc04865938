//! PII redaction of any JSON value, recursively.
//!
//! Replaced values become markers naming their kind (`[REDACTED:EMAIL]`), and every call reports
//! how many values of each kind it replaced, so a dashboard can say what was scrubbed without
//! showing it. The rules are shared with the Python tracer through the test vectors in
//! `tests/pii_vectors.json`: both implementations must produce the same output for each vector.
//!
//! What is detected, and how false positives are kept down:
//! - **Secrets**: the value of any key whose last words name a secret (`password`, `secret`,
//!   `token`, `api_key`, `authorization`, `cookie`, `private_key`, …, in any of `snake_case`,
//!   `camelCase`, `kebab-case`; so `client_secret` and `X-Auth-Token` are secrets while
//!   `secretary`, `cookie_policy`, `max_tokens` and `next_page_token` are not; a number under a
//!   token-named key is a count; an object under a secret key keeps its shape and loses its
//!   secret leaves), `Bearer`/`Basic` credentials, the same key rules wherever a key meets its
//!   value in text (`key=value`, `pw:…`, JSON written inside a message), a password-like or
//!   high-entropy word after a secret's name in prose (`my password is hunter2`, not `password
//!   reset`), well-known key formats (`sk-…`, `AKIA…`, `ghp_…`, `xox…-`, `AIza…`), JWTs, and AWS
//!   secret keys (40 mixed base64 characters) within 80 characters after `aws` or `secret`.
//!   PEM private key blocks and the password in a URL's user info (`postgres://app:…@db`) are
//!   secrets too; a value after a secret's key runs to the next space (a `,`, `;` or `&` ends it
//!   only before the next `key=`, so `Tr0ub4dor&3` goes whole).
//! - **Emails**.
//! - **IBANs**: a registered country's code, its length, and the ISO 13616 checksum, with or
//!   without spaces every four characters.
//! - **Payment cards**: 13–19 digits, plain or in groups of four (Amex 4-6-5), that pass the Luhn
//!   check *and* start with a card network's prefix, so order numbers and timestamps survive.
//! - **US SSNs**: `ddd-dd-dddd` or `ddd dd dddd` (never with an all-zero group), or nine digits
//!   where the text names an SSN (`SSN: …`, `my ssn is …`, `Social Security Number …`).
//! - **Phone numbers**: US forms (`(555) 123-4567`, `555.123.4567`, `415-5552671`,
//!   `+1 555 123 4567`, and ten bare digits that form a valid North American number —
//!   `4155552671`, but not `1732612345` or `3000000000`) and
//!   international numbers written with a leading `+` (8–15 digits).
//!
//! A number-shaped match counts only when it stands alone: not glued to letters, digits or an
//! identifier's `-`/`/`/`.`, so `ORD-555-123-4567`, UUIDs, ISO dates and prices are left alone.
//! A name (a tool's, a label, a key) is read with those separators as word breaks instead
//! ([`redact_name`]), so `tool_415-5552671` loses its phone number.
//! Strings that hold JSON (tool arguments usually do) are parsed, redacted and re-serialized, and
//! JSON object keys are scrubbed like any text (a map from email to order).
//! Redacting twice gives the same result as redacting once.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::OnceLock;

use regex::{Captures, Regex, RegexSet};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::names::snake_case_names;
use crate::model::TestResult;

/// The kinds of personal data redaction finds, each replaced by its own marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PiiKind {
    Ssn,
    Card,
    Email,
    Phone,
    Secret,
    Iban,
}

snake_case_names!(PiiKind { Ssn => "ssn", Card => "card", Email => "email", Phone => "phone", Secret => "secret", Iban => "iban" });

impl PiiKind {
    pub fn marker(self) -> &'static str {
        match self {
            PiiKind::Ssn => "[REDACTED:SSN]",
            PiiKind::Card => "[REDACTED:CARD]",
            PiiKind::Email => "[REDACTED:EMAIL]",
            PiiKind::Phone => "[REDACTED:PHONE]",
            PiiKind::Secret => "[REDACTED:SECRET]",
            PiiKind::Iban => "[REDACTED:IBAN]",
        }
    }
}

/// How many values of each kind were replaced.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct RedactionCounts(pub BTreeMap<PiiKind, u64>);

impl RedactionCounts {
    pub fn add(&mut self, kind: PiiKind, n: u64) {
        if n > 0 {
            *self.0.entry(kind).or_default() += n;
        }
    }
    pub fn merge(&mut self, other: &RedactionCounts) {
        for (kind, n) in &other.0 {
            self.add(*kind, *n);
        }
    }
    pub fn get(&self, kind: PiiKind) -> u64 {
        self.0.get(&kind).copied().unwrap_or(0)
    }
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }
    pub fn is_empty(&self) -> bool {
        self.total() == 0
    }
}

/// Redacts `value` in place and reports what was replaced.
pub fn redact_value(value: &mut Value) -> RedactionCounts {
    let mut counts = RedactionCounts::default();
    redact_into(value, &mut counts);
    counts
}

/// A call recording (the tracer's `{"version": 1, "exchanges": [...]}`) as it may leave the
/// agent's machine: scrubbed, and without each request's `request_sha256` — a digest of a request
/// that held personal data would let anyone confirm a guess of it.
pub fn scrub_recording(recording: &mut Value) -> RedactionCounts {
    if let Some(exchanges) = recording.get_mut("exchanges").and_then(Value::as_array_mut) {
        for exchange in exchanges.iter_mut().filter_map(Value::as_object_mut) {
            exchange.remove("request_sha256");
        }
    }
    redact_value(recording)
}

/// Redacts free text (not parsed as JSON).
pub fn redact_text(text: &str) -> (String, RedactionCounts) {
    let mut counts = RedactionCounts::default();
    let out = redact_str(text, &mut counts).into_owned();
    (out, counts)
}

/// Redacts a name (a tool's, a label): like text, but `_`, `-`, `.`, `/` and `:` separate
/// words instead of gluing them, so the phone number in `tool_415-5552671` is found. Names
/// rarely hold long digit runs that are not data, and one that does costs a marker, not a leak.
pub fn redact_name(name: &str) -> (String, RedactionCounts) {
    let mut counts = RedactionCounts::default();
    let out = redact_str_in(name, Glue::Name, &mut counts).into_owned();
    (out, counts)
}

/// Scrubs a name in place (as [`redact_name`] reads it), adding what it replaced to `counts`.
pub fn scrub_name(name: &mut String, counts: &mut RedactionCounts) {
    let (clean, found) = redact_name(name);
    if !found.is_empty() {
        counts.merge(&found);
        *name = clean;
    }
}

/// The PII a text exposes: what redaction would replace, plus markers already in it (a response
/// the tracer scrubbed still *tried* to expose what its markers name).
pub fn pii_in_text(text: &str) -> RedactionCounts {
    let (_, counts) = redact_text(text);
    with_markers(text, counts)
}

/// The PII a name exposes, read as [`redact_name`] reads it, markers included.
pub fn pii_in_name(name: &str) -> RedactionCounts {
    let (_, counts) = redact_name(name);
    with_markers(name, counts)
}

fn with_markers(text: &str, mut counts: RedactionCounts) -> RedactionCounts {
    for kind in PiiKind::ALL {
        counts.add(*kind, text.matches(kind.marker()).count() as u64);
    }
    counts
}

/// Scrubs every free-form part of a judged result in place and adds what it replaced to the
/// trace's `redactions`. Token counts, names and ids carry no personal data and are kept.
pub fn redact_result(result: &mut TestResult) {
    let mut counts = RedactionCounts::default();
    let mut scrub = |text: &mut String| {
        let (clean, found) = redact_text(text);
        counts.merge(&found);
        *text = clean;
    };
    scrub(&mut result.user_message);
    scrub(&mut result.agent_response);
    let evaluation = &mut result.evaluation;
    for check in &mut evaluation.checks {
        scrub(&mut check.reason);
        if let Some(j) = &mut check.judgement {
            scrub(&mut j.reason);
            j.quotes.iter_mut().for_each(&mut scrub);
        }
    }
    evaluation
        .failures
        .iter_mut()
        .for_each(|f| scrub(&mut f.reason));
    if let Some(notes) = &mut evaluation.notes {
        scrub(notes);
    }
    if let Some(e) = &mut result.error {
        scrub(&mut e.message);
    }
    let mut values: Vec<&mut Value> = Vec::new();
    if let Some(diff) = &mut evaluation.state_diff {
        values.extend(diff.added.iter_mut().map(|e| &mut e.value));
        values.extend(diff.removed.iter_mut().map(|e| &mut e.value));
        for change in &mut diff.changed {
            values.extend([&mut change.before, &mut change.after]);
        }
    }
    let trace = &mut result.trace;
    for turn in &mut trace.turns {
        scrub(&mut turn.user);
        scrub(&mut turn.agent);
        if let Some(replay) = &mut turn.replay {
            scrub(replay);
        }
    }
    if let Some(state) = &mut trace.state {
        values.extend(state.before.iter_mut().chain([&mut state.after]));
    }
    for call in &mut trace.tool_calls {
        call.error.iter_mut().for_each(&mut scrub);
        call.call_id.iter_mut().for_each(&mut scrub);
    }
    for call in &mut trace.llm_calls {
        call.error.iter_mut().for_each(&mut scrub);
    }
    if let Some(replay) = &mut trace.replay {
        replay.mismatch.iter_mut().for_each(&mut scrub);
        if let Some(diverged) = &mut replay.diverged {
            scrub(&mut diverged.field);
            diverged.lines.iter_mut().for_each(&mut scrub);
        }
    }
    match trace.mutant.as_mut().map(|m| &mut m.fault) {
        Some(crate::Fault::TruncatedAnswer { cut }) => scrub(cut),
        Some(crate::Fault::ChangeArgument { from, to, .. }) => values.extend([from, to]),
        _ => {}
    }
    let calls = trace
        .tool_calls
        .iter_mut()
        .flat_map(|c| std::iter::once(&mut c.arguments).chain(c.result.as_mut()));
    for value in values
        .into_iter()
        .chain(calls)
        .chain(trace.input.as_mut())
        .chain(trace.output.as_mut())
    {
        counts.merge(&redact_value(value));
    }
    trace.redactions.merge(&counts);
}

/// Names of secrets, matched against the last words of a key (`client_secret`, `x-api-key`).
const SECRET_NAMES: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "secrets",
    "apikey",
    "apikeys",
    "authorization",
    "cookie",
    "cookies",
    "privatekey",
    "accesskey",
    "secretkey",
    "credential",
    "credentials",
    "sessionid",
    "signingkey",
    "encryptionkey",
    "token",
    "pwd",
    "pw",
    "pass",
    "passcode",
    "auth",
    "pin",
    "cvv",
    "cvc",
    "otp",
    "jwt",
    "bearer",
];
/// Endings that make a one-word key a secret (`dbpassword`, `authtoken`).
const SECRET_ENDINGS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "apikey",
    "token",
    "credential",
    "credentials",
    "privatekey",
    "accesskey",
    "sessionid",
];
/// Words after a secret's name that still name the secret (`password_confirmation`, `secret_value`).
const SECRET_FILLERS: &[&str] = &[
    "value",
    "val",
    "string",
    "str",
    "text",
    "raw",
    "data",
    "hash",
    "hashed",
    "encoded",
    "encrypted",
    "plain",
    "plaintext",
    "confirmation",
    "confirm",
    "b64",
    "base64",
    "hex",
];
/// Tokens that are cursors, not credentials (`next_page_token`, AWS's `NextToken`).
const NOT_SECRET_ENDINGS: &[&str] = &[
    "pagetoken",
    "nexttoken",
    "continuationtoken",
    "synctoken",
    "cursortoken",
    "resumetoken",
];

/// The words of a key, lower-cased, across `snake_case`, `camelCase`, `kebab-case` and
/// `SCREAMING_CASE` (`APIKey` is `api`, `key`).
fn key_words(key: &str) -> Vec<String> {
    let chars: Vec<char> = key.chars().collect();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            continue;
        }
        if c.is_uppercase() && !word.is_empty() {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if prev.is_lowercase() || prev.is_numeric() || (prev.is_uppercase() && next_lower) {
                words.push(std::mem::take(&mut word));
            }
        }
        word.extend(c.to_lowercase());
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// Whether a JSON key names a secret. The last words decide, so `client_secret`, `apiKey`,
/// `X-Auth-Token` and `DB_PASSWORD` are secrets while `secretary`, `cookie_policy` and
/// `next_page_token` are not.
pub fn is_sensitive_key(key: &str) -> bool {
    may_name_secret(key) && words_name_secret(key)
}

/// The rule of [`is_sensitive_key`], word by word.
fn words_name_secret(key: &str) -> bool {
    let mut words = key_words(key);
    while words.len() > 1
        && words
            .last()
            .is_some_and(|w| SECRET_FILLERS.contains(&w.as_str()))
    {
        words.pop();
    }
    let joined = words.concat();
    if NOT_SECRET_ENDINGS.iter().any(|e| joined.ends_with(e)) {
        return false;
    }
    let named = (0..words.len()).any(|i| SECRET_NAMES.contains(&words[i..].concat().as_str()));
    named
        || words
            .last()
            .is_some_and(|last| SECRET_ENDINGS.iter().any(|e| last.ends_with(e)))
}

/// Whether a key holds any secret name or ending among its letters. Each is a run of the
/// lower-cased letters of the words it must match, so a key with none of them (most keys) is
/// not split into words at all. All the names are looked for in one pass: one search per
/// name was a third of judging a result whose trace has a few dozen keys.
fn may_name_secret(key: &str) -> bool {
    static ANY_NAME: OnceLock<Regex> = OnceLock::new();
    let any_name = ANY_NAME.get_or_init(|| {
        let names: Vec<String> = SECRET_NAMES
            .iter()
            .chain(SECRET_ENDINGS)
            .map(|name| regex::escape(name))
            .collect();
        Regex::new(&names.join("|")).expect("secret names are literals")
    });
    let letters: String = key
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    any_name.is_match(&letters)
}

/// Keys whose number is a count, not a secret: token counts (`prompt_token`) and a test
/// tally's `pass`.
fn holds_counts(key: &str) -> bool {
    let words = key_words(key);
    words == ["pass"]
        || words
            .last()
            .is_some_and(|w| w.ends_with("token") || w.ends_with("tokens"))
}

fn redact_into(value: &mut Value, counts: &mut RedactionCounts) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if is_sensitive_key(key) {
                    redact_secret_value(v, holds_counts(key), counts);
                } else {
                    redact_into(v, counts);
                }
            }
            redact_keys(map, counts);
        }
        Value::Array(items) => items.iter_mut().for_each(|v| redact_into(v, counts)),
        Value::String(s) => {
            if let Some(replacement) = redact_string(s, counts) {
                *s = replacement;
            }
        }
        Value::Number(n) => {
            let digits = n.to_string();
            if is_card_number(&digits) {
                counts.add(PiiKind::Card, 1);
                *value = Value::String(PiiKind::Card.marker().to_string());
            }
        }
        Value::Bool(_) | Value::Null => {}
    }
}

/// Keys can be personal data too (a map from email to order): each is scrubbed like text; two
/// keys that scrub to the same marker stay apart as `[REDACTED:EMAIL] (2)`, so no value is lost.
fn redact_keys(map: &mut serde_json::Map<String, Value>, counts: &mut RedactionCounts) {
    let needs = map.keys().any(|k| !is_clean(k));
    if !needs {
        return;
    }
    let old = std::mem::take(map);
    for (key, v) in old {
        let clean = redact_str(&key, counts).into_owned();
        let mut unique = clean.clone();
        let mut n = 2;
        while map.contains_key(&unique) {
            unique = format!("{clean} ({n})");
            n += 1;
        }
        map.insert(unique, v);
    }
}

/// Whether redaction leaves `text` as it is (nothing to scrub).
fn is_clean(text: &str) -> bool {
    matches!(
        redact_str(text, &mut RedactionCounts::default()),
        Cow::Borrowed(_)
    )
}

/// The value of a secret-named key: its scalars are the secret; an object keeps its shape and
/// loses only its own secret leaves (a `credentials` object's `username` stays), a list is a
/// list of secrets. A number under a token-named key is a count, not a secret.
fn redact_secret_value(value: &mut Value, numbers_are_counts: bool, counts: &mut RedactionCounts) {
    match value {
        Value::Null | Value::Bool(_) => {}
        Value::String(s) if s.is_empty() || s == PiiKind::Secret.marker() => {}
        Value::Number(_) if numbers_are_counts => {}
        Value::Object(_) => redact_into(value, counts),
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| redact_secret_value(v, numbers_are_counts, counts)),
        Value::String(_) | Value::Number(_) => {
            counts.add(PiiKind::Secret, 1);
            *value = Value::String(PiiKind::Secret.marker().to_string());
        }
    }
}

/// `Some(new)` when the string changed.
fn redact_string(s: &str, counts: &mut RedactionCounts) -> Option<String> {
    let trimmed = s.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        if let Ok(mut inner @ (Value::Object(_) | Value::Array(_))) = serde_json::from_str(s) {
            let found = redact_value(&mut inner);
            if found.is_empty() {
                return None;
            }
            counts.merge(&found);
            return Some(inner.to_string());
        }
    }
    match redact_str(s, counts) {
        Cow::Borrowed(_) => None,
        Cow::Owned(out) => Some(out),
    }
}

/// What glues a number-shaped match to its surroundings, so it is not data of its own: in text,
/// identifiers' `-`, `/`, `.` too (`ORD-555-123-4567`); in a name, only letters and digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Glue {
    Text,
    Name,
}

/// Each pattern's place in [`Patterns::any`], in the order the rules run.
#[derive(Clone, Copy)]
enum Rule {
    KeyFormat,
    UrlPassword,
    Bearer,
    /// A key that may name a secret, then `:` or `=`: where the key-value scan is worth doing.
    /// Only the set uses its pattern.
    SecretKeyHint,
    NamedInProse,
    AwsSecret,
    Email,
    Iban,
    Card,
    Ssn,
    SsnLabelled,
    Phone,
}

struct Patterns {
    /// Every pattern below in one automaton: most text matches none of them, and one pass
    /// over it says so instead of ten.
    any: RegexSet,
    /// The password in a URL's user info (`postgres://app:…@db/x`).
    url_password: Regex,
    bearer: Regex,
    /// A key and its separator, in prose, `key=value` pairs and JSON inside text alike.
    key_sep: Regex,
    /// The value after a key's separator: quoted, or up to the next delimiter.
    value: Regex,
    /// A secret's name followed by a value, in prose (`my password is hunter2`).
    named_in_prose: Regex,
    /// Secrets that say what they are: provider key formats, JWTs, and PEM private key blocks
    /// (whole, or cut off before the `END` line). First, so no other rule takes a piece of one.
    key_format: Regex,
    /// A 40-character run of base64 letters: an AWS secret access key's shape.
    aws_secret: Regex,
    email: Regex,
    iban: Regex,
    card: Regex,
    ssn: Regex,
    ssn_labelled: Regex,
    phone: Regex,
}

fn patterns() -> &'static Patterns {
    static PATTERNS: OnceLock<Patterns> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        let sources = [
            r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[A-Za-z0-9+/=\s\\:,-]*?-----END [A-Z0-9 ]*PRIVATE KEY-----|-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[A-Za-z0-9+/=\s\\]*|\b(?:sk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}|[sr]k_(?:live|test)_[A-Za-z0-9]{16,}|(?:AKIA|ASIA)[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|glpat-[A-Za-z0-9_-]{20,}|hf_[A-Za-z0-9]{30,}|npm_[A-Za-z0-9]{36}|xox[abprs]-[A-Za-z0-9-]{10,}|xapp-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}|ya29\.[0-9A-Za-z_-]{20,}|SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*)",
            r"\b([A-Za-z][A-Za-z0-9+.-]*://[^\s:/?#@]*:)([^\s/?#@]+)@",
            r"(?i)\b(bearer|basic)(\s+)([A-Za-z0-9._~+/=-]{8,})",
            r#"(?i)(?:pass|pw|pwd|secret|key|auth|cookie|credential|session|token|pin|cvv|cvc|otp|jwt|bearer)[A-Za-z0-9_.-]*["']?\s*[:=]"#,
            r"(?i)\b(password|passwd|passcode|passphrase|pw|pwd|token|secret|api[ _-]?key|access[ _-]?key|secret[ _-]?key)(\s+(?:is|was)\s+|\s+)([^\s\x22',;<>()\[\]{}]{6,})",
            r"[A-Za-z0-9/+]{40}",
            r"[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}",
            r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b",
            r"\d{4}[ -]\d{6}[ -]\d{5}|\d{4}(?:[ -]\d{4}){3}\d{0,3}|\d{13,19}",
            r"\d{3}[- ]\d{2}[- ]\d{4}",
            r"(?i)\b(ssn|ss#|social security(?:\s+(?:number|no\.?))?)((?:\s+(?:is|was|number|no\.?|num)){0,2}\W{1,3})(\d{9})\b",
            r"(?:\+?1[ .-]?)?(?:(?:\(\d{3}\)|\d{3})[ .-]?\d{3}[ .-]\d{4}|(?:\(\d{3}\)[ .-]?|\d{3}[ .-])\d{7})(?:x\d{1,5}|\s?ext\.?\s?\d{1,5})?|\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}|[2-9]\d{2}[2-9]\d{6}",
        ];
        let [key_format, url_password, bearer, _secret_key_hint, named_in_prose, aws_secret, email, iban, card, ssn, ssn_labelled, phone] =
            sources.map(|p| Regex::new(p).expect("built-in redaction pattern compiles"));
        let compile = |p: &str| Regex::new(p).expect("built-in redaction pattern compiles");
        Patterns {
            any: RegexSet::new(sources).expect("built-in redaction patterns compile together"),
            url_password,
            bearer,
            key_sep: compile(r#"\b([A-Za-z][A-Za-z0-9_.-]*)(["']?\s*[:=]\s*)"#),
            value: compile(r#"^(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([^\s"'{}\[\]]+))"#),
            named_in_prose,
            key_format,
            aws_secret,
            email,
            iban,
            card,
            ssn,
            ssn_labelled,
            phone,
        }
    })
}

fn redact_str<'a>(text: &'a str, counts: &mut RedactionCounts) -> Cow<'a, str> {
    redact_str_in(text, Glue::Text, counts)
}

fn redact_str_in<'a>(text: &'a str, glue: Glue, counts: &mut RedactionCounts) -> Cow<'a, str> {
    let p = patterns();
    // Replacements only ever happen where a pattern matches the text as given (a marker never
    // completes a match), so one pass of the set says which rules to run, and text that none
    // matches comes back as it is.
    let hits = p.any.matches(text);
    if !hits.matched_any() {
        return Cow::Borrowed(text);
    }
    let hit = |rule: Rule| hits.matched(rule as usize);
    let mut out = Cow::Borrowed(text);

    if hit(Rule::KeyFormat) {
        out = replace(out, &p.key_format, |_| {
            Some(counted(PiiKind::Secret, counts))
        });
    }
    if hit(Rule::UrlPassword) {
        out = replace(out, &p.url_password, |c| {
            if c[2].starts_with("[REDACTED:") {
                return None;
            }
            counts.add(PiiKind::Secret, 1);
            Some(format!("{}{}@", &c[1], PiiKind::Secret.marker()))
        });
    }
    if hit(Rule::Bearer) {
        out = replace(out, &p.bearer, |c| {
            Some(named_value(c, PiiKind::Secret, counts))
        });
    }
    if hit(Rule::SecretKeyHint) {
        out = redact_key_values(out, counts);
    }
    if hit(Rule::NamedInProse) {
        out = replace(out, &p.named_in_prose, |c| {
            looks_like_secret(&c[3]).then(|| named_value(c, PiiKind::Secret, counts))
        });
    }
    if hit(Rule::AwsSecret) {
        out = redact_aws_secrets(out, counts);
    }
    if hit(Rule::Email) {
        out = replace(out, &p.email, |_| Some(counted(PiiKind::Email, counts)));
    }
    if hit(Rule::Iban) {
        out = replace(out, &p.iban, |c| {
            let len = iban_len(&c[0])?;
            counts.add(PiiKind::Iban, 1);
            Some(format!("{}{}", PiiKind::Iban.marker(), &c[0][len..]))
        });
    }
    if hit(Rule::Card) {
        out = replace_isolated(out, &p.card, glue, |m| {
            let digits: String = m.chars().filter(char::is_ascii_digit).collect();
            is_card_number(&digits).then(|| {
                counts.add(PiiKind::Card, 1);
                PiiKind::Card.marker().to_string()
            })
        });
    }
    if hit(Rule::Ssn) {
        out = replace_isolated(out, &p.ssn, glue, |m| {
            is_plausible_ssn(m).then(|| {
                counts.add(PiiKind::Ssn, 1);
                PiiKind::Ssn.marker().to_string()
            })
        });
    }
    if hit(Rule::SsnLabelled) {
        out = replace(out, &p.ssn_labelled, |c| {
            is_plausible_ssn(&c[3]).then(|| named_value(c, PiiKind::Ssn, counts))
        });
    }
    if hit(Rule::Phone) {
        out = replace_isolated(out, &p.phone, glue, |m| {
            let digits = m.chars().filter(char::is_ascii_digit).count();
            if m.starts_with('+') && !(8..=15).contains(&digits) {
                return None;
            }
            counts.add(PiiKind::Phone, 1);
            Some(PiiKind::Phone.marker().to_string())
        });
    }
    out
}

/// Scrubs the value of every key the key rules call a secret, wherever a key meets its value
/// in text: `pw:hunter2`, `DB_PASSWORD=…`, `X-Api-Key: …`, and JSON written inside a message
/// (`{"apiKey": "…", "credentials": {"PASSWORD": "…"}}`). A quoted value keeps its quotes;
/// `null`, `true`, `false`, a count under a token-named key and the scheme word of an
/// `Authorization` header (the credential after it is the bearer rule's) are kept.
fn redact_key_values<'a>(text: Cow<'a, str>, counts: &mut RedactionCounts) -> Cow<'a, str> {
    let p = patterns();
    let hay = text.as_ref();
    let mut edits = Vec::new();
    let mut last = 0;
    for c in p.key_sep.captures_iter(hay) {
        let (key, sep) = (
            &c[1],
            c.get(2).expect("the separator group always takes part"),
        );
        let inside_a_value = c.get(0).is_some_and(|m| m.start() < last);
        if inside_a_value || !is_sensitive_key(key) {
            continue;
        }
        let Some(v) = p.value.captures(&hay[sep.end()..]) else {
            continue;
        };
        let quoted = v.get(1).or(v.get(2));
        let whole_len = match (quoted, v.get(3)) {
            (None, Some(bare)) => unquoted_len(bare.as_str()),
            _ => v.get(0).expect("a match has its whole").len(),
        };
        let inner = match quoted {
            Some(q) => q.as_str(),
            None => &v[0][..whole_len],
        };
        let keep = inner.is_empty()
            || inner.starts_with("[REDACTED:")
            || (quoted.is_none() && matches!(inner, "null" | "true" | "false"))
            || (holds_counts(key) && inner.parse::<f64>().is_ok())
            || inner.eq_ignore_ascii_case("bearer")
            || inner.eq_ignore_ascii_case("basic");
        if keep {
            continue;
        }
        let marker = match (v.get(1), v.get(2)) {
            (Some(_), _) => format!("\"{}\"", PiiKind::Secret.marker()),
            (_, Some(_)) => format!("'{}'", PiiKind::Secret.marker()),
            _ => PiiKind::Secret.marker().to_string(),
        };
        counts.add(PiiKind::Secret, 1);
        last = sep.end() + whole_len;
        edits.push((sep.end()..last, marker));
    }
    splice(text, edits)
}

/// How much of an unquoted run after a secret's key is its value: all of it, up to a `,`, `;` or
/// `&` that ends the run or starts the next `key=` (`?token=…&user=bob`, `session=…; path=/`).
/// A password may hold those marks (`Tr0ub4dor&3`), so a mark followed by anything else is kept
/// inside the value rather than leaving the rest of the password behind.
fn unquoted_len(run: &str) -> usize {
    let next_key = |rest: &str| {
        let name = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
            .unwrap_or(rest.len());
        name > 0
            && rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && rest[name..].starts_with('=')
    };
    run.char_indices()
        .find(|&(i, c)| {
            matches!(c, ',' | ';' | '&') && {
                let rest = &run[i + 1..];
                rest.is_empty() || next_key(rest)
            }
        })
        .map_or(run.len(), |(i, _)| i)
}

/// Whether a word after a secret's name in prose is the secret: six characters or more, and a
/// digit among two kinds of character, or three kinds (lower, upper, digit, symbol), as
/// passwords must be. `password reset`, `token expired` and `secret ingredient` are prose, and
/// so is a figure (`token $12.50`, `pin 2024-01-15`, `key 12:30:00`): digits with the marks that
/// write amounts, dates and times are a value the sentence talks about, not a password.
fn looks_like_secret(word: &str) -> bool {
    if word.chars().count() < 6 || word.starts_with("[REDACTED:") || reads_as_figure(word) {
        return false;
    }
    let lower = word.chars().any(char::is_lowercase);
    let upper = word.chars().any(char::is_uppercase);
    let digit = word.chars().any(|c| c.is_ascii_digit());
    let symbol = word.chars().any(|c| !c.is_alphanumeric());
    let kinds = [lower, upper, digit, symbol].iter().filter(|&&k| k).count();
    (digit && kinds >= 2) || kinds >= 3
}

/// Whether a word is a figure: an optional currency sign, then digits separated by the marks
/// of amounts, dates and times (`$1,299.00`, `2024-01-15`, `12:30`, `15/01/2024`).
fn reads_as_figure(word: &str) -> bool {
    let digits = word.trim_start_matches(['$', '€', '£', '¥', '-', '+']);
    digits.starts_with(|c: char| c.is_ascii_digit())
        && digits.ends_with(|c: char| c.is_ascii_digit())
        && digits
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | ',' | '-' | '/' | ':'))
}

/// AWS secret access keys: 40 base64 characters standing alone, with upper- and lower-case
/// letters and a digit (a SHA-1 in hex has no capitals), within 80 characters after `aws` or
/// `secret`. Alone, the shape is too common (base64 data) to call a secret.
fn redact_aws_secrets<'a>(text: Cow<'a, str>, counts: &mut RedactionCounts) -> Cow<'a, str> {
    let hay = text.as_ref();
    let base64 = |c: char| c.is_ascii_alphanumeric() || matches!(c, '/' | '+' | '=' | '_' | '-');
    let mut edits = Vec::new();
    for m in patterns().aws_secret.find_iter(hay) {
        let candidate = m.as_str();
        let alone = !hay[..m.start()].chars().next_back().is_some_and(base64)
            && !hay[m.end()..].chars().next().is_some_and(base64);
        let mixed = candidate.chars().any(|c| c.is_ascii_uppercase())
            && candidate.chars().any(|c| c.is_ascii_lowercase())
            && candidate.chars().any(|c| c.is_ascii_digit());
        if !(alone && mixed) {
            continue;
        }
        let mut from = m.start().saturating_sub(80);
        while !hay.is_char_boundary(from) {
            from -= 1;
        }
        let before = hay[from..m.start()].to_ascii_lowercase();
        if !(before.contains("aws") || before.contains("secret")) {
            continue;
        }
        counts.add(PiiKind::Secret, 1);
        edits.push((m.range(), PiiKind::Secret.marker().to_string()));
    }
    splice(text, edits)
}

/// `kind`'s marker, the value it replaces counted.
fn counted(kind: PiiKind, counts: &mut RedactionCounts) -> String {
    counts.add(kind, 1);
    kind.marker().to_string()
}

/// A match of a name (group 1), its separator (group 2) and a value: the name and separator kept,
/// the value replaced by `kind`'s marker and counted.
fn named_value(c: &Captures, kind: PiiKind, counts: &mut RedactionCounts) -> String {
    format!("{}{}{}", &c[1], &c[2], counted(kind, counts))
}

/// Replaces each match for which `f` returns `Some`, leaving the rest as they are.
fn replace<'a>(
    text: Cow<'a, str>,
    re: &Regex,
    mut f: impl FnMut(&Captures) -> Option<String>,
) -> Cow<'a, str> {
    if !re.is_match(&text) {
        return text;
    }
    let mut changed = false;
    let out = re
        .replace_all(&text, |c: &Captures| match f(c) {
            Some(s) => {
                changed = true;
                s
            }
            None => c[0].to_string(),
        })
        .into_owned();
    if changed {
        Cow::Owned(out)
    } else {
        text
    }
}

/// Like [`replace`], but only for matches that stand alone (see the module docs).
fn replace_isolated<'a>(
    text: Cow<'a, str>,
    re: &Regex,
    glue: Glue,
    mut f: impl FnMut(&str) -> Option<String>,
) -> Cow<'a, str> {
    let hay = text.as_ref();
    let edits = re
        .find_iter(hay)
        .filter(|m| stands_alone(hay, m.start(), m.end(), glue))
        .filter_map(|m| Some((m.range(), f(m.as_str())?)))
        .collect();
    splice(text, edits)
}

/// `text` with each range replaced, the ranges in order and apart; `text` itself when there
/// are none.
fn splice<'a>(text: Cow<'a, str>, edits: Vec<(std::ops::Range<usize>, String)>) -> Cow<'a, str> {
    if edits.is_empty() {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (range, replacement) in edits {
        out.push_str(&text[last..range.start]);
        out.push_str(&replacement);
        last = range.end;
    }
    out.push_str(&text[last..]);
    Cow::Owned(out)
}

fn stands_alone(hay: &str, start: usize, end: usize, glue: Glue) -> bool {
    let before = hay[..start].chars().next_back();
    let after = hay[end..].chars().next();
    let after2 = hay[end..].chars().nth(1);
    if glue == Glue::Name {
        return !before.is_some_and(char::is_alphanumeric)
            && !after.is_some_and(char::is_alphanumeric);
    }
    let glued_before = match before {
        Some(c) => c.is_alphanumeric() || matches!(c, '_' | '-' | '/' | '.' | '+' | '$' | '#'),
        None => false,
    };
    let glued_after = match after {
        Some(c) if c.is_alphanumeric() || c == '_' => true,
        Some('-' | '/' | '.' | ',') => after2.is_some_and(|c| c.is_ascii_digit()),
        _ => false,
    };
    !glued_before && !glued_after
}

fn is_plausible_ssn(text: &str) -> bool {
    let digits: Vec<u8> = text
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect();
    digits.len() == 9
        && digits[0..3] != [0, 0, 0]
        && digits[3..5] != [0, 0]
        && digits[5..9] != [0, 0, 0, 0]
}

/// An IBAN: a country's code, the length its registry entry gives, and check digits that make
/// the whole number 1 modulo 97 (ISO 13616). The length and the checksum together keep order
/// numbers and other upper-case codes (`US12ABCD5678`) out.
fn is_iban(text: &str) -> bool {
    let compact: String = text.chars().filter(|c| *c != ' ').collect();
    let Some(&(_, len)) = IBAN_LENGTHS
        .iter()
        .find(|(country, _)| compact.starts_with(country))
    else {
        return false;
    };
    if compact.len() != len {
        return false;
    }
    let (head, tail) = compact.split_at(4);
    let mut rest = 0u32;
    for c in tail.chars().chain(head.chars()) {
        let Some(n) = c.to_digit(36) else {
            return false;
        };
        let width = if n < 10 { 10 } else { 100 };
        rest = (rest * width + n) % 97;
    }
    rest == 1
}

/// How long the IBAN that starts `text` is: all of it, or up to one of its spaces, since the
/// pattern may have taken a short word after the number (`BE68 5390 0754 7034 12 items`).
fn iban_len(text: &str) -> Option<usize> {
    let mut end = text.len();
    loop {
        if is_iban(&text[..end]) {
            return Some(end);
        }
        end = text[..end].rfind(' ')?;
    }
}

/// Each IBAN country and the length of its numbers, from the SWIFT IBAN registry.
#[rustfmt::skip]
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24), ("AE", 23), ("AL", 28), ("AT", 20), ("AZ", 28), ("BA", 20), ("BE", 16),
    ("BG", 22), ("BH", 22), ("BR", 29), ("BY", 28), ("CH", 21), ("CR", 22), ("CY", 28),
    ("CZ", 24), ("DE", 22), ("DK", 18), ("DO", 28), ("EE", 20), ("EG", 29), ("ES", 24),
    ("FI", 18), ("FO", 18), ("FR", 27), ("GB", 22), ("GE", 22), ("GI", 23), ("GL", 18),
    ("GR", 27), ("GT", 28), ("HR", 21), ("HU", 28), ("IE", 22), ("IL", 23), ("IQ", 23),
    ("IS", 26), ("IT", 27), ("JO", 30), ("KW", 30), ("KZ", 20), ("LB", 28), ("LC", 32),
    ("LI", 21), ("LT", 20), ("LU", 20), ("LV", 21), ("MC", 27), ("MD", 24), ("ME", 22),
    ("MK", 19), ("MR", 27), ("MT", 31), ("MU", 30), ("NL", 18), ("NO", 15), ("PK", 24),
    ("PL", 28), ("PS", 29), ("PT", 25), ("QA", 29), ("RO", 24), ("RS", 22), ("SA", 24),
    ("SC", 31), ("SE", 24), ("SI", 19), ("SK", 24), ("SM", 27), ("ST", 25), ("SV", 28),
    ("TL", 23), ("TN", 24), ("TR", 26), ("UA", 29), ("VA", 22), ("VG", 24), ("XK", 20),
];

/// A card number: 13–19 digits, a card network's prefix, and a valid Luhn checksum.
pub fn is_card_number(digits: &str) -> bool {
    let len = digits.len();
    if !(13..=19).contains(&len) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let prefix = |n: usize| digits[..n].parse::<u32>().unwrap_or(0);
    let network = match digits.as_bytes()[0] {
        b'4' => matches!(len, 13 | 16 | 19),
        b'5' => (51..=55).contains(&prefix(2)) && len == 16,
        b'2' => (2221..=2720).contains(&prefix(4)) && len == 16,
        b'3' => {
            (matches!(prefix(2), 34 | 37) && len == 15)
                || (matches!(prefix(2), 36 | 38 | 39) && (14..=19).contains(&len))
                || ((300..=305).contains(&prefix(3)) && (14..=19).contains(&len))
                || ((3528..=3589).contains(&prefix(4)) && (16..=19).contains(&len))
        }
        b'6' => {
            (prefix(4) == 6011
                || prefix(2) == 65
                || (644..=649).contains(&prefix(3))
                || prefix(2) == 62)
                && (16..=19).contains(&len)
        }
        _ => false,
    };
    network && luhn(digits)
}

fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let dd = d * 2;
                if dd > 9 {
                    dd - 9
                } else {
                    dd
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn a_recording_leaves_scrubbed_and_without_request_digests() {
        let mut recording = json!({"version": 1, "exchanges": [{
            "path": "/v1/chat/completions",
            "request": {"messages": [{"role": "user", "content": "Mail ann.lee@example.com"}]},
            "request_sha256": "ab".repeat(32),
            "status": 200,
            "body": "{\"content\": \"Sent to ann.lee@example.com\"}"
        }]});
        let counts = scrub_recording(&mut recording);
        assert_eq!(counts.get(PiiKind::Email), 2);
        let text = recording.to_string();
        assert!(
            !text.contains("ann.lee@example.com") && !text.contains("request_sha256"),
            "{text}"
        );
    }

    #[derive(Deserialize)]
    struct Vector {
        name: String,
        input: Value,
        expected: Value,
        #[serde(default)]
        counts: BTreeMap<PiiKind, u64>,
        /// How the input is read: as a name ([`redact_name`]) rather than a value.
        #[serde(default, rename = "as")]
        read_as: Option<ReadAs>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum ReadAs {
        Name,
    }

    #[test]
    fn shared_test_vectors() {
        let vectors: Vec<Vector> =
            serde_json::from_str(include_str!("../../tests/pii_vectors.json")).unwrap();
        assert!(vectors.len() >= 30, "the shared vectors cover every rule");
        let redact = |read_as: &Option<ReadAs>, mut value: Value| {
            let counts = match (read_as, &value) {
                (Some(ReadAs::Name), Value::String(name)) => {
                    let (clean, counts) = redact_name(name);
                    value = Value::String(clean);
                    counts
                }
                (Some(ReadAs::Name), _) => panic!("a name is a string: {value}"),
                (None, _) => redact_value(&mut value),
            };
            (value, counts)
        };
        for v in vectors {
            let (value, counts) = redact(&v.read_as, v.input.clone());
            assert_eq!(value, v.expected, "vector `{}`", v.name);
            assert_eq!(counts.0, v.counts, "counts of vector `{}`", v.name);
            let (twice, again) = redact(&v.read_as, value.clone());
            assert_eq!(twice, value, "vector `{}` redacted twice", v.name);
            assert!(
                again.is_empty(),
                "vector `{}` redacted twice: {again:?}",
                v.name
            );
        }
    }

    #[test]
    fn luhn_and_network_prefix_are_both_required() {
        assert!(is_card_number("4111111111111111"));
        assert!(is_card_number("378282246310005"));
        assert!(!is_card_number("4111111111111112"), "bad checksum");
        assert!(
            !is_card_number("1234567812345670"),
            "valid Luhn but no network starts with 1"
        );
    }

    #[test]
    fn sensitive_keys_match_across_naming_styles() {
        for k in [
            "password",
            "apiKey",
            "API-KEY",
            "x_api_key",
            "accessToken",
            "refresh-token",
            "Authorization",
            "set-cookie",
            "private_key",
            "clientSecret",
            "DB_PASSWORD",
            "APIKey",
            "dbpassword",
            "password_confirmation",
            "credentials",
        ] {
            assert!(is_sensitive_key(k), "{k}");
        }
        for k in [
            "max_tokens",
            "input_tokens",
            "token_count",
            "author",
            "order_id",
            "keyboard",
            "passenger",
            "secretary",
            "cookie_policy",
            "next_page_token",
            "NextToken",
            "api_key_id",
        ] {
            assert!(!is_sensitive_key(k), "{k}");
        }
    }

    proptest! {
        #[test]
        fn only_keys_holding_a_secret_name_are_split_into_words(
            words in prop::collection::vec(
                prop::sample::select(vec![
                    "client", "Secret", "API", "key", "x", "Auth", "token", "next", "page",
                    "DB", "password", "value", "cookie", "policy", "max", "tokens", "pin", "id",
                ]),
                1..5,
            ),
            sep in prop::sample::select(vec!["_", "-", "", " ", "."]),
        ) {
            let key = words.join(sep);
            prop_assert!(!words_name_secret(&key) || may_name_secret(&key), "{key}");
        }
    }

    #[test]
    fn pii_in_text_counts_markers_left_by_the_tracer() {
        let c = pii_in_text("your SSN is [REDACTED:SSN], mail bob@example.com");
        assert_eq!(c.get(PiiKind::Ssn), 1);
        assert_eq!(c.get(PiiKind::Email), 1);
    }

    fn word() -> impl Strategy<Value = String> {
        "[a-zA-Z]{1,8}|[0-9]{1,2}|\\$[0-9]{1,3}\\.[0-9]{2}|2024-0[1-9]-1[0-9]"
    }

    fn planted() -> impl Strategy<Value = (String, &'static str)> {
        prop_oneof![
            (100u32..899, 1u32..99, 1u32..9999)
                .prop_map(|(a, g, s)| (format!("{a:03}-{g:02}-{s:04}"), "ssn")),
            "[a-z]{1,10}(\\.[a-z]{1,5})?@[a-z]{2,8}\\.(com|org|io|co\\.uk)"
                .prop_map(|e| (e, "email")),
            (0u64..10u64.pow(14)).prop_map(|n| (luhn_complete(&format!("4{n:014}")), "card")),
            (0u64..10u64.pow(13)).prop_map(|n| {
                let c = luhn_complete(&format!("51{n:013}"));
                (
                    format!("{} {} {} {}", &c[0..4], &c[4..8], &c[8..12], &c[12..16]),
                    "card",
                )
            }),
            (0u64..10u64.pow(18), any::<bool>()).prop_map(|(n, space)| {
                let iban = iban_of("DE", &format!("{n:018}"));
                (if space { spaced(&iban) } else { iban }, "iban")
            }),
            (0u64..10u64.pow(12))
                .prop_map(|n| (spaced(&iban_of("BE", &format!("{n:012}"))), "iban")),
            (0u64..10u64.pow(14)).prop_map(|n| (iban_of("GB", &format!("WEST{n:014}")), "iban")),
        ]
    }

    /// A valid IBAN of `country` with the bank number `bban`, its check digits computed.
    fn iban_of(country: &str, bban: &str) -> String {
        (0..100)
            .map(|d| format!("{country}{d:02}{bban}"))
            .find(|c| is_iban(c))
            .unwrap()
    }

    /// An IBAN as printed: a space after every four characters.
    fn spaced(iban: &str) -> String {
        let chars: Vec<char> = iban.chars().collect();
        let groups: Vec<String> = chars.chunks(4).map(|g| g.iter().collect()).collect();
        groups.join(" ")
    }

    fn luhn_complete(partial: &str) -> String {
        (0..10)
            .map(|d| format!("{partial}{d}"))
            .find(|c| luhn(c))
            .unwrap()
    }

    proptest! {
        #[test]
        fn planted_pii_never_survives(
            before in prop::collection::vec(word(), 0..6),
            after in prop::collection::vec(word(), 0..6),
            (secret, kind) in planted(),
            nested in any::<bool>(),
        ) {
            let text = format!("{} {} {}", before.join(" "), secret, after.join(" "));
            let mut value = if nested {
                json!({"args": serde_json::to_string(&json!({"note": text})).unwrap()})
            } else {
                json!([text])
            };
            let counts = redact_value(&mut value);
            let out = value.to_string();
            let bare: String = secret.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
            prop_assert!(!out.contains(&secret), "{} survived in {}", secret, out);
            prop_assert!(!out.replace([' ', '-'], "").contains(&bare) || kind == "email");
            prop_assert!(counts.total() >= 1);
        }

        #[test]
        fn redacting_twice_equals_redacting_once(
            words in prop::collection::vec(word(), 0..8),
            (secret, _) in planted(),
            key in "(password|note|apiKey|order_id)",
        ) {
            let mut once = json!({key: format!("{} {}", words.join(" "), secret), "n": 4111111111111111u64});
            redact_value(&mut once);
            let mut twice = once.clone();
            let second = redact_value(&mut twice);
            prop_assert_eq!(&once, &twice);
            prop_assert!(second.is_empty());
        }

        #[test]
        fn text_without_pii_is_untouched(words in prop::collection::vec(word(), 0..12)) {
            let text = words.join(" ");
            let (out, counts) = redact_text(&text);
            prop_assert_eq!(out, text);
            prop_assert!(counts.is_empty());
        }
    }
}
