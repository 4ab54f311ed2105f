//! `ferrocd status --app NAME SOURCE`: every resource of the application with its sync
//! status and health, then the application's. Exit 0 (2 on error).

use clap::Args;

use crate::Failure;
use crate::direct::{self, DirectArgs};

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub direct: DirectArgs,
}

pub fn run(args: StatusArgs) -> Result<(), Failure> {
    let args = args.direct;
    let source = direct::load(&args)?;
    crate::run_direct(async move {
        let cluster = direct::connect(&args).await?;
        let state = direct::compare_with_cluster(&cluster, &source).await?;
        let c = &state.comparison;
        let text = if args.json() {
            direct::to_json_text(&direct::comparison_json(&source.app, c))?
        } else {
            format!(
                "{}\napp {}: sync {}, health {}{}\n",
                direct::table(c),
                source.app,
                c.sync_status,
                c.health.status.as_str(),
                if c.health.message.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", c.health.message)
                }
            )
        };
        crate::write_stdout(&text)
    })
}
