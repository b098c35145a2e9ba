//! Reading a call's record back: the typed record the dialer reported, or
//! one read from the transcript and metrics JSON of rows written before
//! the record existed.

use crate::entity::call_attempt;
use crate::{Result, Store, StoreError};
use huikuan_core::call::CallRecord;
use huikuan_core::Disposition;
use sea_orm::EntityTrait;

/// The record of a reported attempt; `None` while it has no outcome.
/// An error names the attempt and what could not be read.
pub fn call_record_of(attempt: &call_attempt::Model) -> Result<Option<CallRecord>> {
    let unreadable =
        |why: String| StoreError::Conflict(format!("attempt {}: call record: {why}", attempt.id));
    if let Some(json) = &attempt.call_record {
        return serde_json::from_str(json)
            .map(Some)
            .map_err(|e| unreadable(e.to_string()));
    }
    let Some(disposition) = attempt.disposition.as_deref() else {
        return Ok(None);
    };
    let disposition: Disposition = disposition.parse().map_err(unreadable)?;
    let mut record = CallRecord::from_legacy(
        disposition,
        attempt.transcript.as_deref(),
        attempt.metrics.as_deref(),
    )
    .map_err(unreadable)?;
    record.recording = attempt.recording_path.clone();
    record.duration_ms = attempt.duration_ms.unwrap_or(0).max(0) as u64;
    Ok(Some(record))
}

impl Store {
    /// The call record of an attempt (see [`call_record_of`]).
    pub async fn call_record(&self, attempt_id: &str) -> Result<Option<CallRecord>> {
        let attempt = call_attempt::Entity::find_by_id(attempt_id.to_string())
            .one(&self.db)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("attempt {attempt_id}")))?;
        call_record_of(&attempt)
    }
}
