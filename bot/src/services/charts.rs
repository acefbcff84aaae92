//! Charts people read at a glance: a weekly trend of one or more series, drawn in-process as
//! a PNG sized for a phone, in a palette colour-blind readers can tell apart (Okabe–Ito), with
//! the font embedded in the binary so charts look the same on any server, container or none.
//!
//! [`render`] is CPU work: callers on the async runtime use [`draw`], which runs it with
//! `spawn_blocking`. Messages carry charts as data ([`ChartSpec`]); adapters draw them when
//! they send.

use std::sync::Once;

use chrono::NaiveDate;
use flywheel_insights::message::{ChartSeries, ChartSpec};
use plotters::prelude::*;
use plotters::style::FontStyle;

/// Width and height in pixels: legible on a phone, sharp on a desktop.
pub const SIZE: (u32, u32) = (960, 540);

/// The Okabe–Ito palette (minus black, kept for text), in the order series use it.
pub const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(230, 159, 0),   // orange
    RGBColor(0, 158, 115),   // bluish green
    RGBColor(204, 121, 167), // reddish purple
    RGBColor(86, 180, 233),  // sky blue
    RGBColor(213, 94, 0),    // vermillion
    RGBColor(240, 228, 66),  // yellow
];

/// The most series a chart draws; more would not be told apart.
pub const MAX_SERIES: usize = PALETTE.len();

const FONT: &str = "flywheel-sans";
static FONT_BYTES: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// A named series of weekly counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    /// Its name in the legend.
    pub name: String,
    /// One count per week of [`Trend::weeks`].
    pub counts: Vec<u64>,
}

/// What a chart shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trend {
    /// The title above the chart.
    pub title: String,
    /// The Monday of each week, oldest first.
    pub weeks: Vec<NaiveDate>,
    /// At most [`MAX_SERIES`] series; further ones are left out.
    pub series: Vec<Series>,
}

/// A rendered chart, and where each point was drawn (for tests and alt text).
#[derive(Debug, Clone)]
pub struct Chart {
    /// The PNG file's bytes.
    pub png: Vec<u8>,
    /// For each series drawn, in order, the pixel centre of each week's point.
    pub points: Vec<Vec<(i32, i32)>>,
}

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// Nothing to draw.
    #[error("a chart needs at least one week and one series")]
    Empty,
    /// A series does not have one count per week.
    #[error("series {name:?} has {counts} counts for {weeks} weeks")]
    Mismatch {
        /// The series.
        name: String,
        /// Its counts.
        counts: usize,
        /// The weeks.
        weeks: usize,
    },
    /// Drawing or encoding failed.
    #[error("drawing the chart failed: {0}")]
    Draw(String),
}

fn draw_error(e: impl std::fmt::Display) -> ChartError {
    ChartError::Draw(e.to_string())
}

fn register_font() {
    static REGISTERED: Once = Once::new();
    REGISTERED.call_once(|| {
        // The font is part of the binary; a failure here is a broken build.
        plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES)
            .unwrap_or_else(|_| panic!("the embedded chart font is unreadable"));
    });
}

/// The weekly trend of an answer as a chart of one series named after the question, as a
/// message carries it.
pub fn answer_chart(answer: &flywheel_insights::answer::Answer) -> ChartSpec {
    let name: String = answer.query.chars().take(40).collect();
    ChartSpec {
        title: format!("Insights per week: {name}"),
        weeks: answer.trend.iter().map(|w| w.week_start).collect(),
        series: vec![ChartSeries {
            name,
            counts: answer.trend.iter().map(|w| w.count).collect(),
        }],
    }
}

impl From<&ChartSpec> for Trend {
    fn from(spec: &ChartSpec) -> Trend {
        Trend {
            title: spec.title.clone(),
            weeks: spec.weeks.clone(),
            series: spec
                .series
                .iter()
                .map(|s| Series {
                    name: s.name.clone(),
                    counts: s.counts.clone(),
                })
                .collect(),
        }
    }
}

/// Draws `spec` off the async runtime's threads.
pub async fn draw(spec: &ChartSpec) -> Result<Chart, ChartError> {
    let trend = Trend::from(spec);
    tokio::task::spawn_blocking(move || render(&trend))
        .await
        .map_err(|e| ChartError::Draw(format!("drawing stopped unexpectedly: {e}")))?
}

/// `3 Mar`.
fn week_label(week: &NaiveDate) -> String {
    week.format("%-d %b").to_string()
}

/// Draws `trend` as lines with a marker on each week, one colour per series, a legend, the
/// weeks along the bottom and counts up the side.
pub fn render(trend: &Trend) -> Result<Chart, ChartError> {
    let weeks = trend.weeks.len();
    let series: Vec<&Series> = trend.series.iter().take(MAX_SERIES).collect();
    if weeks == 0 || series.is_empty() {
        return Err(ChartError::Empty);
    }
    if let Some(bad) = series.iter().find(|s| s.counts.len() != weeks) {
        return Err(ChartError::Mismatch {
            name: bad.name.clone(),
            counts: bad.counts.len(),
            weeks,
        });
    }
    register_font();
    let top = series
        .iter()
        .flat_map(|s| s.counts.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    // Head room above the highest point, and a whole number to end on.
    let y_max = top + top.div_ceil(8).max(1);

    let (width, height) = SIZE;
    let mut pixels = vec![0_u8; (width * height * 3) as usize];
    let mut points = Vec::with_capacity(series.len());
    {
        let root = BitMapBackend::with_buffer(&mut pixels, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        let title: String = trend.title.chars().take(70).collect();
        let mut chart = ChartBuilder::on(&root)
            .margin(24)
            .caption(title, (FONT, 34).into_font().color(&BLACK))
            .x_label_area_size(56)
            .y_label_area_size(72)
            .build_cartesian_2d(-0.5_f64..(weeks as f64 - 0.5), 0_f64..y_max as f64)
            .map_err(draw_error)?;
        let labels = trend.weeks.clone();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(RGBColor(235, 235, 235))
            .x_labels(weeks.min(12))
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 {
                    labels.get(i as usize).map(week_label).unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .y_labels(6)
            .y_label_formatter(&|y| format!("{y:.0}"))
            .label_style((FONT, 24).into_font().color(&BLACK))
            .axis_style(BLACK.mix(0.6))
            .draw()
            .map_err(draw_error)?;
        for (n, s) in series.iter().enumerate() {
            let colour = PALETTE[n];
            let coords: Vec<(f64, f64)> = s
                .counts
                .iter()
                .enumerate()
                .map(|(week, count)| (week as f64, *count as f64))
                .collect();
            let name: String = s.name.chars().take(40).collect();
            chart
                .draw_series(LineSeries::new(coords.clone(), colour.stroke_width(4)))
                .map_err(draw_error)?
                .label(name)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 8), (x + 24, y + 8)], colour.filled())
                });
            chart
                .draw_series(
                    coords
                        .iter()
                        .map(|point| Circle::new(*point, 7, colour.filled())),
                )
                .map_err(draw_error)?;
            points.push(coords.iter().map(|p| chart.backend_coord(p)).collect());
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .label_font((FONT, 24).into_font().color(&BLACK))
            .draw()
            .map_err(draw_error)?;
        root.present().map_err(draw_error)?;
    }

    let mut png = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut png, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(draw_error)?;
        writer.write_image_data(&pixels).map_err(draw_error)?;
    }
    Ok(Chart { png, points })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn monday(n: u64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, 5).unwrap() + chrono::Days::new(7 * n)
    }

    /// Width, height and RGB pixels of a PNG.
    fn decode(png: &[u8]) -> (u32, u32, Vec<u8>) {
        let decoder = png::Decoder::new(png);
        let mut reader = decoder.read_info().expect("a PNG");
        let mut pixels = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut pixels).expect("one frame");
        assert_eq!(info.color_type, png::ColorType::Rgb);
        pixels.truncate(info.buffer_size());
        (info.width, info.height, pixels)
    }

    fn pixel(pixels: &[u8], width: u32, (x, y): (i32, i32)) -> RGBColor {
        let at = ((y as u32 * width + x as u32) * 3) as usize;
        RGBColor(pixels[at], pixels[at + 1], pixels[at + 2])
    }

    fn trend() -> Trend {
        Trend {
            title: "Top themes, last 10 weeks".into(),
            weeks: (0..10).map(monday).collect(),
            series: vec![
                Series {
                    name: "Billing".into(),
                    counts: vec![3, 5, 4, 8, 12, 9, 15, 22, 18, 30],
                },
                Series {
                    name: "Onboarding".into(),
                    counts: vec![10, 9, 11, 7, 6, 6, 6, 5, 4, 2],
                },
                Series {
                    name: "Refunds".into(),
                    counts: vec![0, 0, 1, 0, 2, 0, 0, 3, 0, 1],
                },
            ],
        }
    }

    #[test]
    fn a_chart_is_a_phone_sized_png_that_is_not_blank() {
        let chart = render(&trend()).unwrap();
        assert_eq!(&chart.png[..8], b"\x89PNG\r\n\x1a\n");
        let (width, height, pixels) = decode(&chart.png);
        assert_eq!((width, height), SIZE);
        let inked = pixels.chunks(3).filter(|p| p != &[255, 255, 255]).count();
        let share = inked as f64 / (width * height) as f64;
        assert!(share > 0.02 && share < 0.6, "{share}");
    }

    #[test]
    fn each_series_is_drawn_where_its_counts_say() {
        let trend = trend();
        let chart = render(&trend).unwrap();
        let (width, _, pixels) = decode(&chart.png);
        assert_eq!(chart.points.len(), trend.series.len());
        for (n, (series, points)) in trend.series.iter().zip(&chart.points).enumerate() {
            assert_eq!(points.len(), series.counts.len());
            // The series' colour is where each of its points is said to be.
            for point in points {
                assert_eq!(
                    pixel(&pixels, width, *point),
                    PALETTE[n],
                    "{} at {point:?}",
                    series.name
                );
            }
            // Weeks go left to right, evenly.
            let xs: Vec<i32> = points.iter().map(|p| p.0).collect();
            assert!(xs.windows(2).all(|w| w[1] > w[0]));
            // Higher counts are drawn higher up.
            for (count, point) in series.counts.iter().zip(points) {
                for (other_count, other) in series.counts.iter().zip(points) {
                    let rising = (*count as i64 - *other_count as i64).signum();
                    let upward = (other.1 - point.1).signum() as i64;
                    assert_eq!(rising, upward, "{}: {count} vs {other_count}", series.name);
                }
            }
        }
        // The same scale for every series: equal counts, equal heights.
        let billing_3 = chart.points[0][0].1;
        let refunds_3 = chart.points[2][7].1;
        assert!((billing_3 - refunds_3).abs() <= 1);
        let zero = chart.points[2][0].1;
        let thirty = chart.points[0][9].1;
        let per_count = (zero - thirty) as f64 / 30.0;
        for (series, points) in trend.series.iter().zip(&chart.points) {
            for (count, point) in series.counts.iter().zip(points) {
                let expected = zero as f64 - per_count * *count as f64;
                assert!(
                    (point.1 as f64 - expected).abs() <= 1.5,
                    "{}: {count}",
                    series.name
                );
            }
        }
    }

    #[test]
    fn bad_input_is_refused_not_drawn() {
        let mut empty = trend();
        empty.series.clear();
        assert!(matches!(render(&empty), Err(ChartError::Empty)));
        let mut short = trend();
        short.series[1].counts.pop();
        assert!(matches!(render(&short), Err(ChartError::Mismatch { .. })));
        // All zeros still draw, on a scale that starts at zero.
        let mut zeros = trend();
        for series in &mut zeros.series {
            series.counts = vec![0; 10];
        }
        assert!(render(&zeros).is_ok());
    }
}
