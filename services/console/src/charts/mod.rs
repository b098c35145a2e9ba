//! The console's charts, drawn on the server as SVG with `plotters`: a
//! day by hour, with stacked bars (calls planned per channel, calls made)
//! and step lines (capacity, contacts) over them, the way a manager reads
//! "how much against how much room" at a glance.
//!
//! A call's pitch and loudness over time per side, with its flagged
//! stretches, is [`voice`].
//!
//! Pure: numbers in, an SVG document out; the pages serve it as an image
//! (the console's CSP allows same-origin images, not inline scripts).

pub mod voice;

use plotters::prelude::*;

/// One named series of 24 hourly values and its colour.
pub struct Hourly<'a> {
    pub name: &'a str,
    pub colour: RGBColor,
    pub values: [u64; 24],
}

/// Colours a person tells apart (and in print).
pub const BLUE_: RGBColor = RGBColor(37, 99, 235);
pub const GREEN_: RGBColor = RGBColor(5, 150, 105);
pub const AMBER: RGBColor = RGBColor(217, 119, 6);
pub const RED_: RGBColor = RGBColor(185, 28, 28);
pub const GREY: RGBColor = RGBColor(100, 116, 139);
pub const PURPLE: RGBColor = RGBColor(124, 58, 237);

/// The hours to show: those the bars have anything in, widened to at
/// least 08:00-21:00 (a collection day), whole hours `[from, to)`. Lines
/// (capacity) do not widen it: a centre's capacity may run all day.
fn shown_hours(series: &[Hourly<'_>]) -> (usize, usize) {
    let used: Vec<usize> = (0..24)
        .filter(|h| series.iter().any(|s| s.values[*h] > 0))
        .collect();
    let from = used.first().copied().unwrap_or(8).min(8);
    let to = used.last().map_or(21, |h| h + 1).max(21);
    (from, to)
}

/// A chart of the day by hour: `bars` stacked in each hour, `lines` as
/// steps across it; `y_label` names the unit.
pub fn day_by_hour(
    title: &str,
    y_label: &str,
    bars: &[Hourly<'_>],
    lines: &[Hourly<'_>],
) -> Result<String, String> {
    let (from, to) = shown_hours(bars);
    let stacked = |h: usize| bars.iter().map(|b| b.values[h]).sum::<u64>();
    let top = (from..to)
        .map(|h| stacked(h).max(lines.iter().map(|l| l.values[h]).max().unwrap_or(0)))
        .max()
        .unwrap_or(0);
    // Headroom for the legend above the tallest bar.
    let y_max = ((top as f64) * 1.25).max(4.0);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 320)).into_drawing_area();
        let e = |e: DrawingAreaErrorKind<_>| format!("chart: {e:?}");
        root.fill(&WHITE).map_err(e)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(34)
            .y_label_area_size(48)
            .build_cartesian_2d(from as f64..to as f64, 0f64..y_max)
            .map_err(e)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(to - from + 1)
            .x_label_formatter(&|h| format!("{:02}", h.round() as i64))
            .y_label_formatter(&|v| format!("{}", v.round() as i64))
            .x_desc("hour")
            .y_desc(y_label)
            .y_labels(6)
            .bold_line_style(RGBColor(226, 232, 240))
            .light_line_style(TRANSPARENT)
            .draw()
            .map_err(e)?;
        for (i, b) in bars.iter().enumerate() {
            let rects = (from..to).filter(|h| b.values[*h] > 0).map(|h| {
                let base: u64 = bars[..i].iter().map(|s| s.values[h]).sum();
                let x = h as f64;
                Rectangle::new(
                    [
                        (x + 0.12, base as f64),
                        (x + 0.88, (base + b.values[h]) as f64),
                    ],
                    b.colour.filled(),
                )
            });
            let colour = b.colour;
            chart
                .draw_series(rects)
                .map_err(e)?
                .label(b.name)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.filled())
                });
        }
        for l in lines {
            let steps = (from..to).flat_map(|h| {
                let v = l.values[h] as f64;
                [(h as f64, v), (h as f64 + 1.0, v)]
            });
            let colour = l.colour;
            chart
                .draw_series(LineSeries::new(steps, colour.stroke_width(2)))
                .map_err(e)?
                .label(l.name)
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 14, y)], colour.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(203, 213, 225))
            .draw()
            .map_err(e)?;
        root.present().map_err(e)?;
    }
    Ok(svg)
}

/// The SVG has `text` as a whole text element.
#[cfg(test)]
pub(crate) fn has_text(svg: &str, text: &str) -> bool {
    svg.split("<text").skip(1).any(|t| {
        t.split_once('>')
            .is_some_and(|(_, rest)| rest.split("</text>").next().map(str::trim) == Some(text))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hourly(pairs: &[(usize, u64)]) -> [u64; 24] {
        let mut v = [0; 24];
        for (h, n) in pairs {
            v[*h] = *n;
        }
        v
    }

    #[test]
    fn a_day_chart_has_its_series_hours_and_bars() {
        let svg = day_by_hour(
            "Planned calls",
            "calls",
            &[
                Hourly {
                    name: "robot",
                    colour: BLUE_,
                    values: hourly(&[(9, 40), (19, 60)]),
                },
                Hourly {
                    name: "agent",
                    colour: GREEN_,
                    values: hourly(&[(19, 5)]),
                },
            ],
            &[Hourly {
                name: "robot capacity",
                colour: RED_,
                values: hourly(&[(9, 50), (10, 50), (19, 50)]),
            }],
        )
        .unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80.min(svg.len())]);
        for text in ["Planned calls", "robot capacity", "agent", "08", "21"] {
            assert!(has_text(&svg, text), "{text} missing");
        }
        // Three bars (robot at 9 and 19, agent at 19) and the legend's
        // three swatches, over the background and the legend's box.
        assert!(svg.matches("<rect").count() >= 6, "{svg}");
        // Hours outside 08-21 are shown when they have calls.
        let early = day_by_hour(
            "x",
            "calls",
            &[Hourly {
                name: "calls",
                colour: BLUE_,
                values: hourly(&[(6, 1)]),
            }],
            &[],
        )
        .unwrap();
        assert!(has_text(&early, "06"));
        assert!(
            !has_text(&svg, "06"),
            "08:00-21:00 unless calls are earlier"
        );
    }
}
