//! Progress on stderr, only when stderr is a terminal (never in pipes, logs or CI output).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

fn visible() -> bool {
    std::io::stderr().is_terminal()
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

/// A bar over a known number of items.
pub fn bar(len: u64, message: &str) -> ProgressBar {
    if !visible() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    bar.set_style(style("{msg} [{bar:30}] {pos}/{len} ({elapsed})"));
    bar.set_message(message.to_owned());
    bar
}

/// A spinner with a message, for work of unknown length; `{pos}` counts and `{per_sec}` rates it.
pub fn spinner(message: &str, template: &str) -> ProgressBar {
    if !visible() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(style(template));
    bar.set_message(message.to_owned());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// A spinner whose message `line(elapsed)` writes five times a second, until it is finished.
pub fn ticker(line: impl Fn(Duration) -> String + Send + 'static) -> ProgressBar {
    let bar = spinner("", "{spinner} {msg} [{elapsed}]");
    if bar.is_hidden() {
        return bar;
    }
    let shown = bar.clone();
    tokio::spawn(async move {
        while !shown.is_finished() {
            shown.set_message(line(shown.elapsed()));
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    bar
}
