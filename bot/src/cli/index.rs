//! The search index from the command line: `flywheel reindex`, and bringing the index up to
//! date with a progress bar before a command searches, when it has much to catch up (a new or
//! deleted index, or a large import by another process).

use std::io::IsTerminal as _;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};

use super::Failure;
use crate::app::App;

/// Below this many insights to index, catching up is quick enough to go unannounced.
const ANNOUNCED: i64 = 5_000;

pub(super) const EXAMPLES: &str = "\
Example:
  flywheel reindex

The search index is derived from the store and rebuilt from it whenever it is missing, of an
older layout or behind; this does it now, from scratch. Stop `flywheel serve` first when it runs
on the same data directory.";

fn bar(what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{what} {{bar:40}} {{pos}}/{{len}} insights, {{per_sec}}, {{eta}} left"
        ))
        .expect("a valid progress template"),
    );
    bar
}

/// Runs `flywheel reindex`.
pub async fn run_reindex(app: &App) -> Result<(), Failure> {
    let bar = bar("indexing");
    let started = std::time::Instant::now();
    let indexed = app
        .store
        .reindex(&|done, total| {
            bar.set_length(total);
            bar.set_position(done);
        })
        .await
        .context("cannot rebuild the search index")?;
    bar.finish_and_clear();
    let status = app
        .store
        .search_status()
        .await
        .context("cannot read the search index")?;
    println!(
        "indexed {indexed} insights in {:.1}s into {}",
        started.elapsed().as_secs_f64(),
        status.place
    );
    Ok(())
}

/// Brings the search index up to the store before a command searches, with a progress bar when
/// there is much to index. Small catch-ups happen silently at the first search anyway.
pub async fn bring_up_to_date(app: &App) -> Result<(), Failure> {
    let status = app
        .store
        .search_status()
        .await
        .context("cannot read the search index")?;
    if status.store_change - status.indexed_change <= 1 || !status.writer {
        return Ok(());
    }
    let bar = bar("updating the search index");
    let announce = status.rebuilt.is_some() || status.documents == 0;
    let indexed = app
        .store
        .sync_search(&|done, total| {
            if announce || total as i64 >= ANNOUNCED {
                bar.set_length(total);
                bar.set_position(done);
            }
        })
        .await
        .context("cannot update the search index")?;
    bar.finish_and_clear();
    if let Some(why) = status.rebuilt.filter(|_| indexed > 0) {
        tracing::info!(place = %status.place, indexed, "search index rebuilt ({why})");
    }
    Ok(())
}
