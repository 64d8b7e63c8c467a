//! Native methods of `dev.xtree.DurableRuntime`: a durable [`Runtime`] over one data directory
//! whose fields are handed to Java as `IndexDetails` handles. The handle is a
//! `Box<Arc<Runtime>>`; each field handle holds another `Arc` of the same runtime, so a field
//! stays memory-safe after the `DurableRuntime` is closed and freed, and its calls then fail
//! with `ErrorKind::Closed` (Java's `IllegalStateException`).

use std::sync::Arc;

use jni::objects::{JClass, JObjectArray, JString};
use jni::sys::{jboolean, jint, jlong, jobject, jobjectArray};
use jni::JNIEnv;

use super::convert::{self, borrow_handle, into_handle, take_handle, to_jlong};
use super::fault_plan;
use super::index_details::{index_options, IndexHandle};
use super::wrapper::{call, BridgeResult};
use crate::engine::failing::FailingBackend;
use crate::Error;
use crate::{Runtime, RuntimeOptions};

/// The runtime behind a handle from [`Java_dev_xtree_DurableRuntime_nativeOpen`].
fn runtime<'a>(handle: jlong) -> BridgeResult<&'a Arc<Runtime>> {
    // SAFETY: `DurableRuntime` passes the handle returned by nativeOpen, or 0 once closed, and
    // frees it (nativeFree) only after every call using it has returned (NativeHandle).
    unsafe { borrow_handle::<Arc<Runtime>>(handle, "DurableRuntime") }
}

/// `long nativeOpen(String dataDir, int durability, long memoryBudget)`: opens (creating if
/// needed) and locks the data directory, recovering its last committed state. `durability` is
/// `Durability.ordinal()`; `memoryBudget` is in bytes, 0 for none.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_DurableRuntime_nativeOpen<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    data_dir: JString<'local>,
    durability: jint,
    memory_budget: jlong,
) -> jlong {
    call(&mut env, "DurableRuntime.nativeOpen", |env| {
        let data_dir = convert::data_dir(env, &data_dir, "dataDir")?;
        let mut options = options(durability)?;
        options.memory_budget = memory_budget_option(memory_budget)?;
        Ok(into_handle(Arc::new(Runtime::open(&data_dir, options)?)))
    })
}

/// `long nativeOpenReadOnly(String dataDir)`: opens the existing data directory read-only under
/// a shared lock ([`Runtime::open_read_only`]); writes on it fail with `ErrorKind::ReadOnly`
/// (Java's `IllegalStateException`).
#[no_mangle]
pub extern "system" fn Java_dev_xtree_DurableRuntime_nativeOpenReadOnly<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    data_dir: JString<'local>,
) -> jlong {
    call(&mut env, "DurableRuntime.nativeOpenReadOnly", |env| {
        let data_dir = convert::data_dir(env, &data_dir, "dataDir")?;
        Ok(into_handle(Arc::new(Runtime::open_read_only(&data_dir)?)))
    })
}

/// The memory budget of a Java `long` in bytes: 0 for none, negative refused.
pub(crate) fn memory_budget_option(bytes: jlong) -> BridgeResult<Option<u64>> {
    match u64::try_from(bytes) {
        Ok(0) => Ok(None),
        Ok(b) => Ok(Some(b)),
        Err(_) => Err(Error::invalid(format!("memoryBudget {bytes} is negative")).into()),
    }
}

/// The runtime options of a Java `Durability.ordinal()`: the library defaults otherwise.
fn options(durability: jint) -> BridgeResult<RuntimeOptions> {
    Ok(RuntimeOptions {
        durability: convert::durability(durability)?,
        ..RuntimeOptions::default()
    })
}

/// `long nativeOpenWithFaults(String dataDir, int durability, long faultPlan)`: as
/// [`Java_dev_xtree_DurableRuntime_nativeOpen`], but every file operation goes through a
/// `FailingBackend` over the directory's real files that fails the calls the `FaultPlan` handle
/// names (a package-private test hook of `DurableRuntime`).
#[no_mangle]
pub extern "system" fn Java_dev_xtree_DurableRuntime_nativeOpenWithFaults<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    data_dir: JString<'local>,
    durability: jint,
    fault_plan: jlong,
) -> jlong {
    call(&mut env, "DurableRuntime.nativeOpenWithFaults", |env| {
        let data_dir = convert::data_dir(env, &data_dir, "dataDir")?;
        let options = options(durability)?;
        let plan = fault_plan::plan(fault_plan)?.clone();
        let runtime = Runtime::open_dir_with(&data_dir, options, |std| {
            Arc::new(FailingBackend::new(std, plan))
        })?;
        Ok(into_handle(Arc::new(runtime)))
    })
}

/// `void nativeFree(long handle)`: closes the runtime (final sync, checkpoint, lock released;
/// errors are thrown after the handle is freed) and frees the handle.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_DurableRuntime_nativeFree<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) {
    call(&mut env, "DurableRuntime.nativeFree", |_| {
        // SAFETY: NativeHandle.close calls this exactly once, with the handle from nativeOpen,
        // after every other call using it has returned.
        match unsafe { take_handle::<Arc<Runtime>>(handle) } {
            Some(runtime) => Ok(runtime.close()?),
            None => Ok(()),
        }
    })
}

/// `long nativeField(long handle, String name, int dimension, int precision, String[] labels,
/// int nodeSize)`: opens or creates field `name` and returns a new `IndexDetails` handle on it
/// that does not own the runtime. `nodeSize` 0 selects the library default.
#[no_mangle]
#[allow(clippy::too_many_arguments)] // the JNI signature: env, class, then the Java parameters
pub extern "system" fn Java_dev_xtree_DurableRuntime_nativeField<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    name: JString<'local>,
    dimension: jint,
    precision: jint,
    labels: JObjectArray<'local>,
    node_size: jint,
) -> jlong {
    call(&mut env, "DurableRuntime.nativeField", |env| {
        let name = convert::string(env, &name, "name")?;
        let options = index_options(env, dimension, precision, &labels, node_size)?;
        let runtime = runtime(handle)?;
        let field = runtime.field(&name, options)?;
        Ok(into_handle(IndexHandle::durable(
            field,
            Arc::clone(runtime),
            false,
        )))
    })
}

/// `long nativeGetField(long handle, String name)`: a new `IndexDetails` handle on the existing
/// field `name` that does not own the runtime, or 0 when there is no such field.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_DurableRuntime_nativeGetField<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    name: JString<'local>,
) -> jlong {
    call(&mut env, "DurableRuntime.nativeGetField", |env| {
        let name = convert::string(env, &name, "name")?;
        let runtime = runtime(handle)?;
        Ok(match runtime.get(&name)? {
            Some(field) => into_handle(IndexHandle::durable(field, Arc::clone(runtime), false)),
            None => 0,
        })
    })
}

/// `String[] nativeFieldNames(long handle)`: the field names in creation order.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_DurableRuntime_nativeFieldNames<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jobjectArray {
    call(&mut env, "DurableRuntime.nativeFieldNames", |env| {
        let names = runtime(handle)?.field_names();
        convert::new_string_array(env, &names)
    })
    .into_raw()
}

/// `long nativeCommit(long handle)`: commits the pending writes of every field; returns the
/// epoch.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_DurableRuntime_nativeCommit<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jlong {
    call(&mut env, "DurableRuntime.nativeCommit", |_| {
        Ok(to_jlong(runtime(handle)?.commit()?))
    })
}

/// `boolean nativeCheckpoint(long handle)`: writes a checkpoint of the last commit; returns
/// whether one was written.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_DurableRuntime_nativeCheckpoint<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jboolean {
    call(&mut env, "DurableRuntime.nativeCheckpoint", |_| {
        Ok(runtime(handle)?.checkpoint()?.into())
    })
}

/// `long nativeCompact(long handle)`: checkpoints, then compacts the segment files; returns
/// the bytes they were cut by.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_DurableRuntime_nativeCompact<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jlong {
    call(&mut env, "DurableRuntime.nativeCompact", |_| {
        let c = runtime(handle)?.compact()?;
        Ok(to_jlong(c.bytes_before.saturating_sub(c.bytes_after)))
    })
}

/// `Stats nativeStats(long handle)`: the runtime's figures (see [`super::stats`]), in one call.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_DurableRuntime_nativeStats<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jobject {
    call(&mut env, "DurableRuntime.nativeStats", |env| {
        let stats = runtime(handle)?.try_stats()?;
        super::stats::new_stats(env, &stats)
    })
    .into_raw()
}
