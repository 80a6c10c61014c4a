//! Setup shared by the CortEX benches (`cortex.rs`, `peer_cortex.rs`): the runtime, and our
//! models populated with the reference system's workloads (a third of the tasks completed;
//! memories tagged "alpha" or "beta" alternately).

use cortex::memories::MemoriesAdapter;
use cortex::tasks::TasksAdapter;
use redex::Redex;
use tokio::runtime::Runtime;

/// A runtime with two worker threads.
pub fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// A tasks model of `n` tasks (ids 1 to `n`, titled `task-{i}`), a third of them completed,
/// written with `origin` and folded.
pub fn populated_tasks(rt: &Runtime, n: u64, origin: u64) -> TasksAdapter {
    let _enter = rt.enter();
    let tasks = TasksAdapter::open(&Redex::new(), origin).unwrap();
    let mut last = 0;
    for i in 0..n {
        let id = i + 1;
        last = tasks.create(id, &format!("task-{i}"), i).unwrap();
        if i % 3 == 0 {
            last = tasks.complete(id, i).unwrap();
        }
    }
    rt.block_on(tasks.wait_for_seq(last)).unwrap();
    tasks
}

/// A memories model of `n` memories (ids 1 to `n`, from source "src"), tagged "alpha" and
/// "beta" alternately, written with `origin` and folded.
pub fn populated_memories(rt: &Runtime, n: u64, origin: u64) -> MemoriesAdapter {
    let _enter = rt.enter();
    let memories = MemoriesAdapter::open(&Redex::new(), origin).unwrap();
    let mut last = 0;
    for i in 0..n {
        let tag = if i % 2 == 0 { "alpha" } else { "beta" };
        last = memories.store(i + 1, &format!("content-{i}"), &[tag], "src", i).unwrap();
    }
    rt.block_on(memories.wait_for_seq(last)).unwrap();
    memories
}
