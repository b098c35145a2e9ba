//! The labelled evaluation sets in tests/data/nlu parse, and the NLU holds
//! its accuracy on the development split (the held-out split is only
//! reported, by `huikuan eval-nlu`, never asserted or tuned on).

use chrono::NaiveDate;
use huikuan_core::Dialect;
use huikuan_dialogue::eval::{evaluate, parse};
use huikuan_dialogue::Nlu;

#[test]
fn development_split_accuracy_does_not_regress() {
    let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    let nlu = Nlu::builtin();
    for (name, dialect) in [
        ("mandarin", Dialect::Mandarin),
        ("sichuanese", Dialect::Sichuanese),
        ("cantonese", Dialect::Cantonese),
    ] {
        let path = format!(
            "{}/../../tests/data/nlu/{name}.tsv",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let examples = parse(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
        let dev: Vec<_> = examples.into_iter().filter(|e| e.split == "dev").collect();
        assert!(dev.len() >= 50, "{name}: {} dev examples", dev.len());
        let (scores, misses) = evaluate(&nlu, &dev, dialect, today);
        let s = &scores["dev"];
        let listing: Vec<String> = misses
            .iter()
            .map(|m| {
                format!(
                    "{} -> {} {:?} {:?}",
                    m.example.text, m.got_intent, m.got_slots, m.cues
                )
            })
            .collect();
        assert!(
            s.accuracy() >= 0.9 && s.slot_exact() >= 0.9,
            "{name}: intent accuracy {:.3}, slot exact {:.3}\n{}",
            s.accuracy(),
            s.slot_exact(),
            listing.join("\n")
        );
    }
}

/// The classifier's confident answers on development utterances it was not
/// trained on (5-fold) are right often enough to be worth more than
/// "unclear": the NLU only asks it when no phrase spoke.
#[test]
fn classifier_confident_answers_hold_up_in_cross_validation() {
    use huikuan_dialogue::eval::cross_validate_model;
    use huikuan_dialogue::nlu::MODEL_MIN_PROBABILITY;
    let mut sets = Vec::new();
    for (name, dialect) in [
        ("mandarin", Dialect::Mandarin),
        ("sichuanese", Dialect::Sichuanese),
        ("cantonese", Dialect::Cantonese),
    ] {
        let path = format!(
            "{}/../../tests/data/nlu/{name}.tsv",
            env!("CARGO_MANIFEST_DIR")
        );
        let rows = parse(&std::fs::read_to_string(&path).unwrap()).unwrap();
        sets.push((
            dialect,
            rows.into_iter()
                .filter(|r| r.split == "dev")
                .collect::<Vec<_>>(),
        ));
    }
    let checks = cross_validate_model(
        &Nlu::phrases_only(),
        &sets,
        5,
        &[0.0, MODEL_MIN_PROBABILITY],
    );
    let (all, confident) = (&checks[0], &checks[1]);
    assert!(
        confident.answered > confident.utterances / 2,
        "{confident:?}"
    );
    assert!(confident.answered <= all.answered);
    let precision = confident.correct as f64 / confident.answered as f64;
    assert!(precision >= 0.9, "{confident:?}");
}
