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
//! scenarios: scenarios.yaml     # optional: written scenarios, relative to this file
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::Deserialize;
use shared::api::{AgentInput, ScenarioInput};
use shared::ToolSpec;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentFile {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub tools: Vec<ToolSpec>,
    #[serde(default)]
    pub policies: Vec<String>,
    pub run: RunSpec,
    #[serde(default)]
    pub scenarios: Option<PathBuf>,
    /// The directory the file is in; commands run there.
    #[serde(skip)]
    pub dir: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    #[serde(default)]
    pub command: Option<String>,
    #[serde(default)]
    pub python: Option<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub timeout_secs: Option<f64>,
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
    Wrapped { scenarios: Vec<ScenarioInput> },
    List(Vec<ScenarioInput>),
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
        if file.name.trim().is_empty() {
            bail!("{}: `name` must not be empty", path.display());
        }
        file.launch()
            .with_context(|| format!("in {}", path.display()))?;
        Ok(file)
    }

    pub fn launch(&self) -> anyhow::Result<Launch> {
        match (&self.run.command, &self.run.python) {
            (Some(c), None) if !c.trim().is_empty() => Ok(Launch::Command(c.clone())),
            (None, Some(p)) if p.contains(':') => Ok(Launch::Python(p.clone())),
            (None, Some(p)) => bail!("`run.python` must be module:function, got {p:?}"),
            (Some(_), Some(_)) => bail!("give `run.command` or `run.python`, not both"),
            _ => bail!("`run` needs `command` (a shell command) or `python` (module:function)"),
        }
    }

    pub fn agent_input(&self) -> AgentInput {
        AgentInput {
            name: self.name.clone(),
            description: self.description.clone(),
            tools: self.tools.clone(),
            policies: self.policies.clone(),
        }
    }

    pub fn tool_names(&self) -> Vec<String> {
        self.tools.iter().map(|t| t.name.clone()).collect()
    }

    /// The written scenarios the agent file points to, if any.
    pub fn written_scenarios(&self) -> anyhow::Result<Vec<ScenarioInput>> {
        match &self.scenarios {
            Some(rel) => load_scenarios(&self.dir.join(rel)),
            None => Ok(Vec::new()),
        }
    }
}

/// A scenario file: a list of scenarios, or `{scenarios: [...]}`, in YAML or JSON.
pub fn load_scenarios(path: &Path) -> anyhow::Result<Vec<ScenarioInput>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the scenario file {}", path.display()))?;
    let parsed: ScenarioFile = serde_yaml::from_str(&text)
        .with_context(|| format!("{} is not a valid scenario file", path.display()))?;
    Ok(match parsed {
        ScenarioFile::Wrapped { scenarios } | ScenarioFile::List(scenarios) => scenarios,
    })
}
