//! Installing a pack delivered by a studio: a folder with `lines/` (files
//! named as the recording script says), `pieces/` and `extra/` (files
//! named by what they say: `pieces/十二月.wav`, `extra/安心借.wav`).
//! Every recording is checked; the pack is installed only when all of
//! them pass, and replaces the installed one in one rename.

use super::plan::is_number_char;
use super::recording;
use super::script::ScriptEntry;
use super::{said_chars, Kind, INDEX_FILE, PACK_RATE};
use crate::audio;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// What an import installed.
#[derive(Debug)]
pub struct Imported {
    pub recordings: usize,
    /// Script entries without a recording (said by the synthesized voice).
    pub missing: Vec<ScriptEntry>,
    /// Files that are not WAV recordings, left out.
    pub ignored: Vec<String>,
}

/// Every problem found in a delivery, one per line, each naming its file.
#[derive(Debug, thiserror::Error)]
#[error("{}", .problems.join("\n"))]
pub struct ImportError {
    pub problems: Vec<String>,
}

/// A recording found in the delivery: its file, name, kind and text.
struct Found {
    file: PathBuf,
    name: String,
    kind: Kind,
    text: String,
}

/// Checks the delivery in `src` against `script` and installs it at
/// `dest` (a dialect's folder of the prompts directory). Unless
/// `partial`, every script entry must have its recording. `progress` is
/// told (done, total) as recordings are checked.
pub fn import(
    src: &Path,
    script: &[ScriptEntry],
    dest: &Path,
    partial: bool,
    progress: &dyn Fn(u64, u64),
) -> Result<Imported, ImportError> {
    let mut problems = Vec::new();
    let mut ignored = Vec::new();
    let mut found = Vec::new();
    let by_name: HashMap<&str, &ScriptEntry> =
        script.iter().map(|e| (e.name.as_str(), e)).collect();
    for file in files_under(src).map_err(|e| ImportError {
        problems: vec![format!("{}: {e}", src.display())],
    })? {
        let rel = file
            .strip_prefix(src)
            .unwrap_or(&file)
            .to_string_lossy()
            .replace('\\', "/");
        let Some(name) = rel.strip_suffix(".wav") else {
            ignored.push(rel);
            continue;
        };
        let (folder, said) = name.split_once('/').unwrap_or(("", name));
        let entry = match folder {
            "lines" | "days" => match by_name.get(name) {
                Some(e) => Ok((Kind::Line, e.text.clone())),
                None => Err(
                    "not in the recording script (`huikuan prompts script` lists the files)"
                        .to_string(),
                ),
            },
            "pieces" if !said.is_empty() && said.chars().all(is_number_char) => {
                Ok((Kind::Piece, said.to_string()))
            }
            "pieces" => Err(format!(
                "'{said}': a piece says only digits and the units of amounts, dates and times ({})",
                super::script::PIECES
            )),
            "extra" if !said_chars(said).is_empty() && !said.contains('/') => {
                Ok((Kind::Line, said.to_string()))
            }
            _ => Err("recordings go in lines/, days/, pieces/ or extra/".to_string()),
        };
        match entry {
            Ok((kind, text)) => found.push(Found {
                file,
                name: name.to_string(),
                kind,
                text,
            }),
            Err(why) => problems.push(format!("{rel}: {why}")),
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));

    let total = found.len() as u64;
    let mut ready = Vec::new();
    for (i, f) in found.iter().enumerate() {
        match recording::prepare(&f.file) {
            Ok(samples) => ready.push((f, samples)),
            Err(why) => problems.push(format!("{}.wav: {why}", f.name)),
        }
        progress(i as u64 + 1, total);
    }
    let have: std::collections::HashSet<&str> = found.iter().map(|f| f.name.as_str()).collect();
    let missing: Vec<ScriptEntry> = script
        .iter()
        .filter(|e| !have.contains(e.name.as_str()))
        .cloned()
        .collect();
    if !partial {
        for e in &missing {
            problems.push(format!(
                "{}.wav: missing (it says '{}'; --partial installs a pack without it)",
                e.name, e.text
            ));
        }
    }
    if !problems.is_empty() {
        return Err(ImportError { problems });
    }
    install(dest, &ready).map_err(|e| ImportError {
        problems: vec![format!("{}: {e}", dest.display())],
    })?;
    Ok(Imported {
        recordings: ready.len(),
        missing,
        ignored,
    })
}

/// Writes the pack beside `dest`, then puts it in `dest`'s place.
fn install(dest: &Path, ready: &[(&Found, Vec<f32>)]) -> std::io::Result<()> {
    let staging = dest.with_extension("importing");
    let old = dest.with_extension("replaced");
    for d in [&staging, &old] {
        if d.exists() {
            std::fs::remove_dir_all(d)?;
        }
    }
    let mut index = String::from("# kind\tname\ttext (written by huikuan prompts import)\n");
    for (f, samples) in ready {
        let path = staging.join(format!("{}.wav", f.name));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        audio::write_pcm16(&path, PACK_RATE, &[samples])
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        index.push_str(&format!("{}\t{}\t{}\n", f.kind.as_str(), f.name, f.text));
    }
    std::fs::create_dir_all(&staging)?;
    std::fs::write(staging.join(INDEX_FILE), index)?;
    if dest.exists() {
        std::fs::rename(dest, &old)?;
    }
    std::fs::rename(&staging, dest)?;
    if old.exists() {
        std::fs::remove_dir_all(&old)?;
    }
    Ok(())
}

/// Files under `dir`, two levels deep, in name order.
fn files_under(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            for inner in std::fs::read_dir(&path)? {
                let p = inner?.path();
                if p.is_file() {
                    out.push(p);
                }
            }
        } else {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prompts::script::recording_script;
    use crate::prompts::PromptPack;
    use huikuan_core::Dialect;

    fn tone(rate: u32, ms: u32, amp: f32) -> Vec<f32> {
        (0..rate * ms / 1000)
            .map(|i| amp * (i as f32 * 2.0 * std::f32::consts::PI * 250.0 / rate as f32).sin())
            .collect()
    }

    fn record(dir: &Path, name: &str, rate: u32, samples: &[f32]) {
        let path = dir.join(format!("{name}.wav"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        audio::write_pcm16(&path, rate, &[samples]).unwrap();
    }

    /// A complete delivery for a two-line script, at 44.1 kHz.
    fn delivery(script: &[ScriptEntry]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for e in script {
            record(dir.path(), &e.name, 44_100, &tone(44_100, 300, 0.2));
        }
        record(dir.path(), "extra/安心借", 44_100, &tone(44_100, 300, 0.05));
        std::fs::write(dir.path().join("notes.txt"), "studio notes").unwrap();
        dir
    }

    fn script() -> Vec<ScriptEntry> {
        recording_script([
            ("ask_date", "请问您哪天可以还款？"),
            ("bye", "好的，再见。"),
        ])
    }

    #[test]
    fn a_complete_delivery_is_installed_and_loads() {
        let script = script();
        let src = delivery(&script);
        let prompts = tempfile::tempdir().unwrap();
        let dest = prompts.path().join("mandarin");
        let done = std::cell::Cell::new(0);
        let got = import(src.path(), &script, &dest, false, &|d, _| done.set(d)).unwrap();
        assert_eq!(got.recordings, script.len() + 1);
        assert_eq!(done.get(), got.recordings as u64);
        assert!(got.missing.is_empty());
        assert_eq!(got.ignored, vec!["notes.txt"]);
        let pack = PromptPack::load(&dest, Dialect::Mandarin).unwrap();
        assert_eq!(pack.recordings().len(), got.recordings);
        let extra = pack
            .recordings()
            .iter()
            .find(|r| r.text == "安心借")
            .unwrap();
        assert_eq!(extra.kind, Kind::Line);
        // Installed at one loudness, whatever the studio's level.
        for r in pack.recordings() {
            let l = recording::speech_level(&r.samples(PACK_RATE), PACK_RATE);
            assert!((l - recording::TARGET_RMS).abs() < 0.01, "{}: {l}", r.name);
        }
    }

    #[test]
    fn a_bad_delivery_names_every_problem_and_leaves_the_installed_pack_alone() {
        let script = script();
        let good = delivery(&script);
        let prompts = tempfile::tempdir().unwrap();
        let dest = prompts.path().join("mandarin");
        import(good.path(), &script, &dest, false, &|_, _| {}).unwrap();
        let before = std::fs::read_to_string(dest.join(INDEX_FILE)).unwrap();

        let bad = delivery(&script);
        let d = bad.path();
        record(d, "lines/ask_date", 11_025, &tone(11_025, 300, 0.2));
        record(d, "lines/bye.1", 16_000, &vec![0.0; 8_000]);
        let mut clipped = tone(16_000, 300, 0.2);
        clipped[1_600..1_610].fill(1.0);
        record(d, "pieces/三", 16_000, &clipped);
        std::fs::remove_file(d.join("pieces/五.wav")).unwrap();
        record(d, "lines/goodbye", 16_000, &tone(16_000, 300, 0.2));
        record(d, "pieces/好", 16_000, &tone(16_000, 300, 0.2));
        record(d, "stray", 16_000, &tone(16_000, 300, 0.2));
        let e = import(d, &script, &dest, false, &|_, _| {}).unwrap_err();
        let all = e.to_string();
        for expected in [
            "lines/ask_date.wav: sample rate 11025 Hz",
            "lines/bye.1.wav: silent",
            "pieces/三.wav: clipped at 0.10 s",
            "pieces/五.wav: missing (it says '五'",
            "lines/goodbye.wav: not in the recording script",
            "pieces/好.wav: '好': a piece says only digits",
            "stray.wav: recordings go in lines/, days/, pieces/ or extra/",
        ] {
            assert!(all.contains(expected), "{expected} not in:\n{all}");
        }
        assert_eq!(e.problems.len(), 7, "{all}");
        assert_eq!(
            std::fs::read_to_string(dest.join(INDEX_FILE)).unwrap(),
            before
        );

        // --partial: the missing piece is reported, the rest installed.
        std::fs::remove_file(d.join("lines/ask_date.wav")).unwrap();
        for f in [
            "lines/bye.1",
            "pieces/三",
            "lines/goodbye",
            "pieces/好",
            "stray",
        ] {
            std::fs::remove_file(d.join(format!("{f}.wav"))).unwrap();
        }
        let got = import(d, &script, &dest, true, &|_, _| {}).unwrap();
        let missing: Vec<&str> = got.missing.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            missing,
            vec!["lines/ask_date", "lines/bye.1", "pieces/三", "pieces/五"]
        );
        assert!(!dest.with_extension("importing").exists());
        assert!(!dest.with_extension("replaced").exists());
    }

    #[test]
    fn a_broken_index_names_its_line() {
        let dir = tempfile::tempdir().unwrap();
        record(dir.path(), "lines/a", 16_000, &tone(16_000, 300, 0.2));
        std::fs::write(
            dir.path().join(INDEX_FILE),
            "# header\nline\tlines/a\t再见\nword\tlines/a\t再见\n",
        )
        .unwrap();
        let e = PromptPack::load(dir.path(), Dialect::Mandarin)
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.ends_with("prompts.tsv:3: kind 'word' is neither 'line' nor 'piece'"),
            "{e}"
        );
        std::fs::write(dir.path().join(INDEX_FILE), "line\tlines/b\t再见\n").unwrap();
        let e = PromptPack::load(dir.path(), Dialect::Mandarin)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("lines/b.wav: No such file"), "{e}");
    }
}
