//! Reading portfolios (CSV and JSON Lines) into validated account records.
//!
//! Every row is validated on its own: a bad row yields field errors naming
//! its line and never stops the rows around it. Only a broken file structure
//! (missing required CSV column, unreadable bytes) stops the whole file.

use crate::{AccountRecord, ContactRecord, DebtRecord, Dialect, Money, PhoneNumber, Region};
use chrono::NaiveDate;
use std::collections::HashMap;
use std::fmt;
use std::io::{BufRead, BufReader, Read};

/// The columns of a portfolio, in the order the sample files use.
pub const COLUMNS: &[&str] = &[
    "account_id",
    "name",
    "phones",
    "dnc_phones",
    "dialect",
    "province",
    "city",
    "timezone",
    "loan_id",
    "product",
    "principal",
    "overdue_amount",
    "due_date",
    "days_past_due",
];

const REQUIRED: &[&str] = &[
    "account_id",
    "name",
    "phones",
    "province",
    "product",
    "principal",
    "overdue_amount",
    "due_date",
];

/// A row as written, before validation: every field optional text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawRow {
    pub fields: HashMap<&'static str, String>,
}

impl RawRow {
    pub fn set(&mut self, column: &'static str, value: impl Into<String>) {
        self.fields.insert(column, value.into());
    }

    fn get(&self, column: &str) -> Option<&str> {
        self.fields
            .get(column)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }
}

/// What is wrong with one field of one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

/// A rejected row: its line in the file and every field error found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub errors: Vec<FieldError>,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "line {}: {}: {}", self.line, e.field, e.reason)?;
        }
        Ok(())
    }
}

/// The file itself cannot be read as a portfolio.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("line {line}: header: missing required column '{column}'")]
    MissingColumn { line: u64, column: &'static str },
    #[error("line {line}: {reason}")]
    Unreadable { line: u64, reason: String },
}

fn err(field: &str, reason: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_string(),
        reason: reason.into(),
    }
}

/// Validates a raw row. `today` is the import day (for days past due when the
/// file does not give them).
pub fn validate(raw: &RawRow, today: NaiveDate) -> Result<AccountRecord, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut required = |field: &'static str| -> Option<&str> {
        let v = raw.get(field);
        if v.is_none() {
            errors.push(err(field, "required"));
        }
        v
    };
    let external_id = required("account_id");
    let name = required("name");
    let phones = required("phones");
    let province = required("province");
    let product = required("product");
    let principal = required("principal");
    let overdue = required("overdue_amount");
    let due_date = required("due_date");

    let external_id = external_id.and_then(|id| {
        let ok = id.len() <= 64
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c));
        if ok {
            Some(id.to_string())
        } else {
            errors.push(err(
                "account_id",
                format!("'{id}' must be 1-64 characters of A-Z a-z 0-9 - _ . :"),
            ));
            None
        }
    });
    let name = name.and_then(|n| {
        if n.chars().count() > 100 {
            errors.push(err("name", "longer than 100 characters"));
            None
        } else {
            Some(n.to_string())
        }
    });

    let mut contacts: Vec<ContactRecord> = Vec::new();
    for p in phones.into_iter().flat_map(split_list) {
        match p.parse::<PhoneNumber>() {
            Ok(phone) if contacts.iter().any(|c| c.phone == phone) => {
                errors.push(err("phones", format!("'{p}' is listed twice")))
            }
            Ok(phone) => contacts.push(ContactRecord { phone, dnc: false }),
            Err(e) => errors.push(err("phones", e)),
        }
    }
    if phones.is_some() && contacts.is_empty() && !errors.iter().any(|e| e.field == "phones") {
        errors.push(err("phones", "no phone number given"));
    }
    for p in raw.get("dnc_phones").into_iter().flat_map(split_list) {
        match p.parse::<PhoneNumber>() {
            Ok(phone) => match contacts.iter_mut().find(|c| c.phone == phone) {
                Some(c) => c.dnc = true,
                None => errors.push(err(
                    "dnc_phones",
                    format!("'{p}' is not one of the account's phones"),
                )),
            },
            Err(e) => errors.push(err("dnc_phones", e)),
        }
    }

    let dialect = match raw
        .get("dialect")
        .map(str::parse::<Dialect>)
        .unwrap_or(Ok(Dialect::Auto))
    {
        Ok(d) => Some(d),
        Err(e) => {
            errors.push(err("dialect", e));
            None
        }
    };
    let region =
        province.and_then(
            |p| match Region::new(p, raw.get("city"), raw.get("timezone")) {
                Ok(r) => Some(r),
                Err((field, reason)) => {
                    errors.push(err(field, reason));
                    None
                }
            },
        );

    let mut money = |field: &str, v: Option<&str>| {
        v.and_then(|v| match v.parse::<Money>() {
            Ok(m) => Some(m),
            Err(e) => {
                errors.push(err(field, e));
                None
            }
        })
    };
    let principal = money("principal", principal);
    let overdue = money("overdue_amount", overdue);

    let due_date = due_date.and_then(|d| match NaiveDate::parse_from_str(d, "%Y-%m-%d") {
        Ok(date) if (2000..=2100).contains(&chrono::Datelike::year(&date)) => Some(date),
        Ok(_) => {
            errors.push(err("due_date", format!("'{d}' is outside 2000-2100")));
            None
        }
        Err(_) => {
            errors.push(err(
                "due_date",
                format!("'{d}' is not a date in YYYY-MM-DD form"),
            ));
            None
        }
    });
    let dpd = match raw.get("days_past_due") {
        Some(v) => match v.parse::<u32>() {
            Ok(n) if n <= 36_500 => Some(n),
            _ => {
                errors.push(err(
                    "days_past_due",
                    format!("'{v}' is not a whole number of days (0-36500)"),
                ));
                None
            }
        },
        None => due_date.map(|d| (today - d).num_days().max(0) as u32),
    };

    if !errors.is_empty() {
        return Err(errors);
    }
    // Every Option below is Some: each None pushed an error above.
    match (
        external_id,
        name,
        dialect,
        region,
        product,
        principal,
        overdue,
        due_date,
        dpd,
    ) {
        (
            Some(external_id),
            Some(name),
            Some(dialect),
            Some(region),
            Some(product),
            Some(principal),
            Some(overdue_amount),
            Some(due_date),
            Some(days_past_due),
        ) => {
            let loan_id = raw.get("loan_id").unwrap_or(&external_id).to_string();
            Ok(AccountRecord {
                external_id,
                name,
                contacts,
                dialect,
                region,
                debt: DebtRecord {
                    loan_id,
                    product: product.to_string(),
                    principal,
                    overdue_amount,
                    due_date,
                    days_past_due,
                },
            })
        }
        _ => Err(vec![err("row", "incomplete")]),
    }
}

fn split_list(s: &str) -> impl Iterator<Item = &str> {
    s.split([';', '|', '；'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
}

/// File formats a portfolio may come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    JsonLines,
}

impl Format {
    /// Guesses the format from a file name: `.jsonl`/`.ndjson` or `.csv`.
    pub fn from_path(path: &str) -> Option<Format> {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".jsonl") || lower.ends_with(".ndjson") {
            Some(Format::JsonLines)
        } else if lower.ends_with(".csv") {
            Some(Format::Csv)
        } else {
            None
        }
    }
}

/// One row read from a file: its line and its raw fields, or why the line
/// could not even be split into fields.
pub type RawItem = (u64, Result<RawRow, Vec<FieldError>>);

/// Streams raw rows out of a portfolio file.
pub fn read_raw(
    reader: impl Read + 'static,
    format: Format,
) -> Result<Box<dyn Iterator<Item = Result<RawItem, FileError>>>, FileError> {
    match format {
        Format::Csv => csv_rows(reader),
        Format::JsonLines => Ok(Box::new(jsonl_rows(reader))),
    }
}

fn csv_rows(
    reader: impl Read + 'static,
) -> Result<Box<dyn Iterator<Item = Result<RawItem, FileError>>>, FileError> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(reader);
    let headers = rdr
        .headers()
        .map_err(|e| FileError::Unreadable {
            line: 1,
            reason: format!("header: {e}"),
        })?
        .clone();
    let mut index: Vec<Option<&'static str>> = Vec::with_capacity(headers.len());
    for h in headers.iter() {
        let h = h.trim_start_matches('\u{feff}').trim().to_ascii_lowercase();
        index.push(COLUMNS.iter().find(|c| **c == h).copied());
    }
    for column in REQUIRED {
        if !index.contains(&Some(*column)) {
            return Err(FileError::MissingColumn { line: 1, column });
        }
    }
    let width = headers.len();
    let mut record = csv::StringRecord::new();
    let iter = std::iter::from_fn(move || {
        let line = rdr.position().line() + 1;
        match rdr.read_record(&mut record) {
            Ok(false) => None,
            Ok(true) => {
                let line = record.position().map(|p| p.line()).unwrap_or(line);
                if record.len() != width {
                    let e = err(
                        "row",
                        format!("has {} fields, the header has {width}", record.len()),
                    );
                    return Some(Ok((line, Err(vec![e]))));
                }
                let mut raw = RawRow::default();
                for (col, value) in index.iter().zip(record.iter()) {
                    if let Some(col) = col {
                        raw.set(col, value);
                    }
                }
                Some(Ok((line, Ok(raw))))
            }
            Err(e) => match e.kind() {
                csv::ErrorKind::Utf8 { .. } => {
                    Some(Ok((line, Err(vec![err("row", "not valid UTF-8")]))))
                }
                _ => Some(Err(FileError::Unreadable {
                    line,
                    reason: e.to_string(),
                })),
            },
        }
    });
    Ok(Box::new(iter))
}

fn jsonl_rows(reader: impl Read) -> impl Iterator<Item = Result<RawItem, FileError>> {
    let mut lines = BufReader::new(reader);
    let mut buf = Vec::new();
    let mut line = 0u64;
    std::iter::from_fn(move || loop {
        buf.clear();
        line += 1;
        match lines.read_until(b'\n', &mut buf) {
            Ok(0) => return None,
            Ok(_) => {}
            Err(e) => {
                return Some(Err(FileError::Unreadable {
                    line,
                    reason: e.to_string(),
                }))
            }
        }
        let Ok(text) = std::str::from_utf8(&buf) else {
            return Some(Ok((line, Err(vec![err("row", "not valid UTF-8")]))));
        };
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        return Some(Ok((line, json_row(text))));
    })
}

fn json_row(text: &str) -> Result<RawRow, Vec<FieldError>> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| vec![err("row", format!("invalid JSON: {e}"))])?;
    let obj = value
        .as_object()
        .ok_or_else(|| vec![err("row", "not a JSON object")])?;
    let mut raw = RawRow::default();
    let mut errors = Vec::new();
    for (key, v) in obj {
        let Some(col) = COLUMNS.iter().find(|c| **c == key.as_str()) else {
            continue;
        };
        let text = match v {
            serde_json::Value::Null => continue,
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            serde_json::Value::Array(items) if matches!(*col, "phones" | "dnc_phones") => {
                let mut parts = Vec::new();
                for item in items {
                    match item {
                        serde_json::Value::String(s) => parts.push(s.clone()),
                        serde_json::Value::Number(n) => parts.push(n.to_string()),
                        _ => errors.push(err(col, "array items must be strings")),
                    }
                }
                parts.join(";")
            }
            _ => {
                errors.push(err(col, "must be a string or number"));
                continue;
            }
        };
        raw.set(col, text);
    }
    if errors.is_empty() {
        Ok(raw)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
    }

    const HEADER: &str = "account_id,name,phones,dnc_phones,dialect,province,city,timezone,loan_id,product,principal,overdue_amount,due_date,days_past_due\n";

    fn rows(text: &str, format: Format) -> Vec<(u64, Result<AccountRecord, Vec<FieldError>>)> {
        read_raw(std::io::Cursor::new(text.to_string().into_bytes()), format)
            .unwrap()
            .map(|r| {
                let (line, raw) = r.unwrap();
                (line, raw.and_then(|raw| validate(&raw, today())))
            })
            .collect()
    }

    #[test]
    fn csv_good_row_is_fully_validated() {
        let text = format!("{HEADER}A1,张三,13812345678;028-85123456,028-85123456,川普,四川省,成都,,L1,消费贷,\"10,000.00\",3250.50,2026-10-01,\n");
        let out = rows(&text, Format::Csv);
        let (line, rec) = &out[0];
        assert_eq!(*line, 2);
        let rec = rec.as_ref().unwrap();
        assert_eq!(rec.dialect, Dialect::Sichuanese);
        assert_eq!(rec.contacts.len(), 2);
        assert!(!rec.contacts[0].dnc && rec.contacts[1].dnc);
        assert_eq!(rec.debt.overdue_amount.fen(), 325_050);
        assert_eq!(rec.debt.days_past_due, 54);
        assert_eq!(rec.region.province, "四川");
    }

    #[test]
    fn csv_bad_rows_name_line_and_field() {
        let text = format!(
            "{HEADER}A1,张三,12345,,klingon,四川,,,,消费贷,100,abc,2026-13-01,\n,李四,13812345678,,,火星,,,,,100,50,2026-01-01,x\n"
        );
        let out = rows(&text, Format::Csv);
        let shown: Vec<String> = out
            .iter()
            .map(|(line, r)| {
                RowError {
                    line: *line,
                    errors: r.clone().unwrap_err(),
                }
                .to_string()
            })
            .collect();
        let first = &shown[0];
        assert!(first.contains("line 2: phones: '12345' is not"), "{first}");
        assert!(
            first.contains("line 2: dialect: unknown dialect 'klingon'"),
            "{first}"
        );
        assert!(
            first.contains("line 2: overdue_amount: 'abc' is not an amount"),
            "{first}"
        );
        assert!(
            first.contains("line 2: due_date: '2026-13-01' is not a date"),
            "{first}"
        );
        let second = &shown[1];
        assert!(second.contains("line 3: account_id: required"), "{second}");
        assert!(second.contains("line 3: product: required"), "{second}");
        assert!(second.contains("line 3: province: '火星'"), "{second}");
        assert!(second.contains("line 3: days_past_due: 'x'"), "{second}");
    }

    #[test]
    fn csv_missing_column_stops_the_file() {
        let e = read_raw(
            std::io::Cursor::new(b"account_id,name\n".to_vec()),
            Format::Csv,
        )
        .err()
        .unwrap();
        assert_eq!(
            e.to_string(),
            "line 1: header: missing required column 'phones'"
        );
    }

    #[test]
    fn csv_short_row_is_rejected_alone() {
        let text =
            format!("{HEADER}A1,张三\nA2,李四,13812345678,,,广东,,,,现金贷,100,50,2026-11-01,\n");
        let out = rows(&text, Format::Csv);
        assert_eq!(out[0].1.clone().unwrap_err()[0].field, "row");
        assert_eq!(
            out[1].1.as_ref().unwrap().effective_dialect(),
            Dialect::Cantonese
        );
    }

    #[test]
    fn jsonl_accepts_arrays_and_numbers_and_reports_bad_lines() {
        let text = concat!(
            "{\"account_id\":\"J1\",\"name\":\"王五\",\"phones\":[\"13900139000\"],\"province\":\"广东\",\"product\":\"信用卡\",\"principal\":5000,\"overdue_amount\":1234.5,\"due_date\":\"2026-11-20\"}\n",
            "\n",
            "{not json}\n",
            "[1,2]\n",
        );
        let out = rows(text, Format::JsonLines);
        assert_eq!(out.len(), 3);
        let rec = out[0].1.as_ref().unwrap();
        assert_eq!(rec.debt.overdue_amount.fen(), 123_450);
        assert_eq!(rec.debt.days_past_due, 4);
        assert_eq!(out[1].0, 3);
        assert!(out[1].1.clone().unwrap_err()[0]
            .reason
            .starts_with("invalid JSON"));
        assert_eq!(out[2].1.clone().unwrap_err()[0].reason, "not a JSON object");
    }

    #[test]
    fn dnc_phone_must_belong_to_the_account() {
        let mut raw = RawRow::default();
        for (k, v) in [
            ("account_id", "A"),
            ("name", "n"),
            ("phones", "13812345678"),
            ("dnc_phones", "13900139000"),
            ("province", "北京"),
            ("product", "p"),
            ("principal", "1"),
            ("overdue_amount", "1"),
            ("due_date", "2026-01-01"),
        ] {
            raw.set(COLUMNS.iter().find(|c| **c == k).unwrap(), v);
        }
        let e = validate(&raw, today()).unwrap_err();
        assert_eq!(e[0].field, "dnc_phones");
    }
}
