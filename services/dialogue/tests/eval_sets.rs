//! The labelled evaluation sets in tests/data/nlu parse, and the NLU holds
//! its accuracy on the development split (the held-out split is only
//! reported, by `huikuan eval-nlu`, never asserted or tuned on).

use chrono::NaiveDate;
use huikuan_dialogue::eval::{development_sets, evaluate};
use huikuan_dialogue::Nlu;

#[test]
fn development_split_accuracy_does_not_regress() {
    let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    let nlu = Nlu::builtin();
    for (dialect, dev) in development_sets() {
        let name = dialect.to_string();
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
    let sets = development_sets();
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
