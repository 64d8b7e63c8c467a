//! Native methods of `dev.xtree.FaultPlan`, a package-private test hook: a [`FaultPlan`] naming
//! the fsync and the write that fail in a `DurableRuntime` opened with
//! `DurableRuntime.openWithFaults` (`nativeOpenWithFaults` in `durable_runtime.rs`), and the
//! counts of those calls. The handle is a `Box<FaultPlan>`; the runtime holds its own clone of
//! the plan, so either may be freed first.

use jni::objects::JClass;
use jni::sys::{jint, jlong, jobjectArray};
use jni::JNIEnv;

use super::convert::{self, borrow_handle, free_handle, into_handle, to_jlong};
use super::wrapper::{call, BridgeResult};
use crate::engine::backend::Fault;
use crate::engine::failing::FaultPlan;
use crate::Error;

/// The plan behind a handle from [`Java_dev_xtree_FaultPlan_nativeNew`].
pub(crate) fn plan<'a>(handle: jlong) -> BridgeResult<&'a FaultPlan> {
    // SAFETY: `FaultPlan` passes the handle returned by nativeNew, or 0 once closed, and frees
    // it (nativeFree) only after every call using it has returned (NativeHandle).
    unsafe { borrow_handle::<FaultPlan>(handle, "FaultPlan") }
}

/// A Java call number: the 1-based position of the call to fail, or 0 for none.
fn position(n: jlong, name: &str) -> BridgeResult<u64> {
    u64::try_from(n).map_err(|_| Error::invalid(format!("{name} {n} is negative")).into())
}

/// The errno Java names: 5 (EIO) or 28 (ENOSPC).
fn fault(errno: jint) -> BridgeResult<Fault> {
    match errno {
        5 => Ok(Fault::Eio),
        28 => Ok(Fault::NoSpace),
        _ => Err(Error::invalid(format!("errno {errno} is not 5 (EIO) or 28 (ENOSPC)")).into()),
    }
}

/// `long nativeNew(long failSync, long failWrite, int errno)`: a plan failing the
/// `failSync`-th fsync and the `failWrite`-th write (0: none) with `errno`.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_FaultPlan_nativeNew<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    fail_sync: jlong,
    fail_write: jlong,
    errno: jint,
) -> jlong {
    call(&mut env, "FaultPlan.nativeNew", |_| {
        let fault = fault(errno)?;
        let sync = position(fail_sync, "failSync")?;
        let write = position(fail_write, "failWrite")?;
        Ok(into_handle(FaultPlan::new(
            Some((sync, fault)),
            Some((write, fault)),
        )))
    })
}

/// `void nativeFree(long handle)`: frees the handle (a runtime using the plan keeps its clone).
#[no_mangle]
pub extern "system" fn Java_dev_xtree_FaultPlan_nativeFree<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) {
    call(&mut env, "FaultPlan.nativeFree", |_| {
        // SAFETY: NativeHandle.close calls this exactly once, with the handle from nativeNew,
        // after every other call using it has returned.
        unsafe { free_handle::<FaultPlan>(handle) };
        Ok(())
    })
}

/// `long nativeSyncs(long handle)`: fsyncs counted so far, the failed one included.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_FaultPlan_nativeSyncs<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jlong {
    call(&mut env, "FaultPlan.nativeSyncs", |_| {
        Ok(to_jlong(plan(handle)?.syncs()))
    })
}

/// `long nativeWrites(long handle)`: writes counted so far, the failed one included.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_FaultPlan_nativeWrites<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jlong {
    call(&mut env, "FaultPlan.nativeWrites", |_| {
        Ok(to_jlong(plan(handle)?.writes()))
    })
}

/// `String[] nativeInjected(long handle)`: the messages of the failures injected so far.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_FaultPlan_nativeInjected<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jobjectArray {
    call(&mut env, "FaultPlan.nativeInjected", |env| {
        let injected = plan(handle)?.injected();
        convert::new_string_array(env, &injected)
    })
    .into_raw()
}
