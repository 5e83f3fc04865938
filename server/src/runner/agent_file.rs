//! The agent file: what an agent is (name, tools, policies) and how to run it, in YAML.
//!
//! ```yaml
//! name: support-agent
//! description: Answers Acme Shop customers
//! policies: ["Never refund more than $500 without escalation"]
//! tools:
//!   - name: lookup_order
//!     description: Look up an order's status, items and total
//!     parameters: {type: object, properties: {order_id: {type: string}}, required: [order_id]}
//! run:
//!   python: agent:answer        # fast path: module:function, imported once
//!   # command: python agent.py  # or: one process per case, message on stdin, answer on stdout
//!   env: {OPENAI_MODEL: gpt-4o-mini}
//!   timeout_secs: 60
//!   reset: agent:reset_world    # optional: sets the world up before each case
//!   state: agent:world          # optional: the world as JSON, before and after each case
//!   # trace: otlp               # `command` agents: auto (default), otlp or tracer
//! scenarios: scenarios.yaml     # optional: written scenarios, relative to this file
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::Deserialize;
use shared::{AgentSpec, ScenarioSpec};

use super::spans::TraceSource;

/// An agent file: the agent as the server should know it, how to start it, and where its
/// written scenarios are.
#[derive(Debug, Clone, Deserialize)]
pub struct AgentFile {
    /// `name`, `description`, `tools`, `policies`: registered with the server as they are.
    #[serde(flatten)]
    pub spec: AgentSpec,
    pub run: Launcher,
    #[serde(default)]
    pub scenarios: Option<PathBuf>,
    /// Keys none of the above knows. `deny_unknown_fields` cannot be combined with `flatten`, so
    /// they are collected here and refused by [`AgentFile::load`]: a misspelt key must not be
    /// silently ignored.
    #[serde(flatten)]
    unknown: BTreeMap<String, serde_yaml::Value>,
    /// The directory the file is in; commands run there.
    #[serde(skip)]
    pub dir: PathBuf,
}

/// The `run:` section: how one case of the agent is started.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Launcher {
    #[serde(default)]
    pub command: Option<String>,
    #[serde(default)]
    pub python: Option<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub timeout_secs: Option<f64>,
    /// `python` mode: the function may be called from several threads of one process at once
    /// (it keeps no per-case state in globals), so concurrent cases share one worker. Off by
    /// default: each concurrent case of a plain function gets a worker process of its own.
    /// (`async def` agents always share one, as asyncio tasks.)
    #[serde(default)]
    pub thread_safe: bool,
    /// Sets the world up before every case (seeds a database, rewrites a JSON store): a
    /// `module:function` called in the agent's process in `python` mode, a shell command in
    /// `command` mode.
    #[serde(default)]
    pub reset: Option<String>,
    /// Returns the world as JSON, before and after every case, for `expected_state` and
    /// `unchanged`: a `module:function` returning it, or a command printing it.
    #[serde(default)]
    pub state: Option<String>,
    /// Where a `command` agent's trace comes from: `auto`, `otlp` or `tracer` (see
    /// [`super::spans`]).
    #[serde(default)]
    pub trace: TraceSource,
}

impl Launcher {
    /// Whether cases touch a shared world through hooks, so they must run one at a time.
    pub fn has_hooks(&self) -> bool {
        self.reset.is_some() || self.state.is_some()
    }
}

/// How the agent is started.
#[derive(Debug, Clone, PartialEq)]
pub enum Launch {
    Command(String),
    Python(String),
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ScenarioFile {
    Wrapped { scenarios: Vec<ScenarioSpec> },
    List(Vec<ScenarioSpec>),
}

impl AgentFile {
    pub fn load(path: &Path) -> anyhow::Result<AgentFile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the agent file {}", path.display()))?;
        let mut file: AgentFile = serde_yaml::from_str(&text)
            .with_context(|| format!("{} is not a valid agent file", path.display()))?;
        file.dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        if file.dir.as_os_str().is_empty() {
            file.dir = PathBuf::from(".");
        }
        if let Some(key) = file.unknown.keys().next() {
            bail!(
                "{}: unknown field `{key}`; an agent file has `name`, `description`, `tools`, \
                 `policies`, `run` and `scenarios`",
                path.display()
            );
        }
        if file.spec.name.trim().is_empty() {
            bail!("{}: `name` must not be empty", path.display());
        }
        file.launch()
            .with_context(|| format!("in {}", path.display()))?;
        Ok(file)
    }

    pub fn launch(&self) -> anyhow::Result<Launch> {
        let hooks = [("reset", &self.run.reset), ("state", &self.run.state)];
        for (name, hook) in hooks {
            match (hook, &self.run.python) {
                (Some(h), _) if h.trim().is_empty() => bail!("`run.{name}` is empty"),
                (Some(h), Some(_)) if !h.contains(':') => {
                    bail!("`run.{name}` must be module:function in `python` mode, got {h:?}")
                }
                _ => {}
            }
        }
        if self.run.trace == TraceSource::Otlp && self.run.python.is_some() {
            bail!(
                "`run.trace: otlp` needs `run.command`: a `python` agent's worker process serves many \
                 cases, so its spans cannot say which case they belong to (the tracer traces it)"
            );
        }
        if self.run.thread_safe && self.run.python.is_none() {
            bail!(
                "`run.thread_safe` applies to `run.python` agents; a `run.command` agent runs a \
                 process per case, so its cases never share one"
            );
        }
        match (&self.run.command, &self.run.python) {
            (Some(c), None) if !c.trim().is_empty() => Ok(Launch::Command(c.clone())),
            (None, Some(p)) if p.contains(':') => Ok(Launch::Python(p.clone())),
            (None, Some(p)) => bail!("`run.python` must be module:function, got {p:?}"),
            (Some(_), Some(_)) => bail!("give `run.command` or `run.python`, not both"),
            _ => bail!("`run` needs `command` (a shell command) or `python` (module:function)"),
        }
    }

    /// The written scenarios the agent file points to, if any.
    pub fn written_scenarios(&self) -> anyhow::Result<Vec<ScenarioSpec>> {
        match &self.scenarios {
            Some(rel) => load_scenarios(&self.dir.join(rel)),
            None => Ok(Vec::new()),
        }
    }
}

/// A scenario file: a list of scenarios, or `{scenarios: [...]}`, in YAML or JSON.
pub fn load_scenarios(path: &Path) -> anyhow::Result<Vec<ScenarioSpec>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the scenario file {}", path.display()))?;
    let parsed: ScenarioFile = serde_yaml::from_str(&text)
        .with_context(|| format!("{} is not a valid scenario file", path.display()))?;
    Ok(match parsed {
        ScenarioFile::Wrapped { scenarios } | ScenarioFile::List(scenarios) => scenarios,
    })
}

#[cfg(test)]
mod tests {
    use super::AgentFile;

    fn load(yaml: &str) -> anyhow::Result<AgentFile> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.yaml");
        std::fs::write(&path, yaml).unwrap();
        AgentFile::load(&path)
    }

    #[test]
    fn the_agent_part_of_the_file_is_what_the_server_gets() {
        let file = load(
            "name: bot\npolicies: [be kind]\ntools: [{name: look}]\nrun: {python: 'agent:answer'}\n",
        )
        .unwrap();
        assert_eq!(file.spec.name, "bot");
        assert_eq!(file.spec.tool_names(), ["look"]);
        assert_eq!(file.spec.policies, ["be kind"]);
    }

    #[test]
    fn hooks_take_the_form_of_the_run_mode() {
        let err = load("name: bot\nrun: {python: 'agent:answer', state: 'python dump.py'}\n")
            .unwrap_err();
        assert!(
            format!("{err:#}").contains("`run.state` must be module:function"),
            "{err:#}"
        );
        let file = load("name: bot\nrun: {command: 'python a.py', reset: 'python a.py --reset'}\n")
            .unwrap();
        assert!(file.run.has_hooks());
        let err = load("name: bot\nrun: {command: 'python a.py', state: ' '}\n").unwrap_err();
        assert!(
            format!("{err:#}").contains("`run.state` is empty"),
            "{err:#}"
        );
    }

    #[test]
    fn a_misspelt_key_is_refused_not_ignored() {
        let err = load("name: bot\npolicy: [be kind]\nrun: {python: 'agent:answer'}\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `policy`"), "{err}");
        let err = load("name: bot\nrun: {python: 'agent:answer', timeout: 3}\n").unwrap_err();
        assert!(
            format!("{err:#}").contains("unknown field `timeout`"),
            "{err:#}"
        );
    }
}
