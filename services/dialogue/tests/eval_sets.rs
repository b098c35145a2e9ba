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
