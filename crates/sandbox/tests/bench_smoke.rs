//! Runs the benchmark example with small sizes so that it keeps working.

#[path = "../examples/bench.rs"]
mod bench;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_example_runs_with_small_sizes() {
    let table = bench::run(300, 20).await.expect("benchmark runs");
    for row in [
        "objects stored | 330",
        "list all 330 objects",
        "open 20 concurrent watches",
        "memory per stored object",
    ] {
        assert!(table.contains(row), "missing {row:?} in\n{table}");
    }
}
