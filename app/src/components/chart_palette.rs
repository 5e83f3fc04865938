//! The colours every chart draws with, so base and head, better and worse read the same on
//! every page (and match the CSS keys in the captions).

use plotters::style::RGBColor;

/// The base run (grey) and the head run (blue); blue is also the AQS line.
pub const BASE: RGBColor = RGBColor(154, 163, 178);
pub const HEAD: RGBColor = RGBColor(51, 85, 204);
/// A change for the worse (red) or the better (green); green is also the pass-rate line.
pub const WORSE: RGBColor = RGBColor(180, 35, 24);
pub const BETTER: RGBColor = RGBColor(26, 127, 75);
/// Text and axes.
pub const INK: RGBColor = RGBColor(60, 66, 80);
/// The light grid lines behind the bars and lines.
pub const GRID: RGBColor = RGBColor(236, 238, 242);
