//! Chinese script forms: Traditional to Simplified (with the written-
//! Cantonese characters the converter misses) and full-width to half-width,
//! shared by recognition output and understanding.

/// Traditional forms of written-Cantonese characters the converter does
/// not map.
const EXTRA_T2S: &[(char, char)] = &[('搵', '揾')];

/// Traditional -> Simplified.
pub fn to_simplified(text: &str) -> String {
    fast2s::convert(text)
        .chars()
        .map(|c| {
            EXTRA_T2S
                .iter()
                .find(|(t, _)| *t == c)
                .map(|(_, s)| *s)
                .unwrap_or(c)
        })
        .collect()
}

/// Full-width ASCII forms (ＡＢＣ１２３) and the ideographic space to their
/// ordinary forms.
pub fn half_width(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{3000}' => ' ',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simplified_and_half_width() {
        assert_eq!(to_simplified("聽日還錢，搵到"), "听日还钱，揾到");
        assert_eq!(half_width("ＯＫ１２\u{3000}好"), "OK12 好");
    }
}
