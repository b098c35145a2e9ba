//! A call's voices over time: one panel per side (agent or robot above,
//! debtor below), pitch in Hz as a line broken where the side is silent
//! or unvoiced, loudness in dBFS on the right axis, each side's own level
//! in the call as a dashed line, and the flagged stretches shaded, so a
//! supervisor sees at a glance where a voice rose above its own level.

use super::{AMBER, BLUE_, GREY, RED_};
use plotters::prelude::*;

/// One side's track: points of (ms, pitch Hz or none, loudness dBFS).
pub struct Side<'a> {
    pub name: &'a str,
    pub points: &'a [(u64, Option<f32>, f32)],
    pub baseline_pitch_hz: Option<f32>,
    pub baseline_loudness_db: Option<f32>,
    /// Flagged stretches on this side, ms.
    pub flagged: &'a [(u64, u64)],
}

/// The time axis runs this much past the call, for the legend.
const LEGEND_ROOM: f64 = 1.3;
/// Loudness axis: dBFS from here to 0.
const QUIET_DB: f64 = -70.0;

/// The chart of `sides` over a call of `duration_ms`.
pub fn voice_chart(sides: &[Side<'_>], duration_ms: u64) -> Result<String, String> {
    let seconds = (duration_ms.max(1000) as f64) / 1000.0;
    let top_hz = sides
        .iter()
        .flat_map(|s| s.points.iter().filter_map(|p| p.1))
        .fold(200f32, f32::max) as f64
        * 1.15;
    let mut svg = String::new();
    {
        let height = 40 + 210 * sides.len().max(1) as u32;
        let root = SVGBackend::with_string(&mut svg, (1100, height)).into_drawing_area();
        let e = |e: DrawingAreaErrorKind<_>| format!("chart: {e:?}");
        root.fill(&WHITE).map_err(e)?;
        let root = root
            .titled("Pitch and loudness", ("sans-serif", 16))
            .map_err(e)?;
        let panels = root.split_evenly((sides.len().max(1), 1));
        for (side, area) in sides.iter().zip(panels.iter()) {
            let mut chart = ChartBuilder::on(area)
                .caption(side.name, ("sans-serif", 14))
                .margin(8)
                .x_label_area_size(28)
                .y_label_area_size(52)
                .right_y_label_area_size(52)
                // Room on the right for the legend, past the call's end.
                .build_cartesian_2d(0f64..seconds * LEGEND_ROOM, 0f64..top_hz)
                .map_err(e)?
                .set_secondary_coord(0f64..seconds * LEGEND_ROOM, QUIET_DB..0f64);
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_desc("seconds")
                .y_desc("pitch, Hz")
                .x_label_formatter(&|s| format!("{}", s.round() as i64))
                .y_label_formatter(&|v| format!("{}", v.round() as i64))
                .bold_line_style(RGBColor(226, 232, 240))
                .light_line_style(TRANSPARENT)
                .draw()
                .map_err(e)?;
            chart
                .configure_secondary_axes()
                .y_desc("loudness, dBFS")
                .y_label_formatter(&|v| format!("{}", v.round() as i64))
                .draw()
                .map_err(e)?;
            let shade = RED_.mix(0.15).filled();
            if !side.flagged.is_empty() {
                chart
                    .draw_series(side.flagged.iter().map(|&(a, b)| {
                        Rectangle::new(
                            [
                                (a as f64 / 1000.0, 0.0),
                                (b.max(a + 200) as f64 / 1000.0, top_hz),
                            ],
                            shade,
                        )
                    }))
                    .map_err(e)?
                    .label("raised voice (flagged)")
                    .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], shade));
            }
            let loud = side
                .points
                .iter()
                .map(|p| (p.0 as f64 / 1000.0, f64::from(p.2).max(QUIET_DB)));
            chart
                .draw_secondary_series(LineSeries::new(loud, GREY.mix(0.7).stroke_width(1)))
                .map_err(e)?
                .label("loudness (right)")
                .legend(|(x, y)| PathElement::new([(x, y), (x + 14, y)], GREY.stroke_width(1)));
            // Pitch as runs of voiced points.
            let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
            let mut last_ms: Option<u64> = None;
            for &(ms, hz, _) in side.points {
                match hz {
                    Some(hz) => {
                        let joined = last_ms.is_some_and(|l| ms - l <= 200);
                        if !joined || runs.is_empty() {
                            runs.push(Vec::new());
                        }
                        if let Some(run) = runs.last_mut() {
                            run.push((ms as f64 / 1000.0, f64::from(hz)));
                        }
                        last_ms = Some(ms);
                    }
                    None => last_ms = None,
                }
            }
            for (i, run) in runs.into_iter().enumerate() {
                let drawn = chart
                    .draw_series(LineSeries::new(run, BLUE_.stroke_width(2)))
                    .map_err(e)?;
                if i == 0 {
                    drawn.label("pitch").legend(|(x, y)| {
                        PathElement::new([(x, y), (x + 14, y)], BLUE_.stroke_width(2))
                    });
                }
            }
            if let Some(hz) = side.baseline_pitch_hz {
                let hz = f64::from(hz);
                chart
                    .draw_series(DashedLineSeries::new(
                        [(0.0, hz), (seconds, hz)],
                        6,
                        4,
                        BLUE_.mix(0.6).stroke_width(1),
                    ))
                    .map_err(e)?
                    .label(format!("own pitch {hz:.0} Hz"))
                    .legend(|(x, y)| PathElement::new([(x, y), (x + 14, y)], BLUE_.mix(0.6)));
            }
            if let Some(db) = side.baseline_loudness_db {
                let db = f64::from(db);
                chart
                    .draw_secondary_series(DashedLineSeries::new(
                        [(0.0, db), (seconds, db)],
                        6,
                        4,
                        AMBER.stroke_width(1),
                    ))
                    .map_err(e)?
                    .label(format!("own loudness {db:.0} dBFS"))
                    .legend(|(x, y)| PathElement::new([(x, y), (x + 14, y)], AMBER));
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.9))
                .border_style(RGBColor(203, 213, 225))
                .draw()
                .map_err(e)?;
        }
        root.present().map_err(e)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_side_has_its_panel_pitch_runs_levels_and_flagged_stretches() {
        let agent: Vec<(u64, Option<f32>, f32)> = (0..50)
            .map(|i| (i * 100, (i % 10 < 6).then_some(180.0 + i as f32), -30.0))
            .collect();
        let debtor: Vec<(u64, Option<f32>, f32)> = (0..50)
            .map(|i| (i * 100, (i > 30).then_some(320.0), -12.0))
            .collect();
        let svg = voice_chart(
            &[
                Side {
                    name: "agent",
                    points: &agent,
                    baseline_pitch_hz: Some(190.0),
                    baseline_loudness_db: Some(-30.0),
                    flagged: &[],
                },
                Side {
                    name: "debtor",
                    points: &debtor,
                    baseline_pitch_hz: Some(220.0),
                    baseline_loudness_db: Some(-25.0),
                    flagged: &[(3100, 5000)],
                },
            ],
            5000,
        )
        .unwrap();
        assert!(svg.starts_with("<svg"));
        for text in [
            "agent",
            "debtor",
            "own pitch 190 Hz",
            "own pitch 220 Hz",
            "raised voice (flagged)",
            "pitch, Hz",
        ] {
            assert!(super::super::has_text(&svg, text), "{text} missing");
        }
        // The agent's voiced stretches are five separate runs (broken by
        // unvoiced points), the debtor's one: six pitch lines, plus the
        // legends' samples and the loudness lines.
        assert!(svg.matches("<polyline").count() >= 6, "{svg}");
    }
}
