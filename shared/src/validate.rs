//! The rules input must meet before anything is stored or judged: agents, scenarios, runs and
//! synced results. Pure, so the service applies them whichever surface the input came through
//! (REST, MCP, a server function, the in-process worker) and the runner can apply them offline.

use std::collections::HashSet;

use crate::api::{ResultInput, RunInput, ToolCallInput};
use crate::error::ProctorError;
use crate::eval::checks::validate_regex;
use crate::eval::review::ReviewInput;
use crate::model::{
    AgentSpec, ArgMatcher, Budgets, ConversationEnd, Expectations, Scenario, ScenarioSpec,
    SimulatedUser, ToolCall, Trace,
};
use crate::redact::{pii_in_name, scrub_name, RedactionCounts};

/// Tool calls per result above which a result is refused; a real case never comes near it, and
/// the bound keeps one malformed client from making evaluation quadratic in a huge trace.
pub const MAX_TOOL_CALLS_PER_RESULT: usize = 10_000;

/// The most attempts per scenario a run may ask for.
pub const MAX_REPEATS: u32 = 100;

/// The longest name, key, tag, category or label, in characters: identifiers people read in
/// lists and URLs, not documents.
pub const MAX_NAME: usize = 200;
/// The longest free text kept beside a name: a description, a policy, a title, a metadata value.
pub const MAX_TEXT: usize = 10_000;
/// The most entries in one list of names (tools, policies, tags, metadata).
pub const MAX_ENTRIES: usize = 500;

/// The longest duration taken, in milliseconds: a week. No test case runs longer, and a
/// value past it (`1e300`) would make every latency figure of its run meaningless.
pub const MAX_DURATION_MS: f64 = 7.0 * 24.0 * 3600.0 * 1000.0;
/// The most tokens one LLM call may count: far past any model's context, short of overflowing
/// a run's sums.
pub const MAX_TOKENS: u64 = 1_000_000_000;
/// The largest cost budget taken, in US dollars.
pub const MAX_COST_USD: f64 = 1_000_000.0;

/// A duration `what`, in milliseconds: a finite number from 0 to [`MAX_DURATION_MS`].
fn duration(what: &str, ms: f64) -> Result<(), ProctorError> {
    if ms.is_finite() && (0.0..=MAX_DURATION_MS).contains(&ms) {
        return Ok(());
    }
    Err(ProctorError::invalid(format!(
        "`{what}` is {ms} ms; a duration is a number of milliseconds from 0 to {MAX_DURATION_MS} \
         (a week)"
    )))
}

/// A token count `what`: at most [`MAX_TOKENS`].
fn tokens(what: &str, n: u64) -> Result<(), ProctorError> {
    if n <= MAX_TOKENS {
        return Ok(());
    }
    Err(ProctorError::invalid(format!(
        "`{what}` is {n}; one LLM call counts at most {MAX_TOKENS} tokens"
    )))
}

/// A case's limits, the field `what`: a latency budget above 0 and at most a week, a cost
/// budget of 0 to [`MAX_COST_USD`].
fn budgets(what: &str, b: &Budgets) -> Result<(), ProctorError> {
    if let Some(ms) = b.max_latency_ms {
        let field = format!("{what}.max_latency_ms");
        duration(&field, ms)?;
        if ms == 0.0 {
            return Err(ProctorError::invalid(format!(
                "`{field}` is 0; give the most milliseconds a case may take"
            )));
        }
    }
    if let Some(usd) = b.max_cost_usd {
        if !(usd.is_finite() && (0.0..=MAX_COST_USD).contains(&usd)) {
            return Err(ProctorError::invalid(format!(
                "`{what}.max_cost_usd` is {usd}; a cost budget is 0 to {MAX_COST_USD} US dollars"
            )));
        }
    }
    Ok(())
}

/// A trace's measured figures: every duration and token count in range, each refusal naming
/// the field by its path under `trace`.
fn trace_figures(trace: &Trace) -> Result<(), ProctorError> {
    if let Some(ms) = trace.total_duration_ms {
        duration("trace.total_duration_ms", ms)?;
    }
    for (i, call) in trace.llm_calls.iter().enumerate() {
        let at = format!("trace.llm_calls[{i}]");
        duration(&format!("{at}.latency_ms"), call.latency_ms)?;
        let counts = [
            ("input_tokens", call.input_tokens),
            ("output_tokens", call.output_tokens),
            ("cache_read_tokens", call.cache_read_tokens),
            ("cache_write_tokens", call.cache_write_tokens),
            ("reasoning_tokens", call.reasoning_tokens),
        ];
        for (field, n) in counts {
            tokens(&format!("{at}.{field}"), n)?;
        }
    }
    for (i, call) in trace.tool_calls.iter().enumerate() {
        if let Some(ms) = call.duration_ms {
            duration(&format!("trace.tool_calls[{i}].duration_ms"), ms)?;
        }
    }
    Ok(())
}

/// `value` (the field `what`) is at most `max` characters.
fn bounded(what: &str, value: &str, max: usize) -> Result<(), ProctorError> {
    let len = value.chars().count();
    if len > max {
        return Err(ProctorError::invalid(format!(
            "`{what}` is {len} characters long; at most {max} are taken"
        )));
    }
    Ok(())
}

/// A name people type and read: not blank, bounded, no control characters.
pub(crate) fn name(what: &str, value: &str) -> Result<(), ProctorError> {
    if value.trim().is_empty() {
        return Err(ProctorError::invalid(format!("`{what}` must not be empty")));
    }
    bounded(what, value, MAX_NAME)?;
    if value.chars().any(char::is_control) {
        return Err(ProctorError::invalid(format!(
            "`{what}` must not hold control characters (newlines, tabs)"
        )));
    }
    // Names are identifiers, kept as given and matched across runs, so they are never
    // redacted: one that holds personal data is refused instead of silently altered.
    let pii = pii_in_name(value);
    if !pii.is_empty() {
        let kinds: Vec<&str> = pii.0.keys().map(|k| k.as_str()).collect();
        return Err(ProctorError::invalid(format!(
            "`{what}` holds what looks like personal data ({}); names are stored as given, so \
             choose one without it",
            kinds.join(", ")
        )));
    }
    Ok(())
}

/// At most [`MAX_ENTRIES`] entries in the list `what`.
fn few(what: &str, len: usize) -> Result<(), ProctorError> {
    if len > MAX_ENTRIES {
        return Err(ProctorError::invalid(format!(
            "`{what}` has {len} entries; at most {MAX_ENTRIES} are taken"
        )));
    }
    Ok(())
}

/// An agent needs a name that cannot be mistaken for an id or break a URL, and its tools
/// distinct names.
pub fn agent(input: &AgentSpec) -> Result<(), ProctorError> {
    name("name", &input.name)?;
    if uuid::Uuid::parse_str(input.name.trim()).is_ok() {
        return Err(ProctorError::invalid(
            "`name` must not look like an id (agents are found by id or by name)",
        ));
    }
    if let Some(c) = input
        .name
        .chars()
        .find(|c| matches!(c, '/' | '?' | '#' | '%' | '\\'))
    {
        return Err(ProctorError::invalid(format!(
            "`name` must not hold `{c}`: it is part of the agent's address"
        )));
    }
    bounded("description", &input.description, MAX_TEXT)?;
    few("tools", input.tools.len())?;
    few("policies", input.policies.len())?;
    for policy in &input.policies {
        bounded("policies[]", policy, MAX_TEXT)?;
    }
    crate::rubric::validate(&input.rubric, "rubric")?;
    let mut seen = HashSet::new();
    for tool in &input.tools {
        name("tools[].name", &tool.name)?;
        bounded("tools[].description", &tool.description, MAX_TEXT)?;
        tool_parameters(&tool.name, &tool.parameters)?;
        if !seen.insert(tool.name.as_str()) {
            return Err(ProctorError::invalid(format!(
                "tool `{}` is declared twice; tool names must be unique",
                tool.name
            )));
        }
    }
    Ok(())
}

/// A tool's `parameters`: a JSON Schema of an object, as every LLM provider takes a tool's
/// arguments. With the `json-schema` feature (the server's) the schema is also checked against
/// the JSON Schema meta-schema, so a misspelt type (`"strin"`) is refused where it was written,
/// not when a provider rejects the agent's request.
fn tool_parameters(tool: &str, parameters: &serde_json::Value) -> Result<(), ProctorError> {
    let field = format!("tools[{tool}].parameters");
    let Some(schema) = parameters.as_object() else {
        return Err(ProctorError::invalid(format!(
            "`{field}` must be a JSON Schema object such as {{\"type\": \"object\", \
             \"properties\": {{…}}}}, not {parameters}"
        )));
    };
    let names_object = |t: &serde_json::Value| match t {
        serde_json::Value::String(t) => t == "object",
        serde_json::Value::Array(ts) => ts.iter().any(|t| t == "object"),
        _ => false,
    };
    if let Some(kind) = schema.get("type").filter(|t| !names_object(t)) {
        return Err(ProctorError::invalid(format!(
            "`{field}.type` is {kind}; a tool's arguments are an object (`\"type\": \"object\"`)"
        )));
    }
    #[cfg(feature = "json-schema")]
    if let Err(e) = jsonschema::meta::validate(parameters) {
        let at = e.instance_path().to_string();
        return Err(ProctorError::invalid(format!(
            "`{field}{}` is not valid JSON Schema: {e}",
            at.replace('/', ".")
        )));
    }
    Ok(())
}

/// A run's label and metadata are bounded.
pub fn run(input: &RunInput) -> Result<(), ProctorError> {
    if let Some(label) = &input.spec.label {
        bounded("label", label, MAX_NAME)?;
    }
    few("metadata", input.spec.metadata.len())?;
    for (k, v) in &input.spec.metadata {
        name("metadata key", k)?;
        bounded("metadata value", v, MAX_TEXT)?;
    }
    Ok(())
}

/// A search's text, the query parameter `what`: bounded, and free of the NUL character
/// (PostgreSQL cannot compare text with it; both stores refuse it alike). Refused before any
/// row is read, so a download never starts only to stop.
pub fn search(what: &str, text: Option<&str>) -> Result<(), ProctorError> {
    let Some(text) = text else {
        return Ok(());
    };
    bounded(what, text, MAX_TEXT)?;
    if text.contains('\0') {
        return Err(ProctorError::invalid(format!(
            "`{what}` holds a NUL character (U+0000), which a search cannot take; search \
             without it"
        )));
    }
    Ok(())
}

/// A human review: a reviewer who names themselves, and a note of bounded length.
/// The name a dashboard session's reviews are stored under, trimmed.
pub fn reviewer(given: &str) -> Result<String, ProctorError> {
    let trimmed = given.trim();
    name("name", trimmed)?;
    Ok(trimmed.to_string())
}

pub fn review(input: &ReviewInput) -> Result<(), ProctorError> {
    name("reviewer", &input.reviewer)?;
    bounded("note", &input.note, MAX_TEXT)
}

/// Scenarios of one request: each with a key, no key twice, every regex compiling.
pub fn scenarios(inputs: &[ScenarioSpec]) -> Result<(), ProctorError> {
    let mut seen = HashSet::new();
    for (i, s) in inputs.iter().enumerate() {
        scenario(s, &mut seen).map_err(|e| e.context(format_args!("scenarios[{i}]")))?;
    }
    Ok(())
}

fn scenario<'a>(s: &'a ScenarioSpec, seen: &mut HashSet<&'a str>) -> Result<(), ProctorError> {
    name("key", &s.key)?;
    bounded("title", &s.title, MAX_TEXT)?;
    few("tags", s.tags.len())?;
    for tag in &s.tags {
        name("tags[]", tag)?;
    }
    if let Some(category) = &s.category {
        name("category", category)?;
    }
    if !seen.insert(s.key.as_str()) {
        return Err(ProctorError::invalid(format!(
            "key `{}` appears twice in this request",
            s.key
        )));
    }
    state_paths(&s.expectations)?;
    for step in &s.expectations.expected_tools {
        name("expectations.expected_tools[].tool", &step.tool)?;
    }
    for tool in &s.expectations.forbidden_tools {
        name("expectations.forbidden_tools[]", tool)?;
    }
    crate::rubric::validate(&s.expectations.rubric, "expectations.rubric")?;
    budgets("expectations.budgets", &s.expectations.budgets)?;
    conversation(s)?;
    let arg_patterns = s
        .expectations
        .expected_tools
        .iter()
        .flat_map(|step| step.args.values())
        .chain(s.expectations.expected_state.values())
        .filter_map(|m| match m {
            ArgMatcher::Regex(p) => Some(p),
            _ => None,
        });
    for pattern in s.expectations.response_format.iter().chain(arg_patterns) {
        validate_regex(pattern)
            .map_err(|e| ProctorError::invalid(format!("invalid regex /{pattern}/: {e}")))?;
    }
    Ok(())
}

/// The most user turns a simulated user may be given: a conversation is a test case, not a
/// session, and each turn costs two LLM calls or more.
pub const MAX_SIMULATED_TURNS: u32 = 50;

/// A conversation, scripted or simulated: no empty user turn, a simulated user with a goal and
/// a turn limit in range, and every step pinned to a turn that can exist.
fn conversation(s: &ScenarioSpec) -> Result<(), ProctorError> {
    few("user_turns", s.user_turns.len())?;
    for (i, turn) in s.user_turns.iter().enumerate() {
        if turn.trim().is_empty() {
            return Err(ProctorError::invalid(format!(
                "user_turns[{i}] is empty; every scripted user turn needs a message"
            )));
        }
        bounded("user_turns[]", turn, MAX_TEXT)?;
    }
    let turns = match &s.simulated_user {
        Some(user) => simulated_user(user, s)?,
        None => 1 + s.user_turns.len() as u32,
    };
    for step in &s.expectations.expected_tools {
        match step.turn {
            Some(t) if t == 0 || t > turns => {
                return Err(ProctorError::invalid(format!(
                    "expected_tools: `{}` is pinned to turn {t}, but the conversation has turns 1 \
                     to {turns}",
                    step.tool
                )))
            }
            _ => {}
        }
    }
    Ok(())
}

/// A simulated user's brief; its turn limit.
fn simulated_user(user: &SimulatedUser, s: &ScenarioSpec) -> Result<u32, ProctorError> {
    if !s.user_turns.is_empty() {
        return Err(ProctorError::invalid(
            "a scenario has scripted `user_turns` or a `simulated_user`, not both",
        ));
    }
    if user.goal.trim().is_empty() {
        return Err(ProctorError::invalid(
            "simulated_user.goal is empty; say what the user wants, e.g. \"a refund for order \
             ORD-1001\"",
        ));
    }
    bounded("simulated_user.goal", &user.goal, MAX_TEXT)?;
    bounded("simulated_user.persona", &user.persona, MAX_TEXT)?;
    few("simulated_user.knows", user.knows.len())?;
    for (fact, value) in &user.knows {
        name("simulated_user.knows key", fact)?;
        bounded("simulated_user.knows value", value, MAX_TEXT)?;
    }
    few("simulated_user.stop_on_tools", user.stop_on_tools.len())?;
    for tool in &user.stop_on_tools {
        name("simulated_user.stop_on_tools[]", tool)?;
    }
    let turns = user.max_turns();
    if !(1..=MAX_SIMULATED_TURNS).contains(&turns) {
        return Err(ProctorError::invalid(format!(
            "simulated_user.max_turns is {turns}; it must be 1 to {MAX_SIMULATED_TURNS}"
        )));
    }
    Ok(turns)
}

/// `expected_state` and `unchanged` paths: dotted, with no empty part (`orders..status` and
/// `orders.` name nothing and would never match).
fn state_paths(exp: &Expectations) -> Result<(), ProctorError> {
    let paths = exp
        .expected_state
        .keys()
        .map(|p| ("expected_state", p))
        .chain(exp.unchanged.iter().map(|p| ("unchanged", p)));
    for (field, path) in paths {
        if path.split('.').any(str::is_empty) {
            return Err(ProctorError::invalid(format!(
                "{field}: path `{path}` has an empty part; write dotted paths such as \
                 `orders.1001.status`"
            )));
        }
    }
    Ok(())
}

/// Attempts per scenario, 1 to [`MAX_REPEATS`].
pub fn repeats(repeats: u32) -> Result<u32, ProctorError> {
    if (1..=MAX_REPEATS).contains(&repeats) {
        Ok(repeats)
    } else {
        Err(ProctorError::invalid(format!(
            "repeats must be between 1 and {MAX_REPEATS}, got {repeats}"
        )))
    }
}

/// A synced result made whole: what the client sent, with the gaps its stored scenario fills.
#[derive(Debug, Clone)]
pub struct CheckedResult {
    pub input: ResultInput,
    pub scenario_key: String,
    pub user_message: String,
    pub attempt: u32,
    /// The trace with the `tool_calls` shorthand folded in and every call numbered.
    pub trace: Trace,
}

/// Checks one synced result against the rules and completes it from `scenario` (the stored
/// scenario it names, if any).
pub fn result(
    mut input: ResultInput,
    scenario: Option<&Scenario>,
) -> Result<CheckedResult, ProctorError> {
    let scenario_key = input
        .scenario_key
        .clone()
        .or_else(|| scenario.map(|s| s.spec.key.clone()))
        .filter(|k| !k.trim().is_empty())
        .ok_or_else(|| {
            ProctorError::invalid(
                "give `scenario_key` (or `scenario_id`) so the result can be matched across runs",
            )
        })?;
    let user_message = input
        .user_message
        .clone()
        .or_else(|| scenario.map(|s| s.spec.user_message.clone()))
        .ok_or_else(|| {
            ProctorError::invalid(
                "give `user_message`: the scenario is not stored, so its message is unknown",
            )
        })?;
    name("scenario_key", &scenario_key)?;
    if let Some(category) = &input.category {
        name("category", category)?;
    }
    let attempt = input.attempt.unwrap_or(1);
    if attempt == 0 {
        return Err(ProctorError::invalid("`attempt` counts from 1"));
    }
    if let Some(ms) = input.duration_ms {
        duration("duration_ms", ms)?;
    }
    if let Some(exp) = &input.expectations {
        crate::rubric::validate(&exp.rubric, "expectations.rubric")?;
        budgets("expectations.budgets", &exp.budgets)?;
    }
    let trace = trace_of(&mut input)?;
    trace_figures(&trace)?;
    Ok(CheckedResult {
        input,
        scenario_key,
        user_message,
        attempt,
        trace,
    })
}

/// The result's trace, with the `tool_calls` shorthand moved into it.
fn trace_of(input: &mut ResultInput) -> Result<Trace, ProctorError> {
    let mut trace = input.trace.take().unwrap_or_default();
    if !input.tool_calls.is_empty() {
        if !trace.tool_calls.is_empty() {
            return Err(ProctorError::invalid(
                "give tool calls in `tool_calls` or in `trace.tool_calls`, not both",
            ));
        }
        trace.tool_calls = std::mem::take(&mut input.tool_calls)
            .into_iter()
            .map(|c| match c {
                ToolCallInput::Name(name) => ToolCall {
                    name,
                    ..Default::default()
                },
                ToolCallInput::Call(call) => *call,
            })
            .collect();
    }
    if trace.tool_calls.len() > MAX_TOOL_CALLS_PER_RESULT {
        return Err(ProctorError::invalid(format!(
            "a result may carry at most {MAX_TOOL_CALLS_PER_RESULT} tool calls"
        )));
    }
    if let Some(i) = trace
        .tool_calls
        .iter()
        .position(|c| c.name.trim().is_empty())
    {
        return Err(ProctorError::invalid(format!(
            "tool call {i} has no `name`"
        )));
    }
    recorded_turns(&trace)?;
    number_calls(&mut trace);
    let mut scrubbed = scrub_tool_names(&mut trace);
    if let Some(exp) = &mut input.expectations {
        scrubbed.merge(&scrub_expected_tools(exp));
    }
    trace.redactions.merge(&scrubbed);
    Ok(trace)
}

/// A trace's tool names are the agent's, not the user's choice, so one that holds personal data
/// is scrubbed rather than the result refused; it happens before judging, so the tool path,
/// the verdict and every figure built from them hold the scrubbed name only.
fn scrub_tool_names(trace: &mut Trace) -> RedactionCounts {
    let mut counts = RedactionCounts::default();
    for call in &mut trace.tool_calls {
        scrub_name(&mut call.name, &mut counts);
    }
    for call in &mut trace.llm_calls {
        for name in call.tools_offered.iter_mut().chain(&mut call.tools_chosen) {
            scrub_name(name, &mut counts);
        }
    }
    counts
}

/// A synced result's own expectations name tools as its trace does; scrubbed the same way, so
/// a name scrubbed in both still matches.
fn scrub_expected_tools(exp: &mut Expectations) -> RedactionCounts {
    let mut counts = RedactionCounts::default();
    for step in &mut exp.expected_tools {
        scrub_name(&mut step.tool, &mut counts);
    }
    for tool in &mut exp.forbidden_tools {
        scrub_name(tool, &mut counts);
    }
    counts
}

/// A simulated turn's hash is what later runs replay it by: a SHA-256 in hex, as the runner
/// writes it, or nothing.
fn recorded_turns(trace: &Trace) -> Result<(), ProctorError> {
    let ends = trace.conversation_end.iter().filter_map(|e| match e {
        ConversationEnd::User { transcript_hash } => transcript_hash.as_ref(),
        _ => None,
    });
    let hashes = trace
        .turns
        .iter()
        .filter_map(|t| t.transcript_hash.as_ref())
        .chain(ends);
    for hash in hashes {
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ProctorError::invalid(format!(
                "`transcript_hash` {:?} is not a SHA-256 in hex (64 characters)",
                hash.chars().take(80).collect::<String>()
            )));
        }
    }
    Ok(())
}

/// Gives tool calls their positions when the client sent none (or sent duplicates), keeping
/// the order of the list.
fn number_calls(trace: &mut Trace) {
    let mut orders: Vec<u32> = trace.tool_calls.iter().map(|c| c.order).collect();
    orders.sort_unstable();
    orders.dedup();
    if orders.len() != trace.tool_calls.len() {
        for (i, call) in trace.tool_calls.iter_mut().enumerate() {
            call.order = i as u32;
        }
    }
}
