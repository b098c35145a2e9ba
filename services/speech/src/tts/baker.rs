//! Pinyin to the input symbols of the Baker-trained FastSpeech2 voice:
//! `sil`, initial, final+tone, `#0` between syllables, `#3` at phrase
//! breaks, `sil`, `eos` (the voice's own `baker_mapper.json` holds the
//! symbol ids and how each syllable splits into initial and final).

use super::g2p::{Syllable, Token};
use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
pub enum MapperError {
    #[error("{0}: not a Baker symbol mapper: {1}")]
    Invalid(String, String),
}

pub struct BakerMapper {
    symbol_to_id: HashMap<String, i32>,
    /// syllable -> (initial, final)
    pinyin: HashMap<String, (String, String)>,
    eos: i32,
}

#[derive(serde::Deserialize)]
struct MapperFile {
    symbol_to_id: HashMap<String, i32>,
    pinyin_dict: HashMap<String, (String, String)>,
}

impl BakerMapper {
    pub fn parse(name: &str, json: &str) -> Result<Self, MapperError> {
        let f: MapperFile = serde_json::from_str(json)
            .map_err(|e| MapperError::Invalid(name.into(), e.to_string()))?;
        for needed in ["sil", "#0", "#3", "eos", "^"] {
            if !f.symbol_to_id.contains_key(needed) {
                return Err(MapperError::Invalid(
                    name.into(),
                    format!("no symbol '{needed}'"),
                ));
            }
        }
        Ok(BakerMapper {
            eos: f.symbol_to_id["eos"],
            symbol_to_id: f.symbol_to_id,
            pinyin: f.pinyin_dict,
        })
    }

    fn id(&self, sym: &str) -> Option<i32> {
        self.symbol_to_id.get(sym).copied()
    }

    /// The symbols of one syllable, or `None` when the voice lacks it.
    fn syllable(&self, s: &Syllable) -> Option<[i32; 2]> {
        let (ini, fin) = self.pinyin.get(&s.text)?;
        Some([self.id(ini)?, self.id(&format!("{fin}{}", s.tone))?])
    }

    /// Symbol ids for a sentence; syllables the voice cannot say are
    /// dropped (and returned, for logging).
    pub fn ids(&self, tokens: &[Token]) -> (Vec<i32>, Vec<String>) {
        let sil = self.symbol_to_id["sil"];
        let join = self.symbol_to_id["#0"];
        let phrase = self.symbol_to_id["#3"];
        let mut out = vec![sil];
        let mut dropped = Vec::new();
        let mut pending_break = false;
        for t in tokens {
            match t {
                Token::Break => pending_break = true,
                Token::Syllable(s) => match self.syllable(s) {
                    Some(pair) => {
                        if out.len() > 1 {
                            out.push(if pending_break { phrase } else { join });
                        }
                        pending_break = false;
                        out.extend(pair);
                    }
                    None => dropped.push(s.to_string()),
                },
            }
        }
        out.push(sil);
        out.push(self.eos);
        (out, dropped)
    }
}
