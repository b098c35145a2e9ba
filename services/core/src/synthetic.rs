//! Synthetic portfolios for demos, tests and benchmarks: plausible debtors
//! across the three dialect regions, reproducible from a seed.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::io::{self, Write};

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "罗", "梁",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超",
    "秀英", "桂英", "建华", "志强",
];
const PRODUCTS: &[&str] = &["消费贷", "现金贷", "信用卡分期", "车贷", "教育分期"];

/// (province, cities, dialect column value); dialect "auto" lets the region decide.
const REGIONS: &[(&str, &[&str], &str)] = &[
    ("四川", &["成都", "绵阳", "宜宾", "南充"], "sichuanese"),
    ("重庆", &["重庆"], "auto"),
    ("广东", &["广州", "深圳", "佛山", "东莞"], "cantonese"),
    ("广西", &["南宁", "梧州"], "auto"),
    ("北京", &["北京"], "mandarin"),
    ("山东", &["济南", "青岛"], "mandarin"),
    ("河南", &["郑州", "洛阳"], "auto"),
    ("江苏", &["南京", "苏州"], "mandarin"),
];

pub const CSV_HEADER: &str =
    "account_id,name,phones,dnc_phones,dialect,province,city,timezone,loan_id,product,principal,overdue_amount,due_date,days_past_due";

/// Writes `rows` synthetic accounts as CSV (with header) to `out`.
/// Account ids are `{prefix}{n:08}`, so two runs with one prefix overlap
/// exactly (for idempotency checks) and different prefixes never do.
pub fn write_csv(out: &mut impl Write, rows: u64, seed: u64, prefix: &str) -> io::Result<()> {
    writeln!(out, "{CSV_HEADER}")?;
    write_rows(out, 0..rows, seed, prefix)
}

/// Writes rows `range` (no header). Row `n` depends only on `seed` and `n`,
/// so a large file can be written in pieces.
pub fn write_rows(
    out: &mut impl Write,
    range: std::ops::Range<u64>,
    seed: u64,
    prefix: &str,
) -> io::Result<()> {
    for n in range {
        let mut rng = StdRng::seed_from_u64(seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let (province, cities, dialect) = REGIONS[rng.random_range(0..REGIONS.len())];
        let city = cities[rng.random_range(0..cities.len())];
        let name = format!(
            "{}{}",
            SURNAMES[rng.random_range(0..SURNAMES.len())],
            GIVEN[rng.random_range(0..GIVEN.len())]
        );
        let mobile = format!(
            "1{}{:09}",
            rng.random_range(3..=9),
            rng.random_range(0..1_000_000_000u64)
        );
        let (phones, dnc) = match rng.random_range(0..10) {
            0..=5 => (mobile, String::new()),
            6..=8 => {
                let second = format!(
                    "1{}{:09}",
                    rng.random_range(3..=9),
                    rng.random_range(0..1_000_000_000u64)
                );
                (format!("{mobile};{second}"), String::new())
            }
            _ => {
                let second = format!(
                    "1{}{:09}",
                    rng.random_range(3..=9),
                    rng.random_range(0..1_000_000_000u64)
                );
                (format!("{mobile};{second}"), second)
            }
        };
        let principal_yuan = rng.random_range(1_000..200_000u64);
        let overdue_fen = rng.random_range(10_000..=principal_yuan * 100 / 2 + 10_000);
        let dpd = rng.random_range(1..180u32);
        let due = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).expect("valid date")
            - chrono::Duration::days(i64::from(dpd));
        let product = PRODUCTS[rng.random_range(0..PRODUCTS.len())];
        writeln!(
            out,
            "{prefix}{n:08},{name},{phones},{dnc},{dialect},{province},{city},,,{product},{principal_yuan}.00,{}.{:02},{},{dpd}",
            overdue_fen / 100,
            overdue_fen % 100,
            due.format("%Y-%m-%d"),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::portfolio::{read_raw, validate, Format};

    #[test]
    fn every_synthetic_row_is_valid_and_reproducible() {
        let mut a = Vec::new();
        write_csv(&mut a, 500, 7, "S").unwrap();
        let mut b = Vec::new();
        write_csv(&mut b, 500, 7, "S").unwrap();
        assert_eq!(a, b);
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let rows: Vec<_> = read_raw(std::io::Cursor::new(a), Format::Csv)
            .unwrap()
            .collect();
        assert_eq!(rows.len(), 500);
        for r in rows {
            let (line, raw) = r.unwrap();
            validate(&raw.unwrap(), today).unwrap_or_else(|e| panic!("line {line}: {e:?}"));
        }
    }
}
