//! Outcome reports as they arrive over gRPC: parsed and checked field by
//! field (the store then judges them against their attempt), and the
//! recording path kept inside the recordings directory.

use crate::convert::invalid;
use crate::pb;
use chrono::{DateTime, NaiveDate, Utc};
use huikuan_core::{Disposition, Money};
use huikuan_store::OutcomeReport;
use std::path::{Component, Path};
use tonic::Status;

/// A reported recording as stored: a path inside the recordings directory,
/// relative to it (`2026-12-04/7f3c….wav`). An absolute path is taken when
/// it lies inside `recordings` (the directory this server knows) and
/// stored relative; anything that could name a file elsewhere (`..`, an
/// absolute path outside, odd characters) is refused.
pub fn recording_path(raw: &str, recordings: Option<&Path>) -> Result<Option<String>, Status> {
    let refuse = |why: &str| Err(invalid("recording_path", why));
    if raw.is_empty() {
        return Ok(None);
    }
    if raw.len() > 512 {
        return refuse("longer than 512 bytes");
    }
    if !raw
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b))
    {
        return refuse("only A-Z a-z 0-9 - _ . / may name a recording");
    }
    let path = Path::new(raw);
    let inside = if path.is_absolute() {
        match recordings.and_then(|dir| path.strip_prefix(dir).ok()) {
            Some(rest) => rest,
            None => return refuse("must be inside the recordings directory"),
        }
    } else {
        path
    };
    if inside.as_os_str().is_empty()
        || !inside
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
    {
        return refuse("must name a file inside the recordings directory (no '..', no '.')");
    }
    Ok(inside.to_str().map(str::to_string))
}

/// One report's error inside a batch, its message prefixed with where the
/// report sits (`reports[3].disposition: ...`).
pub fn report_error(prefix: &str, e: Status) -> pb::ReportOutcomeResult {
    let message = if e.code() == tonic::Code::InvalidArgument {
        format!("{prefix}{}", e.message())
    } else {
        format!("{}: {}", prefix.trim_end_matches('.'), e.message())
    };
    pb::ReportOutcomeResult {
        result: Some(pb::report_outcome_result::Result::Error(pb::ReportError {
            code: e.code() as i32,
            message,
        })),
    }
}

/// A worker id as leases and reports carry it: 1-128 bytes of printable
/// text (it is logged and shown to people).
pub fn check_worker_id(worker: &str) -> Result<(), Status> {
    if worker.is_empty() || worker.len() > 128 {
        return Err(invalid("worker_id", "must be 1-128 bytes"));
    }
    if worker.chars().any(char::is_control) {
        return Err(invalid("worker_id", "contains control characters"));
    }
    Ok(())
}

pub fn parse_report(
    r: pb::ReportOutcomeRequest,
    recordings: Option<&Path>,
) -> Result<OutcomeReport, Status> {
    if r.attempt_id.trim().is_empty() {
        return Err(invalid("attempt_id", "required"));
    }
    if r.worker_id.trim().is_empty() {
        return Err(invalid("worker_id", "required"));
    }
    check_worker_id(&r.worker_id)?;
    let disposition: Disposition = r
        .disposition
        .parse()
        .map_err(|e| invalid("disposition", e))?;
    let promise = match (r.promise_date.trim(), r.promise_amount.trim()) {
        ("", "") => None,
        (d, a) => {
            let date = NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
                invalid(
                    "promise_date",
                    format!("'{d}' is not a date in YYYY-MM-DD form"),
                )
            })?;
            let amount: Money = a.parse().map_err(|e| invalid("promise_amount", e))?;
            Some((date, amount))
        }
    };
    let callback_at = match r.callback_at.trim() {
        "" => None,
        t => Some(
            DateTime::parse_from_rfc3339(t)
                .map_err(|_| invalid("callback_at", format!("'{t}' is not an RFC 3339 time")))?
                .with_timezone(&Utc),
        ),
    };
    if r.duration_ms < 0 {
        return Err(invalid("duration_ms", "must not be negative"));
    }
    if r.note.len() > 4096 {
        return Err(invalid("note", "longer than 4096 bytes"));
    }
    let recording_path = recording_path(&r.recording_path, recordings)?;
    let call = match r.record {
        None => None,
        Some(record) => {
            let mut call =
                huikuan_proto::call::from_pb(record).map_err(|e| invalid(&e.field, e.reason))?;
            // The record's recording is the report's, checked above.
            call.recording = recording_path.clone();
            Some(call)
        }
    };
    Ok(OutcomeReport {
        attempt_id: r.attempt_id,
        lease_token: r.lease_token,
        worker_id: r.worker_id,
        disposition,
        note: Some(r.note).filter(|n| !n.is_empty()),
        duration_ms: r.duration_ms,
        promise,
        settles_balance: r.settles_balance,
        callback_at,
        recording_path,
        call,
    })
}

#[cfg(test)]
mod tests {
    use super::recording_path;
    use std::path::Path;

    #[test]
    fn recordings_stay_inside_their_directory() {
        let dir = Some(Path::new("/srv/huikuan/recordings"));
        for (raw, stored) in [
            ("2026-12-04/ab12.wav", "2026-12-04/ab12.wav"),
            (
                "/srv/huikuan/recordings/2026-12-04/ab12.wav",
                "2026-12-04/ab12.wav",
            ),
        ] {
            assert_eq!(recording_path(raw, dir).unwrap().as_deref(), Some(stored));
        }
        assert_eq!(recording_path("", dir).unwrap(), None);
        for raw in [
            "../../../../etc/shadow",
            "2026-12-04/../../x.wav",
            "/etc/shadow",
            "/srv/huikuan/recordings/../secrets.wav",
            "/srv/huikuan/recordings",
            "./x.wav",
            "a b.wav",
            "x.wav\u{0}",
        ] {
            let e = recording_path(raw, dir).unwrap_err();
            assert!(e.message().starts_with("recording_path:"), "{raw}: {e:?}");
        }
        // A server that knows no recordings directory takes relative paths only.
        assert!(recording_path("/srv/huikuan/recordings/x.wav", None).is_err());
    }
}
