//! Seeing circuits: a self-contained HTML tree viewer, Graphviz DOT export, and SVG plots
//! and HTML reports for experiment results.
//!
//! * [`to_html`] with [`HtmlOptions`]: one HTML file (inline CSS, JS and data; no network)
//!   showing circuits as a collapsible tree with the printer's line text, shared nodes
//!   shown once (repeats link to the first occurrence), colorers ([`NodeColorer`]),
//!   name/regex search, shape/size/FLOPs on hover, copy-as-`.circ`-text and lazy
//!   rendering of children (fine for ~10k-node circuits). The page understands URL
//!   parameters: `?expand=all` or `?expand=N`, `?q=REGEX`, `?copy=HASH|root` (writes the
//!   subtree's text into `#copy-out`) and `#HASH` (jump to a node).
//! * [`to_dot`]: Graphviz DOT, one node per distinct circuit, edges labelled by child
//!   position.
//! * [`heatmap_svg`], [`bar_chart_svg`]: hand-written SVG plots; [`report_html`] puts
//!   [`Section`]s (headings, text, SVGs, tables) into one self-contained page.
//!
//! ```
//! use circuit_ir::Circuit;
//! let x = Circuit::scalar(1.0, &[2, 3], Some("x"))?;
//! let html = circuit_viz::to_html(&[x.clone()], &circuit_viz::HtmlOptions::default())?;
//! assert!(html.contains("<html"));
//! let dot = circuit_viz::to_dot(&[x]);
//! assert!(dot.starts_with("digraph"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod dot;
mod error;
mod escape;
mod html;
mod info;
mod report;
mod svg;

pub use dot::{to_dot, to_dot_with, DotOptions};
pub use error::{Result, VizError};
pub use escape::{escape_html, json_for_script};
pub use html::{to_html, HtmlOptions, NodeColorer};
pub use info::{kind_color, line_info, self_flops};
pub use report::{report_html, Section};
pub use svg::{bar_chart_svg, diverging_color, heatmap_svg};
