//! Charts as the platforms received them, read back: a PNG is decoded and held to what it was
//! meant to show, so a test proves more than "some bytes arrived".

use std::collections::HashSet;

use flywheel::services::charts::{self, PALETTE, SIZE, Trend};
use flywheel_insights::message::ChartSpec;

/// A decoded image: width, height and RGB pixels, row by row.
#[derive(Debug, Clone)]
pub struct Image {
    /// Pixels across.
    pub width: u32,
    /// Pixels down.
    pub height: u32,
    /// Three bytes a pixel.
    pub pixels: Vec<u8>,
}

impl Image {
    /// The colour at `(x, y)`.
    pub fn at(&self, (x, y): (i32, i32)) -> [u8; 3] {
        let at = ((y as u32 * self.width + x as u32) * 3) as usize;
        [self.pixels[at], self.pixels[at + 1], self.pixels[at + 2]]
    }

    /// The colours within `radius` of `centre` (inside the image).
    pub fn disc(&self, centre: (i32, i32), radius: i32) -> impl Iterator<Item = [u8; 3]> + '_ {
        (-radius..=radius)
            .flat_map(move |dy| (-radius..=radius).map(move |dx| (dx, dy)))
            .filter(move |(dx, dy)| dx * dx + dy * dy <= radius * radius)
            .map(move |(dx, dy)| (centre.0 + dx, centre.1 + dy))
            .filter(|(x, y)| {
                *x >= 0 && *y >= 0 && (*x as u32) < self.width && (*y as u32) < self.height
            })
            .map(|p| self.at(p))
    }

    /// Whether any pixel has exactly `colour`.
    pub fn has(&self, colour: [u8; 3]) -> bool {
        self.pixels.chunks(3).any(|p| p == colour)
    }

    /// How many distinct colours the image uses.
    pub fn colours(&self) -> usize {
        self.pixels
            .chunks(3)
            .map(|p| [p[0], p[1], p[2]])
            .collect::<HashSet<_>>()
            .len()
    }
}

/// The radius of the disc looked at around each point: a point is drawn as a filled circle of
/// radius 7.
const DISC: i32 = 6;
/// How many of the disc's 113 pixels must be in the series' colour: a line of another series
/// crossing it covers fewer than 60.
const DISC_INKED: usize = 50;

/// Decodes a PNG of RGB or RGBA pixels, failing the test when it is not one.
pub fn decode(png: &[u8]) -> Image {
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "not a PNG: {} bytes",
        png.len()
    );
    let decoder = png::Decoder::new(png);
    let mut reader = decoder.read_info().expect("a readable PNG");
    let mut buffer = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buffer).expect("one frame");
    buffer.truncate(info.buffer_size());
    let pixels = match info.color_type {
        png::ColorType::Rgb => buffer,
        png::ColorType::Rgba => buffer.chunks(4).flat_map(|p| [p[0], p[1], p[2]]).collect(),
        other => panic!("unexpected colour type {other:?}"),
    };
    Image {
        width: info.width,
        height: info.height,
        pixels,
    }
}

/// The colour of series `n`.
fn colour(n: usize) -> [u8; 3] {
    let c = PALETTE[n];
    [c.0, c.1, c.2]
}

/// Holds the chart `png` to showing `expected` (title, weeks and, per series, its weekly
/// counts), as Flywheel draws it:
///
/// - it is a PNG of [`SIZE`], neither blank nor a solid block, in many colours (text, grid,
///   lines);
/// - each series' colour is in the image, and the colours of series it does not have are not;
/// - where each week's point of each series must be for its count (worked out by drawing
///   `expected` again: higher counts sit higher, on one scale), the image has that series'
///   colour.
///
/// Returns the decoded image.
pub fn assert_chart(png: &[u8], expected: &ChartSpec) -> Image {
    let image = decode(png);
    assert_eq!((image.width, image.height), SIZE, "the chart's size");
    let white = image
        .pixels
        .chunks(3)
        .filter(|p| *p == [255, 255, 255])
        .count();
    let inked = 1.0 - white as f64 / (image.width * image.height) as f64;
    assert!(
        inked > 0.02 && inked < 0.6,
        "a chart is neither blank nor a block: {inked:.3} of it is inked"
    );
    assert!(image.colours() >= 8, "only {} colours", image.colours());
    let series = expected.series.len().min(charts::MAX_SERIES);
    for n in 0..PALETTE.len() {
        assert_eq!(
            image.has(colour(n)),
            n < series,
            "the colour of series {n} is drawn iff the chart has {} series",
            series
        );
    }
    let reference = charts::render(&Trend::from(expected)).expect("the expected chart draws");
    for (n, (points, wanted)) in reference.points.iter().zip(&expected.series).enumerate() {
        for (week, (point, count)) in points.iter().zip(&wanted.counts).enumerate() {
            // A later series' point drawn over this one hides it.
            let hidden = reference.points[n + 1..]
                .iter()
                .flatten()
                .any(|other| (other.0 - point.0).abs() <= 14 && (other.1 - point.1).abs() <= 14);
            if hidden {
                continue;
            }
            // The point's disc is in the series' colour, but for a line crossing it.
            let inked = image.disc(*point, DISC).filter(|c| *c == colour(n)).count();
            assert!(
                inked >= DISC_INKED,
                "series {:?}, week {week}: only {inked} pixels of its colour where its point for \
                 {count} belongs, at {point:?}",
                wanted.name
            );
        }
    }
    image
}

#[cfg(test)]
mod tests {
    use super::*;
    use flywheel_insights::message::ChartSeries;

    fn spec(billing: Vec<u64>, onboarding: Vec<u64>) -> ChartSpec {
        let monday = chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        ChartSpec {
            title: "Top themes".into(),
            weeks: (0..billing.len() as u64)
                .map(|n| monday + chrono::Days::new(7 * n))
                .collect(),
            series: vec![
                ChartSeries {
                    name: "Billing".into(),
                    counts: billing,
                },
                ChartSeries {
                    name: "Onboarding".into(),
                    counts: onboarding,
                },
            ],
        }
    }

    fn png_of(spec: &ChartSpec) -> Vec<u8> {
        charts::render(&Trend::from(spec)).unwrap().png
    }

    #[test]
    fn a_chart_is_held_to_its_counts_and_series() {
        let drawn = spec(vec![1, 0, 2, 5, 3], vec![0, 0, 4, 1, 1]);
        let png = png_of(&drawn);
        assert_chart(&png, &drawn);
        let fails = |expected: ChartSpec| {
            let png = png.clone();
            std::panic::catch_unwind(move || {
                assert_chart(&png, &expected);
            })
            .is_err()
        };
        // One count off, the series swapped, a series missing: each is told apart.
        assert!(fails(spec(vec![1, 0, 2, 4, 3], vec![0, 0, 4, 1, 1])));
        assert!(fails(spec(vec![0, 0, 4, 1, 1], vec![1, 0, 2, 5, 3])));
        let mut one = drawn.clone();
        one.series.pop();
        assert!(fails(one));
        assert!(std::panic::catch_unwind(|| decode(b"GIF89a")).is_err());
    }
}
