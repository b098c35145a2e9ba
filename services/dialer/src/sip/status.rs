//! What a SIP final response to our INVITE means for the attempt.

use huikuan_core::Disposition;

/// The disposition of an INVITE that did not end in 2xx. `cancelled_by_us`
/// is set when we sent CANCEL on ring timeout (the 487 that follows means
/// nobody answered).
pub fn failure_disposition(code: u16, cancelled_by_us: bool) -> Disposition {
    match code {
        487 if cancelled_by_us => Disposition::NoAnswer,
        486 | 600 | 603 => Disposition::Busy,
        408 | 480 | 487 => Disposition::NoAnswer,
        404 | 410 | 484 | 485 | 604 => Disposition::InvalidNumber,
        _ => Disposition::Failed,
    }
}

/// Whether the failure says anything about the number or only about the
/// network (the attempt should be retried soon rather than scheduled).
pub fn is_network_failure(code: u16) -> bool {
    matches!(code, 401 | 403 | 407 | 500..=599) && !matches!(code, 600 | 603 | 604)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carrier_responses_map_to_dispositions() {
        assert_eq!(failure_disposition(486, false), Disposition::Busy);
        assert_eq!(failure_disposition(603, false), Disposition::Busy);
        assert_eq!(failure_disposition(480, false), Disposition::NoAnswer);
        assert_eq!(failure_disposition(408, false), Disposition::NoAnswer);
        assert_eq!(failure_disposition(487, true), Disposition::NoAnswer);
        assert_eq!(failure_disposition(404, false), Disposition::InvalidNumber);
        assert_eq!(failure_disposition(484, false), Disposition::InvalidNumber);
        assert_eq!(failure_disposition(503, false), Disposition::Failed);
        assert!(is_network_failure(503) && is_network_failure(407));
        assert!(!is_network_failure(486) && !is_network_failure(603));
    }
}
