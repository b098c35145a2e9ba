//! G.711 μ-law and A-law (ITU-T G.711), the two codecs of every Chinese
//! carrier trunk. Written out here because the algorithm is a few lines of
//! bit arithmetic and no maintained crate offers it on its own.

const BIAS: i32 = 0x84;
/// Segment end points of the 14-bit (μ-law) and 13-bit (A-law) magnitudes.
const SEG_UEND: [i32; 8] = [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF];
const SEG_AEND: [i32; 8] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];

/// One 16-bit linear sample to μ-law.
pub fn ulaw_encode(sample: i16) -> u8 {
    let mut v = (sample as i32) >> 2;
    let mask = if v < 0 {
        v = -v;
        0x7F
    } else {
        0xFF
    };
    v = v.min(8159) + (BIAS >> 2);
    match SEG_UEND.iter().position(|&end| v <= end) {
        Some(seg) => ((((seg as i32) << 4) | ((v >> (seg + 1)) & 0x0F)) ^ mask) as u8,
        None => (0x7F ^ mask) as u8,
    }
}

/// One μ-law byte to 16-bit linear.
pub fn ulaw_decode(byte: u8) -> i16 {
    let u = !byte as i32;
    let sign = u & 0x80;
    let exponent = (u >> 4) & 0x07;
    let mantissa = u & 0x0F;
    let magnitude = (((mantissa << 3) + BIAS) << exponent) - BIAS;
    (if sign != 0 { -magnitude } else { magnitude }) as i16
}

/// One 16-bit linear sample to A-law.
pub fn alaw_encode(sample: i16) -> u8 {
    let mut v = (sample as i32) >> 3;
    let mask = if v >= 0 {
        0xD5
    } else {
        v = -v - 1;
        0x55
    };
    match SEG_AEND.iter().position(|&end| v <= end) {
        Some(seg) => {
            let shift = if seg < 2 { 1 } else { seg };
            ((((seg as i32) << 4) | ((v >> shift) & 0x0F)) ^ mask) as u8
        }
        None => (0x7F ^ mask) as u8,
    }
}

/// One A-law byte to 16-bit linear.
pub fn alaw_decode(byte: u8) -> i16 {
    let a = (byte ^ 0x55) as i32;
    let exponent = (a >> 4) & 0x07;
    let mantissa = a & 0x0F;
    let magnitude = if exponent == 0 {
        (mantissa << 4) + 8
    } else {
        ((mantissa << 4) + 0x108) << (exponent - 1)
    };
    (if a & 0x80 != 0 { magnitude } else { -magnitude }) as i16
}

/// The two G.711 laws, by their RTP payload names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Law {
    /// PCMU, payload type 0.
    Ulaw,
    /// PCMA, payload type 8.
    Alaw,
}

impl Law {
    pub fn encode(self, pcm: &[i16]) -> Vec<u8> {
        match self {
            Law::Ulaw => pcm.iter().map(|&s| ulaw_encode(s)).collect(),
            Law::Alaw => pcm.iter().map(|&s| alaw_encode(s)).collect(),
        }
    }

    pub fn decode(self, bytes: &[u8]) -> Vec<i16> {
        match self {
            Law::Ulaw => bytes.iter().map(|&b| ulaw_decode(b)).collect(),
            Law::Alaw => bytes.iter().map(|&b| alaw_decode(b)).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_survives_decode_encode() {
        for b in 0..=255u8 {
            // 0x7F and 0xFF are both zero in μ-law; encode picks 0xFF.
            let u = ulaw_encode(ulaw_decode(b));
            assert!(u == b || (ulaw_decode(u) == ulaw_decode(b)), "ulaw {b:#x}");
            assert_eq!(alaw_encode(alaw_decode(b)), b, "alaw {b:#x}");
        }
    }

    #[test]
    fn known_values_and_bounded_error() {
        assert_eq!(ulaw_encode(0), 0xFF);
        assert_eq!(alaw_encode(0), 0xD5);
        assert_eq!(ulaw_decode(0x80), 32124);
        assert_eq!(alaw_decode(0xAA), 32256);
        for s in (-32768i32..=32767).step_by(7) {
            let s = s as i16;
            let u = ulaw_decode(ulaw_encode(s)) as i32;
            let a = alaw_decode(alaw_encode(s)) as i32;
            // Companding keeps the error within ~3% of the magnitude (+ a step near zero).
            let limit = (s as i32).abs() / 16 + 40;
            assert!((u - s as i32).abs() <= limit, "ulaw {s} -> {u}");
            assert!((a - s as i32).abs() <= limit, "alaw {s} -> {a}");
        }
    }
}
