//! `usdt-monitor demo` (being written).

/// Options of `usdt-monitor demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Shorter waits, for tests.
    #[arg(long)]
    pub fast: bool,
    /// Leave the simulated world running after the scenario.
    #[arg(long)]
    pub keep_running: bool,
}

pub fn main(_args: DemoArgs) -> u8 {
    eprintln!("the demo is not built yet");
    1
}
