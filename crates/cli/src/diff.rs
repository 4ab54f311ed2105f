//! `ferrocd diff --app NAME SOURCE`: the unified diff between what SOURCE renders and the
//! live objects of the application, like `argocd app diff`. Exit 0 when in sync, 1 when
//! there is a difference, 2 on error. Secret values are masked (`++++++++`).

use clap::Args;
use ferrocd_model::SyncStatusCode;
use serde_json::json;

use crate::Failure;
use crate::direct::{self, DirectArgs};

#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub direct: DirectArgs,
}

pub fn run(args: DiffArgs) -> Result<(), Failure> {
    let args = args.direct;
    let source = direct::load(&args)?;
    crate::run_direct(async move {
        let cluster = direct::connect(&args).await?;
        let state = direct::compare_with_cluster(&cluster, &source).await?;
        let c = &state.comparison;
        let text = if args.json() {
            let mut v = direct::comparison_json(&source.app, c);
            if let (Some(list), true) = (v["resources"].as_array_mut(), true) {
                for (entry, r) in list.iter_mut().zip(&c.resources) {
                    let diff = r.diff.unified();
                    if !diff.is_empty() {
                        entry["diff"] = json!(diff);
                    }
                }
            }
            direct::to_json_text(&v)?
        } else {
            c.unified_diff()
        };
        crate::write_stdout(&text)?;
        if c.sync_status == SyncStatusCode::Synced {
            Ok(())
        } else {
            Err(Failure::silent(1))
        }
    })
}
