//! The `dev.xtree.Stats` object of `DurableRuntime.stats()` and `IndexDetails.stats()`, built
//! in one native call: a `long[]` of figures in the order of [`FIGURES`] followed by each
//! field's record count, and a `String[]` of the field names, handed to the package-private
//! constructor `Stats(long[], String[])`.

use jni::objects::{JObject, JValue};
use jni::sys::jsize;
use jni::JNIEnv;

use super::convert::{self, to_jlong};
use super::wrapper::BridgeResult;
use crate::{Error, RuntimeStats};

/// The figures, in the order the Java constructor reads them (`Stats.FIGURES` must match).
pub(crate) const FIGURES: usize = 22;

fn figures(s: &RuntimeStats) -> [u64; FIGURES] {
    [
        s.epoch,
        s.commits,
        s.commit_nanos_total,
        s.commit_nanos_max,
        s.log_syncs,
        s.checkpoints,
        s.checkpoint_nanos_last,
        s.checkpoint_nanos_max,
        s.checkpoint_nanos_total,
        s.checkpoint_pages_total,
        s.last_checkpoint_pages,
        s.checkpoint_epoch,
        s.recovery_nanos,
        s.replayed_transactions,
        s.replayed_records,
        s.disk_bytes,
        s.wal_bytes,
        s.heap_bytes,
        s.loaded_bytes,
        s.segment_bytes,
        s.segment_live_bytes,
        s.compactions,
    ]
}

/// A new `dev.xtree.Stats` holding `s`.
pub(crate) fn new_stats<'local>(
    env: &mut JNIEnv<'local>,
    s: &RuntimeStats,
) -> BridgeResult<JObject<'local>> {
    let values: Vec<i64> = figures(s)
        .into_iter()
        .chain(s.fields.iter().map(|(_, n)| *n))
        .map(to_jlong)
        .collect();
    let names: Vec<String> = s.fields.iter().map(|(n, _)| n.clone()).collect();
    let len = jsize::try_from(values.len())
        .map_err(|_| Error::internal(format!("{} fields", s.fields.len())))?;
    let array = env.new_long_array(len)?;
    env.set_long_array_region(&array, 0, &values)?;
    let names = convert::new_string_array(env, &names)?;
    Ok(env.new_object(
        "dev/xtree/Stats",
        "([J[Ljava/lang/String;)V",
        &[JValue::Object(&array), JValue::Object(&names)],
    )?)
}
