//! SDP offer/answer for G.711 audio calls (RFC 3264): the offer we send
//! (PCMU, PCMA, RFC 4733 telephone-event, 20 ms packets), and reading the
//! peer's SDP (its RTP address, the codec it picked, its DTMF payload type,
//! and whether it holds the call). Parsing is the `sdp` crate's; this
//! module only chooses.

use huikuan_speech::audio::g711::Law;
use sdp::description::common::{Address, Attribute, ConnectionInformation};
use sdp::description::media::{MediaDescription, MediaName, RangedPort};
use sdp::description::session::{Origin, SessionDescription, TimeDescription, Timing};
use std::io::Cursor;
use std::net::{IpAddr, SocketAddr};

/// Our dynamic payload type for telephone-event when we offer.
pub const DTMF_PAYLOAD_TYPE: u8 = 101;

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum SdpError {
    #[error("SDP does not parse: {0}")]
    Syntax(String),
    #[error("SDP has no audio media line (m=audio)")]
    NoAudio,
    #[error("SDP audio has no connection address (c=)")]
    NoAddress,
    #[error("SDP connection address '{0}' is not an IP address")]
    BadAddress(String),
    #[error("SDP audio port {0} is out of range")]
    BadPort(isize),
    #[error("SDP offers no codec we speak (PCMU/PCMA); formats: {0}")]
    NoCommonCodec(String),
}

/// Which way media flows, from the sender of the SDP's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    fn attribute(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// The direction we answer with.
    pub fn reversed(self) -> Direction {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            d => d,
        }
    }

    /// The peer has put the call on hold (it will not listen).
    pub fn is_hold(self) -> bool {
        matches!(self, Direction::SendOnly | Direction::Inactive)
    }
}

/// The audio session one side describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioSession {
    pub rtp: SocketAddr,
    pub law: Law,
    /// Payload type of the codec as the peer numbers it.
    pub payload_type: u8,
    /// The peer's telephone-event payload type, when it does RFC 4733.
    pub dtmf_payload_type: Option<u8>,
    pub direction: Direction,
    pub ptime_ms: u32,
}

impl AudioSession {
    /// Our own kind of session with no negotiation: PCMU, telephone-event
    /// 101, both ways, 20 ms (local legs such as `huikuan talk`).
    pub fn pcmu(rtp: SocketAddr) -> AudioSession {
        AudioSession {
            rtp,
            law: Law::Ulaw,
            payload_type: 0,
            dtmf_payload_type: Some(DTMF_PAYLOAD_TYPE),
            direction: Direction::SendRecv,
            ptime_ms: 20,
        }
    }
}

fn law_payload_type(law: Law) -> u8 {
    match law {
        Law::Ulaw => 0,
        Law::Alaw => 8,
    }
}

/// Builds an SDP body. With `only` set (an answer) just that codec is
/// listed; otherwise PCMU then PCMA (an offer). telephone-event is always
/// offered, with the peer's payload type in an answer.
pub fn build(
    session_id: u64,
    version: u64,
    rtp: SocketAddr,
    only: Option<(Law, Option<u8>)>,
    direction: Direction,
) -> String {
    let ip = rtp.ip();
    let addrtype = if ip.is_ipv4() { "IP4" } else { "IP6" };
    let (codecs, dtmf_pt): (Vec<Law>, u8) = match only {
        Some((law, dtmf)) => (vec![law], dtmf.unwrap_or(DTMF_PAYLOAD_TYPE)),
        None => (vec![Law::Ulaw, Law::Alaw], DTMF_PAYLOAD_TYPE),
    };
    let mut formats: Vec<String> = codecs
        .iter()
        .map(|&l| law_payload_type(l).to_string())
        .collect();
    let offer_dtmf = only.is_none_or(|(_, d)| d.is_some());
    if offer_dtmf {
        formats.push(dtmf_pt.to_string());
    }
    let mut attributes: Vec<Attribute> = codecs
        .iter()
        .map(|&l| {
            let name = match l {
                Law::Ulaw => "PCMU",
                Law::Alaw => "PCMA",
            };
            Attribute::new(
                "rtpmap".into(),
                Some(format!("{} {name}/8000", law_payload_type(l))),
            )
        })
        .collect();
    if offer_dtmf {
        attributes.push(Attribute::new(
            "rtpmap".into(),
            Some(format!("{dtmf_pt} telephone-event/8000")),
        ));
        attributes.push(Attribute::new(
            "fmtp".into(),
            Some(format!("{dtmf_pt} 0-16")),
        ));
    }
    attributes.push(Attribute::new("ptime".into(), Some("20".into())));
    attributes.push(Attribute::new(direction.attribute().into(), None));
    let connection = ConnectionInformation {
        network_type: "IN".into(),
        address_type: addrtype.into(),
        address: Some(Address {
            address: ip.to_string(),
            ttl: None,
            range: None,
        }),
    };
    let desc = SessionDescription {
        origin: Origin {
            username: "huikuan".into(),
            session_id,
            session_version: version,
            network_type: "IN".into(),
            address_type: addrtype.into(),
            unicast_address: ip.to_string(),
        },
        session_name: "huikuan".into(),
        connection_information: Some(connection),
        time_descriptions: vec![TimeDescription {
            timing: Timing {
                start_time: 0,
                stop_time: 0,
            },
            repeat_times: vec![],
        }],
        media_descriptions: vec![MediaDescription {
            media_name: MediaName {
                media: "audio".into(),
                port: RangedPort {
                    value: rtp.port() as isize,
                    range: None,
                },
                protos: vec!["RTP".into(), "AVP".into()],
                formats,
            },
            media_title: None,
            connection_information: None,
            bandwidth: vec![],
            encryption_key: None,
            attributes,
        }],
        ..Default::default()
    };
    desc.marshal()
}

/// Reads the peer's SDP (an offer or an answer). `preferred` picks among
/// several G.711 codecs the peer lists; otherwise its first is taken.
pub fn parse(body: &[u8], preferred: Option<Law>) -> Result<AudioSession, SdpError> {
    let text = String::from_utf8_lossy(body);
    // The sdp crate wants CRLF or LF lines and no stray whitespace at the end.
    let normalized: String = text
        .lines()
        .map(|l| l.trim_end())
        .filter(|l| !l.is_empty())
        .map(|l| format!("{l}\r\n"))
        .collect();
    let desc = SessionDescription::unmarshal(&mut Cursor::new(normalized.as_bytes()))
        .map_err(|e| SdpError::Syntax(e.to_string()))?;
    let media = desc
        .media_descriptions
        .iter()
        .find(|m| m.media_name.media == "audio" && m.media_name.port.value != 0)
        .ok_or(SdpError::NoAudio)?;
    let addr = media
        .connection_information
        .as_ref()
        .or(desc.connection_information.as_ref())
        .and_then(|c| c.address.as_ref())
        .ok_or(SdpError::NoAddress)?;
    // "c=IN IP4 1.2.3.4/127" carries a TTL after the slash for multicast.
    let host = addr.address.split('/').next().unwrap_or_default();
    let ip: IpAddr = host
        .parse()
        .map_err(|_| SdpError::BadAddress(addr.address.clone()))?;
    let port = media.media_name.port.value;
    if !(1..=65535).contains(&port) {
        return Err(SdpError::BadPort(port));
    }

    let rtpmaps: Vec<(u8, String)> = media
        .attributes
        .iter()
        .filter(|a| a.key == "rtpmap")
        .filter_map(|a| {
            let v = a.value.as_deref()?;
            let (pt, rest) = v.split_once(' ')?;
            Some((pt.trim().parse().ok()?, rest.trim().to_ascii_lowercase()))
        })
        .collect();
    let name_of = |pt: u8| -> Option<String> {
        rtpmaps
            .iter()
            .find(|(p, _)| *p == pt)
            .map(|(_, n)| n.clone())
            .or_else(|| match pt {
                0 => Some("pcmu/8000".into()),
                8 => Some("pcma/8000".into()),
                _ => None,
            })
    };
    let mut codecs: Vec<(Law, u8)> = Vec::new();
    let mut dtmf = None;
    for f in &media.media_name.formats {
        let Ok(pt) = f.parse::<u8>() else { continue };
        match name_of(pt).as_deref() {
            Some(n) if n.starts_with("pcmu/8000") => codecs.push((Law::Ulaw, pt)),
            Some(n) if n.starts_with("pcma/8000") => codecs.push((Law::Alaw, pt)),
            Some(n) if n.starts_with("telephone-event/8000") => dtmf = dtmf.or(Some(pt)),
            _ => {}
        }
    }
    let (law, payload_type) = preferred
        .and_then(|p| codecs.iter().find(|(l, _)| *l == p).copied())
        .or_else(|| codecs.first().copied())
        .ok_or_else(|| SdpError::NoCommonCodec(media.media_name.formats.join(" ")))?;

    let direction_of = |attrs: &[Attribute]| {
        attrs.iter().find_map(|a| match a.key.as_str() {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        })
    };
    let mut direction = direction_of(&media.attributes)
        .or_else(|| direction_of(&desc.attributes))
        .unwrap_or(Direction::SendRecv);
    // RFC 2543 hold: c=0.0.0.0.
    if ip.is_unspecified() && direction == Direction::SendRecv {
        direction = Direction::SendOnly;
    }
    let ptime_ms = media
        .attributes
        .iter()
        .find(|a| a.key == "ptime")
        .and_then(|a| a.value.as_deref()?.trim().parse().ok())
        .unwrap_or(20);
    Ok(AudioSession {
        rtp: SocketAddr::new(ip, port as u16),
        law,
        payload_type,
        dtmf_payload_type: dtmf,
        direction,
        ptime_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn our_offer_reads_back() {
        let body = build(7, 1, addr("127.0.0.1:40000"), None, Direction::SendRecv);
        assert!(body.contains("m=audio 40000 RTP/AVP 0 8 101"), "{body}");
        assert!(body.contains("a=fmtp:101 0-16"), "{body}");
        let s = parse(body.as_bytes(), None).unwrap();
        assert_eq!(s.rtp, addr("127.0.0.1:40000"));
        assert_eq!((s.law, s.payload_type), (Law::Ulaw, 0));
        assert_eq!(s.dtmf_payload_type, Some(101));
        assert_eq!(s.direction, Direction::SendRecv);
        let s = parse(body.as_bytes(), Some(Law::Alaw)).unwrap();
        assert_eq!((s.law, s.payload_type), (Law::Alaw, 8));
    }

    #[test]
    fn answer_lists_one_codec_and_the_peers_dtmf_type() {
        let body = build(
            1,
            2,
            addr("10.0.0.2:5004"),
            Some((Law::Alaw, Some(96))),
            Direction::RecvOnly,
        );
        assert!(body.contains("m=audio 5004 RTP/AVP 8 96"), "{body}");
        assert!(body.contains("a=recvonly"), "{body}");
        let body = build(
            1,
            2,
            addr("10.0.0.2:5004"),
            Some((Law::Ulaw, None)),
            Direction::SendRecv,
        );
        assert!(body.contains("m=audio 5004 RTP/AVP 0\r\n"), "{body}");
        assert!(!body.contains("telephone-event"), "{body}");
    }

    #[test]
    fn reads_a_typical_pbx_answer() {
        // As sent by SIPp's uac/uas scenarios and most PBXs: session-level c=,
        // static payload types without rtpmap, LF line ends.
        let body = "v=0\no=user1 53655765 2353687637 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio 6000 RTP/AVP 8 0\na=rtpmap:8 PCMA/8000\n";
        let s = parse(body.as_bytes(), None).unwrap();
        assert_eq!(s.rtp, addr("127.0.0.1:6000"));
        assert_eq!((s.law, s.payload_type), (Law::Alaw, 8));
        assert_eq!(s.dtmf_payload_type, None);
    }

    #[test]
    fn hold_is_recognised_both_ways() {
        let body = "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n";
        assert!(parse(body.as_bytes(), None).unwrap().direction.is_hold());
        let body = build(1, 3, addr("127.0.0.1:6000"), None, Direction::SendOnly);
        let s = parse(body.as_bytes(), None).unwrap();
        assert!(s.direction.is_hold());
        assert_eq!(s.direction.reversed(), Direction::RecvOnly);
    }

    #[test]
    fn bad_sdp_says_what_is_wrong() {
        assert!(matches!(parse(b"hello", None), Err(SdpError::Syntax(_))));
        let video = "v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=video 6000 RTP/AVP 96\r\n";
        assert_eq!(parse(video.as_bytes(), None), Err(SdpError::NoAudio));
        let g729 = "v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 6000 RTP/AVP 18\r\n";
        assert_eq!(
            parse(g729.as_bytes(), None),
            Err(SdpError::NoCommonCodec("18".into()))
        );
        let noaddr = "v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n";
        assert_eq!(parse(noaddr.as_bytes(), None), Err(SdpError::NoAddress));
        let name = "v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 pbx.example\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n";
        assert!(matches!(
            parse(name.as_bytes(), None),
            Err(SdpError::BadAddress(_))
        ));
    }
}
