//! RTP datagrams from the network into `rtp` packets, refusing what the
//! `rtp` crate would panic on.
//!
//! `rtp` 0.17 walks RFC 8285 header extensions (one-byte 0xBEDE and
//! two-byte 0x1000 profiles) without checking that each element stays
//! inside the packet: an element length past the end panics
//! (`copy_to_bytes`/`get_u8` out of bounds). Found by the `rtp_packets`
//! fuzz target. The extension block is checked here first, element by
//! element, against RFC 8285; everything else is left to the crate.

use rtp::packet::Packet;
use webrtc_util::Unmarshal;

#[derive(Debug, thiserror::Error)]
pub enum RtpError {
    #[error("not an RTP packet: {0}")]
    Malformed(String),
    #[error("RTP payload type {0} is not the negotiated {1}")]
    PayloadType(u8, u8),
}

const FIXED_HEADER: usize = 12;
const ONE_BYTE_PROFILE: u16 = 0xBEDE;
const TWO_BYTE_PROFILE: u16 = 0x1000;
/// A one-byte element with this id ends the extension block.
const ONE_BYTE_STOP_ID: u8 = 15;

/// Parses one datagram as an RTP packet.
pub fn parse(datagram: &[u8]) -> Result<Packet, RtpError> {
    check_extensions(datagram).map_err(RtpError::Malformed)?;
    let mut bytes = datagram;
    Packet::unmarshal(&mut bytes).map_err(|e| RtpError::Malformed(e.to_string()))
}

/// Whether every RFC 8285 extension element lies within the extension
/// block the header declares (and that block within the datagram).
fn check_extensions(d: &[u8]) -> Result<(), String> {
    if d.len() < FIXED_HEADER || d[0] & 0x10 == 0 {
        return Ok(());
    }
    let at = FIXED_HEADER + 4 * (d[0] & 0x0F) as usize;
    let Some(head) = d.get(at..at + 4) else {
        return Err(format!(
            "header extension at byte {at} past the end ({} bytes)",
            d.len()
        ));
    };
    let profile = u16::from_be_bytes([head[0], head[1]]);
    let start = at + 4;
    let end = start + 4 * u16::from_be_bytes([head[2], head[3]]) as usize;
    if end > d.len() {
        return Err(format!(
            "header extension of bytes {start}..{end} past the end ({} bytes)",
            d.len()
        ));
    }
    let block = &d[start..end];
    let mut i = 0;
    while i < block.len() {
        let b = block[i];
        if b == 0 {
            i += 1; // padding
            continue;
        }
        let (len, data_at) = match profile {
            ONE_BYTE_PROFILE if b >> 4 == ONE_BYTE_STOP_ID => return Ok(()),
            ONE_BYTE_PROFILE => ((b & 0x0F) as usize + 1, i + 1),
            TWO_BYTE_PROFILE => match block.get(i + 1) {
                Some(&len) => (len as usize, i + 2),
                None => {
                    return Err(format!(
                        "header extension element {b} at byte {} has no length",
                        start + i
                    ))
                }
            },
            _ => return Ok(()),
        };
        if data_at + len > block.len() {
            return Err(format!(
                "header extension element {} at byte {} runs {} bytes past its block",
                if profile == ONE_BYTE_PROFILE {
                    b >> 4
                } else {
                    b
                },
                start + i,
                data_at + len - block.len()
            ));
        }
        i = data_at + len;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(ext: &[u8], profile: u16, words: u16) -> Vec<u8> {
        let mut d = vec![0x90, 0, 0, 1, 0, 0, 0, 160, 1, 2, 3, 4];
        d.extend(profile.to_be_bytes());
        d.extend(words.to_be_bytes());
        d.extend(ext);
        d
    }

    #[test]
    fn well_formed_extensions_parse() {
        // One-byte: id 1 with 2 bytes, padding, id 2 with 1 byte.
        let mut d = header(&[0x11, 0xAA, 0xBB, 0x00, 0x20, 0xCC, 0, 0], 0xBEDE, 2);
        d.extend([0xFF; 160]);
        let p = parse(&d).unwrap();
        assert_eq!(p.header.extensions.len(), 2);
        assert_eq!(p.payload.len(), 160);
        // Two-byte: id 7, 3 bytes.
        let mut d = header(&[7, 3, 1, 2, 3, 0, 0, 0], 0x1000, 2);
        d.extend([0xFF; 160]);
        assert_eq!(parse(&d).unwrap().header.extensions[0].payload.len(), 3);
        // Any other profile: one opaque block.
        let mut d = header(&[9; 8], 0x1234, 2);
        d.extend([0xFF; 4]);
        assert_eq!(parse(&d).unwrap().payload.len(), 4);
        // A one-byte element with id 15 ends the block.
        let mut d = header(&[0x10, 0xAA, 0xF0, 0xFF], 0xBEDE, 1);
        d.extend([0x55; 8]);
        assert!(parse(&d).is_ok());
    }

    #[test]
    fn an_element_past_its_block_is_malformed_not_a_panic() {
        let cases = [
            // One-byte element 1 says 16 bytes in a 4-byte block, packet ends.
            (header(&[0x1F, 0, 0, 0], 0xBEDE, 1), "element 1 at byte 16"),
            // Two-byte element 5 says 200 bytes.
            (header(&[5, 200, 0, 0], 0x1000, 1), "element 5 at byte 16"),
            // Two-byte element whose length byte is outside the block.
            (header(&[0, 0, 0, 5], 0x1000, 1), "has no length"),
            // Block longer than the packet.
            (header(&[0x10, 0], 0xBEDE, 4), "past the end"),
        ];
        for (d, expected) in cases {
            let e = parse(&d).unwrap_err().to_string();
            assert!(e.contains(expected), "{e}");
        }
        // In the shape of the fuzzer's crash: a one-byte element (id 7,
        // 8 bytes) in a block of 4 that ends the packet.
        let crash = [
            0x90, 0x00, 0x07, 0x7e, 0x00, 0x00, 0x00, 0x01, 0x8d, 0xe5, 0x00, 0x00, 0xBE, 0xDE,
            0x00, 0x01, 0x7e, 0x00, 0x00, 0x00,
        ];
        assert!(parse(&crash).is_err());
    }
}
