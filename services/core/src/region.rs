//! Where a debtor lives: province, city and the time zone their calling hours
//! are counted in, plus the dialect prior a province gives.

use crate::Dialect;
use chrono::NaiveDate;
use chrono_tz::Tz;

/// The legal time of all of mainland China: a region's time zone when it
/// names none, and the day imports and relative dates are counted in.
pub const CHINA_TIME: Tz = chrono_tz::Asia::Shanghai;

/// Today's date in China's legal time.
pub fn today_in_china() -> NaiveDate {
    chrono::Utc::now().with_timezone(&CHINA_TIME).date_naive()
}

/// A provincial-level division: canonical Chinese name, pinyin alias, and the
/// dialect most of its callers use.
struct Province {
    name: &'static str,
    pinyin: &'static str,
    dialect: Dialect,
}

const fn prov(name: &'static str, pinyin: &'static str, dialect: Dialect) -> Province {
    Province {
        name,
        pinyin,
        dialect,
    }
}

use Dialect::{Cantonese as Y, Mandarin as M, Sichuanese as S};

const PROVINCES: &[Province] = &[
    prov("北京", "beijing", M),
    prov("天津", "tianjin", M),
    prov("河北", "hebei", M),
    prov("山西", "shanxi", M),
    prov("内蒙古", "neimenggu", M),
    prov("辽宁", "liaoning", M),
    prov("吉林", "jilin", M),
    prov("黑龙江", "heilongjiang", M),
    prov("上海", "shanghai", M),
    prov("江苏", "jiangsu", M),
    prov("浙江", "zhejiang", M),
    prov("安徽", "anhui", M),
    prov("福建", "fujian", M),
    prov("江西", "jiangxi", M),
    prov("山东", "shandong", M),
    prov("河南", "henan", M),
    prov("湖北", "hubei", M),
    prov("湖南", "hunan", M),
    prov("广东", "guangdong", Y),
    prov("广西", "guangxi", Y),
    prov("海南", "hainan", M),
    prov("重庆", "chongqing", S),
    prov("四川", "sichuan", S),
    prov("贵州", "guizhou", S),
    prov("云南", "yunnan", M),
    prov("西藏", "xizang", M),
    prov("陕西", "shaanxi", M),
    prov("甘肃", "gansu", M),
    prov("青海", "qinghai", M),
    prov("宁夏", "ningxia", M),
    prov("新疆", "xinjiang", M),
    prov("香港", "hongkong", Y),
    prov("澳门", "macau", Y),
    prov("台湾", "taiwan", M),
];

/// Suffixes people write after a province name (四川省, 广西壮族自治区).
const SUFFIXES: &[&str] = &[
    "省",
    "市",
    "壮族自治区",
    "回族自治区",
    "维吾尔自治区",
    "自治区",
    "特别行政区",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    /// Canonical Chinese province name, e.g. `四川`.
    pub province: String,
    pub city: Option<String>,
    pub time_zone: Tz,
}

impl Region {
    /// Validates a province (Chinese name with or without suffix, or pinyin),
    /// an optional city and an optional IANA time zone (default Asia/Shanghai,
    /// the legal time of all of mainland China).
    pub fn new(
        province: &str,
        city: Option<&str>,
        time_zone: Option<&str>,
    ) -> Result<Region, (&'static str, String)> {
        let p = find_province(province).ok_or_else(|| {
            (
                "province",
                format!(
                    "'{}' is not a Chinese province-level division",
                    crate::truncate(province.trim(), crate::ECHO_CHARS)
                ),
            )
        })?;
        let time_zone = match time_zone.map(str::trim).filter(|s| !s.is_empty()) {
            None => CHINA_TIME,
            Some(tz) => tz.parse::<Tz>().map_err(|_| {
                (
                    "timezone",
                    format!(
                        "'{}' is not an IANA time zone",
                        crate::truncate(tz, crate::ECHO_CHARS)
                    ),
                )
            })?,
        };
        let city = city
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string);
        Ok(Region {
            province: p.name.to_string(),
            city,
            time_zone,
        })
    }

    /// The dialect a debtor from this province most likely speaks.
    pub fn dialect_prior(&self) -> Dialect {
        find_province(&self.province)
            .map(|p| p.dialect)
            .unwrap_or(Dialect::Mandarin)
    }
}

/// The canonical (Simplified Chinese) name of a province as a person may
/// write it: with or without its suffix, in Traditional characters
/// (廣東, 臺灣) or in pinyin; `None` when it names none.
pub fn canonical_province(input: &str) -> Option<&'static str> {
    find_province(input).map(|p| p.name)
}

fn find_province(input: &str) -> Option<&'static Province> {
    let simplified = crate::script::to_simplified(&crate::script::half_width(input.trim()));
    let t = simplified.trim();
    let lower = t.to_ascii_lowercase().replace([' ', '-'], "");
    let bare = SUFFIXES
        .iter()
        .fold(t, |acc, s| acc.strip_suffix(s).unwrap_or(acc));
    PROVINCES
        .iter()
        .find(|p| p.name == bare || p.pinyin == lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_names_with_suffixes_and_pinyin() {
        assert_eq!(
            Region::new("四川省", Some("成都"), None).unwrap().province,
            "四川"
        );
        assert_eq!(
            Region::new("广西壮族自治区", None, None).unwrap().province,
            "广西"
        );
        assert_eq!(
            Region::new("Guangdong", None, None).unwrap().province,
            "广东"
        );
        assert_eq!(
            Region::new("重庆市", None, None).unwrap().dialect_prior(),
            Dialect::Sichuanese
        );
    }

    #[test]
    fn traditional_names_are_the_simplified_provinces() {
        for (written, canonical) in [
            ("廣東", "广东"),
            ("廣東省", "广东"),
            ("臺灣", "台湾"),
            ("台灣", "台湾"),
            ("澳門", "澳门"),
            ("澳門特別行政區", "澳门"),
            ("內蒙古", "内蒙古"),
            ("內蒙古自治區", "内蒙古"),
            ("Sichuan", "四川"),
            ("四川省", "四川"),
        ] {
            assert_eq!(canonical_province(written), Some(canonical), "{written}");
        }
        assert_eq!(canonical_province("火星"), None);
    }

    #[test]
    fn names_the_bad_field() {
        assert_eq!(Region::new("火星", None, None).unwrap_err().0, "province");
        assert_eq!(
            Region::new("四川", None, Some("Mars/Base")).unwrap_err().0,
            "timezone"
        );
        assert_eq!(
            Region::new("新疆", None, Some("Asia/Urumqi"))
                .unwrap()
                .time_zone,
            chrono_tz::Asia::Urumqi
        );
    }
}
