//! `ImportAccounts`: a stream of rows fed to the store's importer.

use crate::convert;
use crate::pb;
use huikuan_core::portfolio::{FieldError, RowError};
use huikuan_store::import::{ImportRun, Importer};
use tokio_stream::StreamExt;
use tonic::{Status, Streaming};

/// Row errors returned in one ImportAccounts response; the count of
/// rejected rows is always complete.
const MAX_REPORTED_ROW_ERRORS: usize = 10_000;

/// Feeds an `ImportAccounts` stream to the importer: finishes the import
/// when the stream ends, cancels it (whole batches kept) when the stream
/// breaks off; returns the run, the row errors to report (at most
/// `MAX_REPORTED_ROW_ERRORS`; the count of rejected rows is complete) and
/// the stream's error.
pub async fn import_stream(
    mut importer: Importer,
    first: pb::ImportAccountsRequest,
    mut stream: Streaming<pb::ImportAccountsRequest>,
) -> huikuan_store::Result<(ImportRun, Vec<pb::RowError>, Option<Status>)> {
    let campaign = first.campaign.trim().to_string();
    let mut errors = Vec::new();
    let mut keep = |row_errors: Vec<RowError>| {
        for RowError {
            line,
            errors: fields,
        } in row_errors
        {
            for f in fields {
                if errors.len() < MAX_REPORTED_ROW_ERRORS {
                    errors.push(pb::RowError {
                        row: line,
                        field: f.field,
                        reason: f.reason,
                    });
                }
            }
        }
    };
    let mut row_no = 0u64;
    let mut next = Some(Ok(first));
    while let Some(msg) = next {
        let msg = match msg {
            Ok(msg) => msg,
            Err(e) => {
                let (run, late) = importer.cancel().await?;
                keep(late);
                return Ok((run, errors, Some(e)));
            }
        };
        row_no += 1;
        let later = msg.campaign.trim();
        let raw = if row_no > 1 && !later.is_empty() && later != campaign {
            Err(vec![FieldError {
                field: "campaign".into(),
                reason: format!(
                    "only the first message names the campaign ('{}'); this row names '{}' and was not imported",
                    huikuan_core::truncate(&campaign, huikuan_core::ECHO_CHARS),
                    huikuan_core::truncate(later, huikuan_core::ECHO_CHARS)
                ),
            }])
        } else {
            match msg.row {
                Some(row) => Ok(convert::raw_row(row)),
                None => Err(vec![FieldError {
                    field: "row".into(),
                    reason: "missing".into(),
                }]),
            }
        };
        keep(importer.push(row_no, raw).await?);
        next = stream.next().await;
    }
    let (run, late) = importer.finish().await?;
    keep(late);
    Ok((run, errors, None))
}
