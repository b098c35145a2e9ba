//! `huikuan script check [DIR]`: whether a folder of script data (laid out
//! as `dialects/`) would load, the quality inspection's rules with it, and
//! what is in it; problems as
//! `FILE:LINE: problem`.

use huikuan_dialogue::script::DIALECTS;
use huikuan_dialogue::Engine;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum ScriptCommand {
    /// Check a script folder (default: the built-in script).
    Check { dir: Option<PathBuf> },
}

pub fn run(cmd: ScriptCommand) -> anyhow::Result<ExitCode> {
    let ScriptCommand::Check { dir } = cmd;
    let loaded = match &dir {
        Some(d) => Engine::load(d),
        None => Ok(Engine::builtin()),
    };
    let qa = match &dir {
        Some(d) => huikuan_dialogue::ScriptFiles::load(d)
            .and_then(|files| huikuan_qa::QaRuleBook::from_script(&files)),
        None => Ok(huikuan_qa::QaRuleBook::builtin()),
    };
    let (engine, qa) = match (loaded, qa) {
        (Ok(e), Ok(q)) => (e, q),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("{e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let source = dir
        .as_ref()
        .map(|d| d.display().to_string())
        .unwrap_or_else(|| "built-in".into());
    println!("script {source}: ok");
    for d in DIALECTS {
        let lines = engine
            .lines
            .sources()
            .iter()
            .filter(|(dialect, _, _)| *dialect == d)
            .count();
        let rules = qa.get(d);
        println!(
            "  {d}: {lines} lines; inspection: {} forbidden phrases in {} categories, {} required statements",
            rules.forbidden.iter().map(|c| c.phrases.len()).sum::<usize>(),
            rules.forbidden.len(),
            rules.required.len()
        );
    }
    println!(
        "  policy: {} lines name the debt; {} forbidden phrases checked in every line",
        engine.policy.disclosure.lines.len(),
        engine.forbidden.len()
    );
    Ok(ExitCode::SUCCESS)
}
