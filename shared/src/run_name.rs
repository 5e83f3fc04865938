//! How people name a run: the dashboard shows eight characters of an id and the label a run was
//! given, so every surface that takes a run (CLI, REST, MCP, dashboard links) takes those too —
//! a full id, a unique id prefix, a label, or `latest`. Parsing lives here so every surface reads
//! a name the same way; the server looks names up (`Service::find_run`).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{ProctorError, RunStatus};

/// The fewest characters of an id that name a run: with 6 hex digits two runs share a prefix
/// about once in 16 million pairs, so a prefix that is ambiguous is rare and said so.
pub const MIN_ID_PREFIX: usize = 6;

/// The word that names the newest run.
pub const LATEST: &str = "latest";

/// A run's name as given, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunName {
    /// A full id: the run, whatever the scope.
    Id(Uuid),
    /// The newest run in the scope.
    Latest,
    /// The newest run in the scope with this label; failing that, the run whose id starts with
    /// this text, when it could be a prefix ([`RunName::id_prefix`]).
    Text(String),
}

impl RunName {
    /// Reads a run's name; an empty one is refused.
    pub fn parse(text: &str) -> Result<RunName, ProctorError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(ProctorError::malformed(format!(
                "a run's name is empty: {}",
                Self::ACCEPTED
            )));
        }
        if let Ok(id) = Uuid::parse_str(text) {
            return Ok(RunName::Id(id));
        }
        if text.eq_ignore_ascii_case(LATEST) {
            return Ok(RunName::Latest);
        }
        Ok(RunName::Text(text.to_string()))
    }

    /// What a run may be named by, for messages.
    pub const ACCEPTED: &'static str = "name a run by its full id, a unique id prefix of at \
        least 6 characters (as the dashboard shows), its label, or `latest`";

    /// The id prefix this text stands for, hyphenated as ids are written (so `eba5f3f9c1` finds
    /// `eba5f3f9-c1…`), when it is one: hex digits (and hyphens where an id has them).
    pub fn id_prefix(text: &str) -> Option<String> {
        let digits: String = text.chars().filter(|c| *c != '-').collect();
        if digits.is_empty() || digits.len() > 32 || !digits.chars().all(|c| c.is_ascii_hexdigit())
        {
            return None;
        }
        let mut prefix = String::with_capacity(36);
        for (i, c) in digits.chars().enumerate() {
            if matches!(i, 8 | 12 | 16 | 20) {
                prefix.push('-');
            }
            prefix.push(c.to_ascii_lowercase());
        }
        // Hyphens the user wrote must sit where an id has them.
        let written = text.to_ascii_lowercase();
        let consistent =
            written.chars().zip(prefix.chars()).all(|(a, b)| a == b) || !written.contains('-');
        consistent.then_some(prefix)
    }
}

impl std::fmt::Display for RunName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunName::Id(id) => write!(f, "{id}"),
            RunName::Latest => f.write_str(LATEST),
            RunName::Text(text) => f.write_str(text),
        }
    }
}

/// Where a run's name is looked up: every run, or one agent's, or only runs of one status
/// (`--baseline latest` means the agent's latest *completed* run). A full id names its run
/// whatever the scope says, except that it must belong to the scope's agent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(default)]
pub struct RunScope {
    /// Only this agent's runs (its id or name).
    pub agent: Option<String>,
    /// Only runs with this status.
    pub status: Option<RunStatus>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_as_ids_latest_or_text() {
        let id = Uuid::new_v4();
        assert_eq!(RunName::parse(&id.to_string()).unwrap(), RunName::Id(id));
        assert_eq!(RunName::parse(" Latest ").unwrap(), RunName::Latest);
        assert_eq!(
            RunName::parse("eba5f3f9").unwrap(),
            RunName::Text("eba5f3f9".into())
        );
        assert!(RunName::parse("  ").is_err());
    }

    #[test]
    fn prefixes_are_hyphenated_where_ids_are() {
        assert_eq!(
            RunName::id_prefix("EBA5F3F9C1").as_deref(),
            Some("eba5f3f9-c1")
        );
        assert_eq!(
            RunName::id_prefix("eba5f3f9-c1").as_deref(),
            Some("eba5f3f9-c1")
        );
        assert_eq!(RunName::id_prefix("eba5-f3f9"), None);
        assert_eq!(RunName::id_prefix("baseline"), None);
        assert_eq!(RunName::id_prefix(""), None);
    }
}
