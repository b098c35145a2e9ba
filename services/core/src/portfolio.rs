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

/// An input value as an error message repeats it.
fn echo(value: &str) -> std::borrow::Cow<'_, str> {
    crate::truncate(value, crate::ECHO_CHARS)
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
    // Control characters (a NUL, an escape sequence, a line break inside a
    // field) have no place in a portfolio and would reach screens and logs.
    for column in COLUMNS {
        if raw
            .get(column)
            .is_some_and(|v| v.chars().any(char::is_control))
        {
            errors.push(err(column, "contains control characters"));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
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
                format!(
                    "'{}' must be 1-64 characters of A-Z a-z 0-9 - _ . :",
                    echo(id)
                ),
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
            Ok(phone) if contacts.iter().any(|c| c.phone == phone) => errors.push(err(
                "phones",
                format!("'{}' is listed twice", phone.masked()),
            )),
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
                    format!("'{}' is not one of the account's phones", phone.masked()),
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
            errors.push(err(
                "due_date",
                format!("'{}' is outside 2000-2100", echo(d)),
            ));
            None
        }
        Err(_) => {
            errors.push(err(
                "due_date",
                format!("'{}' is not a date in YYYY-MM-DD form", echo(d)),
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
                    format!("'{}' is not a whole number of days (0-36500)", echo(v)),
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

/// One physical line of a CSV file split into fields, RFC 4180 quoting
/// within the line: a field that starts with `"` runs to the next lone `"`
/// (`""` inside is a quote), anything after it up to the comma is kept as
/// written, and a `"` inside an unquoted field is an ordinary character.
/// `Err(())` when a quoted field is still open at the end of the line.
///
/// Written here rather than taken from the `csv` crate because a record
/// there may span lines: a stray quote makes it read on into the next
/// rows, which then disappear into one bad row. A portfolio record is one
/// line, so an open quote is that line's error and the next line is read
/// afresh.
fn split_csv_line(line: &str) -> Result<Vec<String>, ()> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    // Whether the field has had anything but blanks: a quote opens a
    // quoted field only before that.
    let mut started = false;
    while let Some(c) = chars.next() {
        match c {
            ',' => {
                fields.push(std::mem::take(&mut field));
                started = false;
            }
            '"' if !started => {
                field.clear();
                started = true;
                let mut closed = false;
                while let Some(q) = chars.next() {
                    match q {
                        '"' if chars.peek() == Some(&'"') => {
                            chars.next();
                            field.push('"');
                        }
                        '"' => {
                            closed = true;
                            break;
                        }
                        q => field.push(q),
                    }
                }
                if !closed {
                    return Err(());
                }
            }
            c => {
                started |= !matches!(c, ' ' | '\t');
                field.push(c);
            }
        }
    }
    fields.push(field);
    Ok(fields)
}

/// The error for a line that is not UTF-8: Chinese spreadsheets often save
/// as GBK.
const NOT_UTF8: &str = "not UTF-8 (GBK? save the file as UTF-8)";

/// Physical lines of a file, numbered from 1, without their line ends;
/// `Err` for a line that is not UTF-8 (the reader goes on with the next).
fn numbered_lines(
    reader: impl Read,
) -> impl Iterator<Item = Result<(u64, Result<String, ()>), FileError>> {
    let mut lines = BufReader::new(reader);
    let mut buf = Vec::new();
    let mut line = 0u64;
    std::iter::from_fn(move || {
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
        while matches!(buf.last(), Some(b'\n' | b'\r')) {
            buf.pop();
        }
        Some(Ok((
            line,
            String::from_utf8(std::mem::take(&mut buf)).map_err(|_| ()),
        )))
    })
}

fn csv_rows(
    reader: impl Read + 'static,
) -> Result<Box<dyn Iterator<Item = Result<RawItem, FileError>>>, FileError> {
    let mut lines = numbered_lines(reader);
    let header = loop {
        match lines.next() {
            None => {
                return Err(FileError::Unreadable {
                    line: 1,
                    reason: "header: the file is empty".into(),
                })
            }
            Some(Err(e)) => return Err(e),
            Some(Ok((line, Err(())))) => {
                return Err(FileError::Unreadable {
                    line,
                    reason: format!("header: {NOT_UTF8}"),
                })
            }
            Some(Ok((_, Ok(text)))) if text.trim().is_empty() => continue,
            Some(Ok((line, Ok(text)))) => {
                break split_csv_line(text.trim_start_matches('\u{feff}')).map_err(|_| {
                    FileError::Unreadable {
                        line,
                        reason: "header: unclosed quote".into(),
                    }
                })?
            }
        }
    };
    let index: Vec<Option<&'static str>> = header
        .iter()
        .map(|h| {
            let h = h.trim().to_ascii_lowercase();
            COLUMNS.iter().find(|c| **c == h).copied()
        })
        .collect();
    for column in REQUIRED {
        if !index.contains(&Some(*column)) {
            return Err(FileError::MissingColumn { line: 1, column });
        }
    }
    let width = header.len();
    let iter = lines.filter_map(move |item| {
        let (line, text) = match item {
            Ok(item) => item,
            Err(e) => return Some(Err(e)),
        };
        let Ok(text) = text else {
            return Some(Ok((line, Err(vec![err("row", NOT_UTF8)]))));
        };
        if text.trim().is_empty() {
            return None;
        }
        let Ok(record) = split_csv_line(&text) else {
            return Some(Ok((
                line,
                Err(vec![err(
                    "row",
                    format!("unclosed quote from line {line} (a row is one line; the next line is read as the next row)"),
                )]),
            )));
        };
        if record.len() != width {
            let e = err(
                "row",
                format!("has {} fields, the header has {width}", record.len()),
            );
            return Some(Ok((line, Err(vec![e]))));
        }
        let mut raw = RawRow::default();
        for (col, value) in index.iter().zip(record) {
            if let Some(col) = col {
                raw.set(col, value.trim());
            }
        }
        Some(Ok((line, Ok(raw))))
    });
    Ok(Box::new(iter))
}

fn jsonl_rows(reader: impl Read) -> impl Iterator<Item = Result<RawItem, FileError>> {
    numbered_lines(reader).filter_map(|item| {
        let (line, text) = match item {
            Ok(item) => item,
            Err(e) => return Some(Err(e)),
        };
        let Ok(text) = text else {
            return Some(Ok((line, Err(vec![err("row", NOT_UTF8)]))));
        };
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        Some(Ok((line, json_row(text))))
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
        assert!(first.contains("line 2: phones: '1**45' is not"), "{first}");
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
    fn csv_unclosed_quote_loses_only_its_own_line() {
        let good =
            |id: &str| format!("{id},李四,13812345678,,,广东,,,,现金贷,100,50,2026-11-01,\n");
        let text = format!(
            "{HEADER}{}\"A2,张三,13812345679,,,广东,,,,现金贷,100,50,2026-11-01,\n{}{}",
            good("A1"),
            good("A3"),
            good("A4")
        );
        let out = rows(&text, Format::Csv);
        let lines: Vec<u64> = out.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, vec![2, 3, 4, 5], "every physical line accounted for");
        let e = out[1].1.clone().unwrap_err();
        assert_eq!(e[0].field, "row");
        assert!(
            e[0].reason.starts_with("unclosed quote from line 3"),
            "{e:?}"
        );
        for i in [0, 2, 3] {
            assert!(out[i].1.is_ok(), "line {}: {:?}", out[i].0, out[i].1);
        }
    }

    #[test]
    fn control_characters_are_refused_by_field() {
        let text = format!(
            "{HEADER}A1,张\u{1b}[2J三,13812345678,,,广东,,,,现金\u{0}贷,100,50,2026-11-01,\n"
        );
        let out = rows(&text, Format::Csv);
        let fields: Vec<String> = out[0]
            .1
            .clone()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, vec!["name", "product"]);
    }

    #[test]
    fn csv_quoted_fields_keep_commas_and_quotes() {
        assert_eq!(
            split_csv_line(r#"a,"b,c","say ""hi""", "d" ,e"f"#).unwrap(),
            vec!["a", "b,c", r#"say "hi""#, "d ", r#"e"f"#]
        );
        assert_eq!(split_csv_line(r#"a,"b"#), Err(()));
        assert_eq!(split_csv_line(""), Ok(vec![String::new()]));
    }

    #[test]
    fn gbk_lines_are_reported_on_their_own_line_as_not_utf8() {
        let mut bytes = HEADER.as_bytes().to_vec();
        bytes.extend_from_slice(b"A1,");
        // 张三 and 广东 in GBK.
        bytes.extend_from_slice(&[0xd5, 0xc5, 0xc8, 0xfd]);
        bytes.extend_from_slice(b",13812345678,,,\xb9\xe3\xb6\xab,,,,p,100,50,2026-11-01,\n");
        bytes.extend_from_slice(b"A2,Li,13812345678,,,guangdong,,,,p,100,50,2026-11-01,\n");
        let out: Vec<_> = read_raw(std::io::Cursor::new(bytes), Format::Csv)
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(out[0].0, 2);
        let e = out[0].1.clone().unwrap_err();
        assert!(e[0].reason.contains("not UTF-8 (GBK?"), "{e:?}");
        assert_eq!(out[1].0, 3);
        assert!(out[1].1.is_ok());
    }

    #[test]
    fn errors_mask_phone_numbers_and_cut_long_inputs() {
        let long = "x".repeat(15_000);
        let text = format!(
            "{HEADER}A1,张三,13812345678;13812345678,13900001111,,四川,,,,p,100,50,2026-11-01,\n\
             {long},张三,1381234567x,,,{long},,,,p,100,{long},2026-11-01,\n"
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
        for s in &shown {
            assert!(!s.contains("13812345678"), "{s}");
            assert!(!s.contains("13900001111"), "{s}");
            assert!(s.len() < 2_000, "{} bytes", s.len());
        }
        assert!(
            shown[0].contains("'+86138****5678' is listed twice"),
            "{}",
            shown[0]
        );
        assert!(shown[1].contains("'138***4567x'"), "{}", shown[1]);
        assert_eq!(crate::phone::mask("+8613812345678"), "+86138****5678");
        assert_eq!(crate::phone::mask("028-85123456"), "028-****3456");
        assert_eq!(crate::phone::mask("1234"), "****");
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
