//! `mailtug mirror SRC DST`: a copy, then the destination's flags and
//! deletions made to follow the source.

use anyhow::Result;

use crate::cli::MirrorArgs;
use crate::exit::{usage, ExitCode};
use crate::job::Mirror;

pub async fn run(args: MirrorArgs) -> Result<ExitCode> {
    if args.copy.delete_source || args.copy.delete_after.is_some() {
        return Err(usage(
            "mirror makes the destination follow the source; --delete-source and --delete-after would empty both",
        ));
    }
    let mirror = Mirror {
        delete: args.delete,
        max_delete: args.max_delete,
    };
    super::copy::run_job(args.copy, Some(mirror)).await
}
